package jwtlocal_test

import (
	"encoding/json"
	"flag"
	"os"
	"runtime"
	"runtime/pprof"
	"testing"

	"github.com/golang-jwt/jwt/v5"

	"github.com/stytchguard/stytchguard/jwtlocal"
	"github.com/stytchguard/stytchguard/session"
	"github.com/stytchguard/stytchguard/stytchtest"
)

// BenchmarkVerify compares, in one run, the physical floor of a local check
// (golang-jwt parse and RS256 verify with a static key), a token seen for the
// first time by the Verifier (signature, claims, mapping to session types,
// cache insert), and a token seen before (a cache lookup plus the time and
// revocation checks).
func BenchmarkVerify(b *testing.B) {
	srv := stytchtest.NewServer()
	defer srv.Close()
	u := srv.CreateUser(stytchtest.UserParams{Email: "ada@example.com", Roles: []string{"editor"}})
	tok, err := srv.StartSession(u.UserID, stytchtest.SessionParams{CustomClaims: map[string]any{"plan": "pro"}})
	if err != nil {
		b.Fatal(err)
	}
	_, key := srv.SigningKey()

	// A pool of distinct valid tokens, twice the cache size: cycling through
	// it, every verification misses the cache.
	const pool, cacheSize = 1024, 512
	tokens := tokenPool(b, srv, tok.SessionJWT, pool)

	b.Run("floor", func(b *testing.B) {
		parser := jwt.NewParser(jwt.WithValidMethods([]string{"RS256"}))
		pub := &key.PublicKey
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			if _, err := parser.Parse(tokens[i%pool], func(*jwt.Token) (any, error) { return pub, nil }); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("first-seen", func(b *testing.B) {
		v, err := jwtlocal.New(jwtlocal.Config{Client: srv.Client(), CacheSize: cacheSize})
		if err != nil {
			b.Fatal(err)
		}
		defer v.Close()
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			if _, err := v.Verify(bg(), tokens[i%pool]); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("cached", func(b *testing.B) {
		v, err := jwtlocal.New(jwtlocal.Config{Client: srv.Client()})
		if err != nil {
			b.Fatal(err)
		}
		defer v.Close()
		if _, err := v.Verify(bg(), tokens[0]); err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		for b.Loop() {
			if _, err := v.Verify(bg(), tokens[0]); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkCacheMemory reports the heap one verified-token cache entry
// holds (its copy of the token and the decoded session), the token's
// length, and what an entry holds beyond the token: the figures the package
// documentation's memory bound rests on. As a baseline from the same run,
// session-B is the heap of the same session decoded from its JSON into
// session.Session, as any Go client of Stytch would hold it; overhead-B is
// what an entry holds beyond one copy of its token and that session.
func BenchmarkCacheMemory(b *testing.B) {
	srv := stytchtest.NewServer()
	defer srv.Close()
	u := srv.CreateUser(stytchtest.UserParams{Email: "ada@example.com", Roles: []string{"editor"}})
	tok, err := srv.StartSession(u.UserID, stytchtest.SessionParams{CustomClaims: map[string]any{"plan": "pro"}})
	if err != nil {
		b.Fatal(err)
	}
	const n = 1000
	tokens := tokenPool(b, srv, tok.SessionJWT, n)
	for b.Loop() {
		v, err := jwtlocal.New(jwtlocal.Config{Client: srv.Client()})
		if err != nil {
			b.Fatal(err)
		}
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		for _, t := range tokens {
			if _, err := v.Verify(bg(), t); err != nil {
				b.Fatal(err)
			}
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		if v.CacheLen() != n {
			b.Fatalf("%d entries cached", v.CacheLen())
		}
		if *cacheHeapProfile != "" {
			writeHeapProfile(b, *cacheHeapProfile)
			runtime.KeepAlive(v)
		}
		perEntry := float64(after.HeapAlloc-before.HeapAlloc) / n
		perSession := sessionHeap(b, v, tokens)
		b.ReportMetric(perEntry, "heap-B/entry")
		b.ReportMetric(float64(len(tokens[0])), "token-B")
		b.ReportMetric(perEntry-float64(len(tokens[0])), "beyond-token-B/entry")
		b.ReportMetric(perSession, "session-B")
		b.ReportMetric(perEntry-float64(len(tokens[0]))-perSession, "overhead-B/entry")
		v.Close()
	}
}

// sessionHeap returns the heap one of tokens' sessions takes decoded from
// its JSON into a session.Session, averaged over all of them.
func sessionHeap(b *testing.B, v *jwtlocal.Verifier, tokens []string) float64 {
	docs := make([][]byte, len(tokens))
	for i, t := range tokens {
		verified, err := v.Verify(bg(), t)
		if err != nil {
			b.Fatal(err)
		}
		if docs[i], err = json.Marshal(verified.Consumer); err != nil {
			b.Fatal(err)
		}
	}
	sessions := make([]*session.Session, len(docs))
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	for i, d := range docs {
		sessions[i] = new(session.Session)
		if err := json.Unmarshal(d, sessions[i]); err != nil {
			b.Fatal(err)
		}
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	runtime.KeepAlive(sessions)
	runtime.KeepAlive(docs) // or the second GC frees them, inside the difference
	return float64(after.HeapAlloc-before.HeapAlloc) / float64(len(docs))
}

// cacheHeapProfile names a file for BenchmarkCacheMemory to write a heap
// profile to while its cache is full: what each entry's bytes are
// (bench/profile.sh reads it, with -test.memprofilerate=1).
var cacheHeapProfile = flag.String("cachememory.heapprofile", "", "write BenchmarkCacheMemory's heap profile, cache full, to this file")

func writeHeapProfile(b *testing.B, path string) {
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	if err := pprof.Lookup("heap").WriteTo(f, 0); err != nil {
		b.Fatal(err)
	}
}

// tokenPool returns n distinct valid JWTs of the session of jwtStr, each with
// its own custom claim "n".
func tokenPool(b *testing.B, srv *stytchtest.Server, jwtStr string, n int) []string {
	b.Helper()
	claims := jwt.MapClaims{}
	if _, _, err := jwt.NewParser().ParseUnverified(jwtStr, claims); err != nil {
		b.Fatal(err)
	}
	tokens := make([]string, n)
	for i := range tokens {
		claims["n"] = i
		var err error
		if tokens[i], err = srv.Sign(claims); err != nil {
			b.Fatal(err)
		}
	}
	return tokens
}
