package middleware_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stytchguard/stytchguard/authz"
	"github.com/stytchguard/stytchguard/jwtlocal"
	"github.com/stytchguard/stytchguard/middleware"
	"github.com/stytchguard/stytchguard/session"
	"github.com/stytchguard/stytchguard/stytchtest"
)

// loadHeapBound is the most heap the load test may reach, stated in
// docs/reliability.md.
const loadHeapBound = 256 << 20

// TestLoadWithRevocations runs clients that sign in, make requests, log out
// and log out everywhere against an app on loopback, while signing keys
// rotate and Stytch faults come and go, for STYTCHGUARD_LOAD_SECONDS (20 by
// default, 3 with -short), longer on a machine too loaded to make that
// much load in that time. Invariants: no request is authenticated by a
// session after its logout returned; no request for a live session is
// refused, but with a 503 during an injected outage; nothing else fails;
// goroutines return to the baseline after shutdown; the heap stays under
// loadHeapBound.
func TestLoadWithRevocations(t *testing.T) {
	seconds := 20
	if testing.Short() {
		seconds = 3
	}
	if s, err := strconv.Atoi(os.Getenv("STYTCHGUARD_LOAD_SECONDS")); err == nil && s > 0 {
		seconds = s
	}
	baseline := runtime.NumGoroutine()
	sampled := samplePeaks(100 * time.Millisecond)

	srv := stytchtest.NewServer()
	srv.SetPolicy(session.Policy{Roles: []session.Role{{RoleID: "viewer", Description: "v", Permissions: []session.Permission{{ResourceID: "documents", Actions: []string{"read"}}}}}})
	cfg := srv.Config()
	cfg.Timeout = 2 * time.Second
	cfg.Retry = &session.RetryPolicy{MaxAttempts: 2, BaseDelay: 10 * time.Millisecond, MaxDelay: 200 * time.Millisecond}
	client, _ := session.New(cfg)
	v, err := jwtlocal.New(jwtlocal.Config{Client: client, UnknownKIDRefreshInterval: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	// One process plays many users: their new sessions' first requests are
	// a flood to the budget, which is set wide here. The breaker pauses
	// calls past an outage by its cool-down, which the windows include.
	upstream := middleware.Upstream{Rate: 10_000, Burst: 10_000, BreakerCooldown: 500 * time.Millisecond}
	mw, err := middleware.New(middleware.Config{Client: client, Verifier: v, Upstream: upstream})
	if err != nil {
		t.Fatal(err)
	}
	az, err := authz.New(authz.Config{Client: client})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /me", mw.Require(whoami))
	mux.Handle("GET /documents", mw.Require(az.Require("documents", "read")(whoami)))
	mux.Handle("POST /logout", mw.LogoutHandler())
	mux.Handle("POST /logout-all", mw.LogoutAllHandler())
	app := httptest.NewServer(mux)
	httpClient := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 64}}

	l := &loadLog{outages: nil}
	// The load runs for the seconds asked, and on a machine too loaded to
	// make it mean anything in that time (500 requests, a logout and a
	// logout-all), until it does, a minute more at most.
	started := time.Now()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var ended sync.WaitGroup
	ended.Go(func() {
		enough := func() bool {
			return l.requests.Load() >= 500 && l.logouts.Load() > 0 && l.logoutAlls.Load() > 0
		}
		minEnd := started.Add(time.Duration(seconds) * time.Second)
		tick := time.NewTicker(50 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case now := <-tick.C:
				if now.After(minEnd) && enough() || now.After(minEnd.Add(time.Minute)) {
					cancel()
					return
				}
			}
		}
	})

	// Chaos: keys rotate with a short overlap, and Stytch's authenticate and
	// JWKS fail for a while now and then.
	var chaos sync.WaitGroup
	chaos.Add(1)
	go func() {
		defer chaos.Done()
		rng := rand.New(rand.NewPCG(7, 8))
		for ctx.Err() == nil {
			select {
			case <-ctx.Done():
				return
			case <-time.After(time.Duration(700+rng.IntN(800)) * time.Millisecond):
			}
			if rng.IntN(3) == 0 {
				srv.RotateKey(2 * time.Second)
				l.rotations.Add(1)
				continue
			}
			ep := []stytchtest.Endpoint{stytchtest.Authenticate, stytchtest.JWKS}[rng.IntN(2)]
			f := []stytchtest.Fault{{Status: 503}, {Drop: true}, {Status: 429, RetryAfter: time.Second}, {Malformed: true}}[rng.IntN(4)]
			// The window is recorded before the fault starts, as requests
			// check it as soon as they are answered; answers may lag the
			// fault by a timeout.
			start := time.Now()
			l.outage(start, start.Add(300*time.Millisecond+cfg.Timeout+upstream.BreakerCooldown+time.Second))
			srv.InjectFault(ep, f)
			time.Sleep(300 * time.Millisecond)
			srv.ClearFaults()
		}
	}()

	var workers sync.WaitGroup
	for w := range 12 {
		workers.Add(1)
		go func() {
			defer workers.Done()
			rng := rand.New(rand.NewPCG(uint64(w), 99))
			for ctx.Err() == nil {
				l.runUser(ctx, t, rng, srv, httpClient, app.URL)
			}
		}()
	}
	workers.Wait()
	chaos.Wait()
	ended.Wait()
	ran := time.Since(started).Round(100 * time.Millisecond)

	app.Close()
	httpClient.CloseIdleConnections()
	az.Close()
	mw.Close()
	v.Close()
	srv.Close()
	sampled.Stop()

	settled := false
	for range 50 {
		if runtime.NumGoroutine() <= baseline+2 {
			settled = true
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Logf("load: %v (%d s asked), %d requests (%d ok, %d refused after logout, %d 503 in outages), %d logouts, %d logout-alls, %d outages, %d key rotations, peak heap %.1f MiB, goroutines %d before, %d after",
		ran, seconds, l.requests.Load(), l.ok.Load(), l.refused.Load(), l.unavailable.Load(), l.logouts.Load(), l.logoutAlls.Load(),
		len(l.outages), l.rotations.Load(), float64(sampled.heap.Load())/(1<<20), baseline, runtime.NumGoroutine())
	if !settled {
		t.Errorf("goroutines: %d before, %d after shutdown", baseline, runtime.NumGoroutine())
	}
	if sampled.heap.Load() > loadHeapBound {
		t.Errorf("peak heap %d bytes over the %d bound", sampled.heap.Load(), loadHeapBound)
	}
	if l.requests.Load() < 500 || l.logouts.Load() == 0 || l.logoutAlls.Load() == 0 {
		t.Errorf("too little load to mean anything: %d requests, %d logouts, %d logout-alls", l.requests.Load(), l.logouts.Load(), l.logoutAlls.Load())
	}
}

type loadLog struct {
	requests, ok, refused, unavailable, logouts, logoutAlls, rotations atomic.Int64

	mu      sync.Mutex
	outages [][2]time.Time
}

func (l *loadLog) outage(from, to time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.outages = append(l.outages, [2]time.Time{from, to})
}

// inOutage reports whether [from, to] overlaps an injected outage.
func (l *loadLog) inOutage(from, to time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, o := range l.outages {
		if !to.Before(o[0]) && !from.After(o[1]) {
			return true
		}
	}
	return false
}

// loadSession is one browser's session, with its cookies as the browser
// holds them.
type loadSession struct {
	id                 string
	jwt, token         string
	bearer             bool      // an API client: sends the token as Bearer
	logoutStarted, end time.Time // end: when a logout that ended it returned
}

// runUser signs a user in on a few devices, makes requests, and ends with a
// logout and, half the time, a logout-all.
func (l *loadLog) runUser(ctx context.Context, t *testing.T, rng *rand.Rand, srv *stytchtest.Server, hc *http.Client, base string) {
	u := srv.CreateUser(stytchtest.UserParams{Email: fmt.Sprintf("u%d@example.com", rng.Int()), Roles: []string{"viewer"}})
	var sessions []*loadSession
	for range 1 + rng.IntN(3) {
		tok, err := srv.StartSession(u.UserID, stytchtest.SessionParams{})
		if err != nil {
			t.Error(err)
			return
		}
		sessions = append(sessions, &loadSession{id: tok.SessionID, jwt: tok.SessionJWT, token: tok.SessionToken, bearer: rng.IntN(4) == 0})
	}
	for i := 0; i < 20 && ctx.Err() == nil; i++ {
		s := sessions[rng.IntN(len(sessions))]
		path := []string{"/me", "/documents"}[rng.IntN(2)]
		switch rng.IntN(12) {
		case 0:
			l.logout(t, hc, base, "/logout", s, []*loadSession{s})
		default:
			l.request(t, hc, base, path, s)
		}
	}
	if rng.IntN(2) == 0 {
		for _, s := range sessions {
			if s.end.IsZero() {
				l.logout(t, hc, base, "/logout-all", s, sessions)
				break
			}
		}
	}
	// Every ended session must now be refused.
	for _, s := range sessions {
		if !s.end.IsZero() {
			l.request(t, hc, base, "/me", s)
		}
	}
}

func (l *loadLog) send(hc *http.Client, method, url string, s *loadSession) (*http.Response, time.Time, time.Time, error) {
	req, _ := http.NewRequest(method, url, nil)
	if s.bearer {
		req.Header.Set("Authorization", "Bearer "+s.token)
	} else {
		req.AddCookie(&http.Cookie{Name: "stytch_session_jwt", Value: s.jwt})
		req.AddCookie(&http.Cookie{Name: "stytch_session", Value: s.token})
	}
	start := time.Now()
	resp, err := hc.Do(req)
	end := time.Now()
	if err == nil {
		resp.Body.Close()
		for _, c := range resp.Cookies() { // as a browser keeps them
			if c.Name == "stytch_session_jwt" && c.Value != "" {
				s.jwt = c.Value
			}
		}
	}
	return resp, start, end, err
}

func (l *loadLog) request(t *testing.T, hc *http.Client, base, path string, s *loadSession) {
	resp, start, end, err := l.send(hc, "GET", base+path, s)
	l.requests.Add(1)
	if err != nil {
		t.Errorf("%s: %v", path, err)
		return
	}
	ended := !s.end.IsZero()
	switch resp.StatusCode {
	case 200:
		l.ok.Add(1)
		if ended && start.After(s.end) {
			t.Errorf("session %s authenticated %v after its logout returned", s.id, start.Sub(s.end))
		}
	case 401:
		l.refused.Add(1)
		if s.logoutStarted.IsZero() || end.Before(s.logoutStarted) {
			t.Errorf("live session %s refused with 401 on %s", s.id, path)
		}
	case 503:
		l.unavailable.Add(1)
		if !l.inOutage(start, end) {
			t.Errorf("503 outside any injected outage on %s", path)
		}
	default:
		t.Errorf("%s answered %d", path, resp.StatusCode)
	}
}

func (l *loadLog) logout(t *testing.T, hc *http.Client, base, path string, s *loadSession, ends []*loadSession) {
	endedBefore := !s.logoutStarted.IsZero()
	for _, e := range ends {
		if e.logoutStarted.IsZero() {
			e.logoutStarted = time.Now()
		}
	}
	resp, start, end, err := l.send(hc, "POST", base+path, s)
	if err != nil {
		t.Errorf("%s: %v", path, err)
		return
	}
	switch resp.StatusCode {
	case 204:
		if path == "/logout" {
			l.logouts.Add(1)
		} else {
			l.logoutAlls.Add(1)
		}
		for _, e := range ends {
			if e.end.IsZero() {
				e.end = end
			}
		}
	case 503:
		// The sessions are not ended at Stytch, but may be refused here
		// already: logoutStarted stays, end stays unset.
		if !l.inOutage(start, end) {
			t.Errorf("%s: 503 outside any injected outage", path)
		}
	case 401:
		if !endedBefore {
			t.Errorf("%s: 401 for a live session", path)
		}
	default:
		t.Errorf("%s answered %d", path, resp.StatusCode)
	}
}
