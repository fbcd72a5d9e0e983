package redisstore_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"runtime"
	"slices"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/stytchguard/stytchguard/middleware"
	"github.com/stytchguard/stytchguard/redisstore"
	"github.com/stytchguard/stytchguard/redisstore/redistest"
	"github.com/stytchguard/stytchguard/stytchtest"
)

// BenchmarkMiddleware runs the same JWT cookie through Require into a
// handler that does nothing, with the in-memory revocation list and with the
// Redis store: the store must cost no network call per request. In one
// process the second sub-benchmark runs slower whichever it is, so compare
// them with bench.sh, which runs each in its own process, interleaved.
func BenchmarkMiddleware(b *testing.B) {
	r := redistest.Start(b)
	srv := stytchtest.NewServer()
	b.Cleanup(srv.Close)
	tok := newSession(b, srv)
	noop := http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})
	run := func(b *testing.B, revocations middleware.RevocationList, remote middleware.RemoteCache) {
		mw, err := middleware.New(middleware.Config{Client: srv.Client(), Stores: middleware.Stores{Revocations: revocations, RemoteCache: remote}})
		if err != nil {
			b.Fatal(err)
		}
		defer mw.Close()
		h := mw.Require(noop)
		req := httptest.NewRequest("GET", "/", nil)
		req.AddCookie(&http.Cookie{Name: "stytch_session_jwt", Value: tok.SessionJWT})
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if w.Code != 200 {
			b.Fatalf("status %d", w.Code)
		}
		b.ReportAllocs()
		for b.Loop() {
			h.ServeHTTP(w, req)
		}
	}
	b.Run("cached-jwt/memory", func(b *testing.B) { run(b, nil, nil) })
	b.Run("cached-jwt/redis", func(b *testing.B) {
		s := newStore(b, r.Client(), srv, func(c *redisstore.Config) { c.Now = nil })
		run(b, s, s)
	})
}

// BenchmarkPropagation measures a logout's way from one instance's Revoke
// (Redis written and published) until another instance's IsRevoked says
// so, on loopback; it reports the median and the 99th percentile.
func BenchmarkPropagation(b *testing.B) {
	r := redistest.Start(b)
	srv := stytchtest.NewServer()
	b.Cleanup(srv.Close)
	ctx := context.Background()
	a, other := newStore(b, r.Client(), srv, nil), newStore(b, r.Client(), srv, nil)
	var lat []time.Duration
	i := 0
	for b.Loop() {
		id := fmt.Sprintf("session-test-%d", i)
		i++
		start := time.Now()
		if err := a.Revoke(ctx, id, time.Now().Add(time.Hour)); err != nil {
			b.Fatal(err)
		}
		for !other.IsRevoked(ctx, id) {
			if time.Since(start) > 5*time.Second {
				b.Fatal("revocation never arrived")
			}
			runtime.Gosched()
		}
		lat = append(lat, time.Since(start))
	}
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
}

// BenchmarkStartupLoad measures New with 10,000 revocations in Redis: the
// time to subscribe and load them, and the heap the mirror holds.
func BenchmarkStartupLoad(b *testing.B) {
	r := redistest.Start(b)
	srv := stytchtest.NewServer()
	b.Cleanup(srv.Close)
	ctx := context.Background()
	const n = 10_000
	rdb := r.Client()
	key := setKey(srv.ProjectID(), "revoked")
	until := float64(time.Now().Add(time.Hour).UnixMilli())
	pipe := rdb.Pipeline()
	for i := range n {
		pipe.ZAdd(ctx, key, redis.Z{Score: until, Member: fmt.Sprintf("session-test-%08d-0000-4000-8000-000000000000", i)})
	}
	if _, err := pipe.Exec(ctx); err != nil {
		b.Fatal(err)
	}
	var heap uint64
	var took time.Duration
	for b.Loop() {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		start := time.Now()
		s, err := redisstore.New(ctx, redisstore.Config{Client: rdb, ProjectID: srv.ProjectID()})
		if err != nil {
			b.Fatal(err)
		}
		took = time.Since(start)
		runtime.GC()
		runtime.ReadMemStats(&after)
		heap = after.HeapAlloc - before.HeapAlloc
		if !s.IsRevoked(ctx, "session-test-00000042-0000-4000-8000-000000000000") {
			b.Fatal("not loaded")
		}
		s.Close()
	}
	b.ReportMetric(float64(took.Microseconds())/1000, "load-ms")
	b.ReportMetric(float64(heap)/(1<<20), "mirror-MiB")
	b.ReportMetric(float64(heap)/n, "bytes/entry")
}
