package bench

import (
	"context"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/stytchguard/stytchguard"
	"github.com/stytchguard/stytchguard/authz"
	"github.com/stytchguard/stytchguard/jwtlocal"
	"github.com/stytchguard/stytchguard/middleware"
	"github.com/stytchguard/stytchguard/session"
	"github.com/stytchguard/stytchguard/stytchtest"
)

const (
	pool = 1024 // live sessions, one JWT each
	// reuses is how often a browser presents one JWT: it lives 300 s, and an
	// active page makes a request about every 8 s.
	reuses = 36
)

// fixture is an emulator with pool live sessions whose JWTs are minted
// again when they near their 5 minutes (go-jwt-middleware reads the wall
// clock, so tokens must be fresh by it).
type fixture struct {
	srv    *stytchtest.Server
	proj   Project
	policy session.Policy
	user   session.User

	mu     sync.Mutex
	minted time.Time
	tokens []string
	reqs   []*http.Request
	mix    []int // token indexes: each token reuses times, shuffled
}

var shared struct {
	once sync.Once
	f    *fixture
}

func newFixture(b *testing.B) *fixture {
	shared.once.Do(func() {
		srv := stytchtest.NewServer()
		policy := session.Policy{Roles: []session.Role{
			{RoleID: "stytch_user", Description: "everyone", Permissions: []session.Permission{}},
			{RoleID: "viewer", Description: "reads", Permissions: []session.Permission{{ResourceID: "documents", Actions: []string{"read"}}}},
		}}
		srv.SetPolicy(policy)
		f := &fixture{
			srv:    srv,
			policy: policy,
			user:   srv.CreateUser(stytchtest.UserParams{Email: "bench@example.com", Roles: []string{"viewer"}}),
			proj:   Project{ID: srv.ProjectID(), BaseURL: srv.URL, JWKSURL: srv.URL + "/v1/sessions/jwks/" + srv.ProjectID()},
		}
		rng := rand.New(rand.NewPCG(1, 2))
		for i := range pool {
			for range reuses {
				f.mix = append(f.mix, i)
			}
		}
		rng.Shuffle(len(f.mix), func(i, j int) { f.mix[i], f.mix[j] = f.mix[j], f.mix[i] })
		shared.f = f
	})
	shared.f.refresh(b)
	return shared.f
}

// refresh mints the pool again when it is over 3 minutes old.
func (f *fixture) refresh(b *testing.B) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if time.Since(f.minted) < 3*time.Minute {
		return
	}
	b.StopTimer()
	defer b.StartTimer()
	f.tokens, f.reqs = f.tokens[:0], f.reqs[:0]
	for range pool {
		t, err := f.srv.StartSession(f.user.UserID, stytchtest.SessionParams{Duration: 24 * time.Hour})
		if err != nil {
			b.Fatal(err)
		}
		f.tokens = append(f.tokens, t.SessionJWT)
		r := httptest.NewRequest("GET", "/documents", nil)
		r.AddCookie(&http.Cookie{Name: "stytch_session_jwt", Value: t.SessionJWT})
		f.reqs = append(f.reqs, r)
	}
	f.minted = time.Now()
}

// impl builds one implementation's handler in front of next.
type impl struct {
	name  string
	build func(b *testing.B, f *fixture, next http.Handler, cacheSize int) http.Handler
}

var impls = []impl{
	{"stytchguard", func(b *testing.B, f *fixture, next http.Handler, cacheSize int) http.Handler {
		v, err := jwtlocal.New(jwtlocal.Config{Client: f.srv.Client(), CacheSize: cacheSize})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(v.Close)
		mw, err := middleware.New(middleware.Config{Client: f.srv.Client(), Verifier: v})
		if err != nil {
			b.Fatal(err)
		}
		return mw.Require(next)
	}},
	{"go-jwt-middleware", func(b *testing.B, f *fixture, next http.Handler, _ int) http.Handler {
		h, err := Auth0(f.proj, next)
		if err != nil {
			b.Fatal(err)
		}
		return h
	}},
	{"hand-rolled", func(b *testing.B, f *fixture, next http.Handler, _ int) http.Handler {
		ctx, cancel := context.WithCancel(context.Background())
		b.Cleanup(cancel)
		h, err := HandRolled(ctx, f.proj, 300*time.Second, next)
		if err != nil {
			b.Fatal(err)
		}
		return h
	}},
}

// discard is a ResponseWriter that keeps only the status.
type discard struct {
	h    http.Header
	code int
}

func (d *discard) Header() http.Header         { return d.h }
func (d *discard) Write(p []byte) (int, error) { return len(p), nil }
func (d *discard) WriteHeader(code int)        { d.code = code }

// ok is the protected handler: it reads the session, as a real one would.
var ok = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	if _, found := stytchguard.ConsumerFromContext(r.Context()); found {
		return
	}
	if _, found := FromContext(r.Context()); found {
		return
	}
	w.WriteHeader(http.StatusInternalServerError)
})

// serve runs requests by index sequence through h, checking each is let in.
// Every request is served once before the clock starts, so that a figure is
// the steady state whatever b.N is: otherwise a run's first pass over the
// pool, a verification per token, would weigh more in short runs than in
// long ones. What a first sight costs is NewToken's figure.
func serve(b *testing.B, h http.Handler, reqs []*http.Request, seq func(i int) int) {
	w := &discard{h: http.Header{}}
	warm(b, h, reqs)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		w.code = 200
		h.ServeHTTP(w, reqs[seq(i)])
		if w.code != 200 {
			b.Fatalf("request %d refused: %d", i, w.code)
		}
	}
}

// warm serves each request once, checking it is let in.
func warm(b *testing.B, h http.Handler, reqs []*http.Request) {
	w := &discard{h: http.Header{}}
	for i, r := range reqs {
		w.code = 200
		h.ServeHTTP(w, r)
		if w.code != 200 {
			b.Fatalf("warming: request %d refused: %d", i, w.code)
		}
	}
}

func floor(b *testing.B, f *fixture, seq func(i int) int) {
	_, key := f.srv.SigningKey()
	pub := &key.PublicKey
	parser := jwt.NewParser(jwt.WithValidMethods([]string{"RS256"}))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := parser.Parse(f.tokens[seq(i)], func(*jwt.Token) (any, error) { return pub, nil }); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSameToken: one token, again and again.
func BenchmarkSameToken(b *testing.B) {
	f := newFixture(b)
	same := func(int) int { return 0 }
	b.Run("floor", func(b *testing.B) { floor(b, f, same) })
	for _, im := range impls {
		b.Run(im.name, func(b *testing.B) { serve(b, im.build(b, f, ok, 0), f.reqs, same) })
	}
}

// BenchmarkNewToken: a token not seen before on every request
// (stytchguard's verified-token cache is set smaller than the pool, so
// that every request misses it).
func BenchmarkNewToken(b *testing.B) {
	f := newFixture(b)
	next := func(i int) int { return i % pool }
	b.Run("floor", func(b *testing.B) { floor(b, f, next) })
	for _, im := range impls {
		b.Run(im.name, func(b *testing.B) { serve(b, im.build(b, f, ok, pool/2), f.reqs, next) })
	}
}

// BenchmarkNewTokenPaired: NewToken's stytchguard against the floor, taking
// turns request by request in one loop, so that both see the same machine:
// on a shared machine, runs a few seconds apart can differ by more than
// what is measured. One op is one of each; it reports each side's time per
// request and their ratio.
func BenchmarkNewTokenPaired(b *testing.B) {
	f := newFixture(b)
	h := impls[0].build(b, f, ok, pool/2)
	warm(b, h, f.reqs)
	_, key := f.srv.SigningKey()
	pub := &key.PublicKey
	parser := jwt.NewParser(jwt.WithValidMethods([]string{"RS256"}))
	w := &discard{h: http.Header{}}
	var floorT, oursT time.Duration
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		t0 := time.Now()
		if _, err := parser.Parse(f.tokens[i%pool], func(*jwt.Token) (any, error) { return pub, nil }); err != nil {
			b.Fatal(err)
		}
		t1 := time.Now()
		w.code = 200
		h.ServeHTTP(w, f.reqs[i%pool])
		oursT += time.Since(t1)
		floorT += t1.Sub(t0)
		if w.code != 200 {
			b.Fatalf("request %d refused: %d", i, w.code)
		}
	}
	b.ReportMetric(float64(floorT.Nanoseconds())/float64(b.N), "floor-ns/req")
	b.ReportMetric(float64(oursT.Nanoseconds())/float64(b.N), "stytchguard-ns/req")
	b.ReportMetric(float64(oursT)/float64(floorT), "ratio")
}

// BenchmarkMix: 1024 live sessions, each JWT presented 36 times, shuffled.
func BenchmarkMix(b *testing.B) {
	f := newFixture(b)
	mix := func(i int) int { return f.mix[i%len(f.mix)] }
	for _, im := range impls {
		b.Run(im.name, func(b *testing.B) { serve(b, im.build(b, f, ok, 0), f.reqs, mix) })
	}
}

// BenchmarkGuarded: the mix, with a documents/read permission guard.
func BenchmarkGuarded(b *testing.B) {
	f := newFixture(b)
	mix := func(i int) int { return f.mix[i%len(f.mix)] }
	for _, im := range impls {
		b.Run(im.name, func(b *testing.B) {
			var guarded http.Handler
			if im.name == "stytchguard" {
				a, err := authz.New(authz.Config{Client: f.srv.Client()})
				if err != nil {
					b.Fatal(err)
				}
				b.Cleanup(a.Close)
				guarded = a.Require("documents", "read")(ok)
			} else {
				guarded = RequireRole(f.policy, "documents", "read", ok)
			}
			serve(b, im.build(b, f, guarded, 0), f.reqs, mix)
		})
	}
}

// BenchmarkParallel: the mix from all goroutines, at GOMAXPROCS 1 and 2.
func BenchmarkParallel(b *testing.B) {
	f := newFixture(b)
	for _, procs := range []int{1, 2} {
		for _, im := range impls {
			b.Run(im.name+"/procs="+string(rune('0'+procs)), func(b *testing.B) {
				prev := runtime.GOMAXPROCS(procs)
				defer runtime.GOMAXPROCS(prev)
				h := im.build(b, f, ok, 0)
				warm(b, h, f.reqs)
				var offset atomic.Int64
				b.ReportAllocs()
				b.ResetTimer()
				b.RunParallel(func(pb *testing.PB) {
					// Each goroutine walks the mix from its own place: a
					// shared counter would make every core contend on one
					// cache line, measuring the harness, not the library.
					i := int(offset.Add(int64(len(f.mix) / 4)))
					w := &discard{h: http.Header{}}
					for pb.Next() {
						i++
						w.code = 200
						h.ServeHTTP(w, f.reqs[f.mix[i%len(f.mix)]])
						if w.code != 200 {
							b.Errorf("refused: %d", w.code)
							return
						}
					}
				})
			})
		}
	}
}

// BenchmarkOpaque: bursts of 100 concurrent requests with one new opaque
// session token each, Stytch answering in 20 ms. One op is one burst. It
// reports the calls made to Stytch per burst and the requests' latency
// percentiles. go-jwt-middleware cannot take opaque tokens; the hand-rolled
// path calls Stytch's authenticate for each, as stytch-go's Authenticate
// does.
func BenchmarkOpaque(b *testing.B) {
	f := newFixture(b)
	type opaqueImpl struct {
		name  string
		build func(b *testing.B) http.Handler
	}
	client := f.srv.Client()
	opaque := []opaqueImpl{
		{"stytchguard", func(b *testing.B) http.Handler {
			mw, err := middleware.New(middleware.Config{Client: client})
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(mw.Close)
			return mw.Require(ok)
		}},
		{"hand-rolled", func(b *testing.B) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				tok := r.Header.Get("Authorization")[len("Bearer "):]
				res, err := client.Consumer.Authenticate(r.Context(), session.AuthenticateParams{SessionToken: tok})
				if err != nil {
					http.Error(w, "unauthorized", http.StatusUnauthorized)
					return
				}
				s := &Session{SessionID: res.Session.SessionID, UserID: res.Session.UserID, Roles: res.Session.Roles}
				ok.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), ctxKey{}, s)))
			})
		}},
	}
	for _, im := range opaque {
		b.Run(im.name, func(b *testing.B) {
			h := im.build(b)
			f.srv.InjectFault(stytchtest.Authenticate, stytchtest.Fault{Latency: 20 * time.Millisecond})
			defer f.srv.ClearFaults()
			var latencies []time.Duration
			calls := 0
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				t, err := f.srv.StartSession(f.user.UserID, stytchtest.SessionParams{})
				if err != nil {
					b.Fatal(err)
				}
				before := f.srv.Calls(stytchtest.Authenticate)
				b.StartTimer()
				var wg sync.WaitGroup
				var mu sync.Mutex
				for range 100 {
					wg.Add(1)
					go func() {
						defer wg.Done()
						r := httptest.NewRequest("GET", "/", nil)
						r.Header.Set("Authorization", "Bearer "+t.SessionToken)
						w := &discard{h: http.Header{}, code: 200}
						start := time.Now()
						h.ServeHTTP(w, r)
						took := time.Since(start)
						if w.code != 200 {
							b.Errorf("refused: %d", w.code)
						}
						mu.Lock()
						latencies = append(latencies, took)
						mu.Unlock()
					}()
				}
				wg.Wait()
				calls += f.srv.Calls(stytchtest.Authenticate) - before
			}
			b.StopTimer()
			slices.Sort(latencies)
			b.ReportMetric(float64(calls)/float64(b.N), "upstream-calls/op")
			b.ReportMetric(float64(latencies[len(latencies)/2].Microseconds())/1000, "p50-ms")
			b.ReportMetric(float64(latencies[len(latencies)*99/100].Microseconds())/1000, "p99-ms")
		})
	}
}
