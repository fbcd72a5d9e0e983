package middleware_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stytchguard/stytchguard/authz"
	"github.com/stytchguard/stytchguard/middleware"
	"github.com/stytchguard/stytchguard/session"
	"github.com/stytchguard/stytchguard/stytchtest"
)

// TestReadiness: while the JWKS and the RBAC policy cannot be fetched at
// start, the readiness handler answers 503 and names both; once Stytch
// serves them, the next probe (after the paced retry) answers 200; a
// later outage does not make a ready app unready while the keys and policy
// it holds still decide, and does once the policy is too old to.
func TestReadiness(t *testing.T) {
	srv := stytchtest.NewServer(stytchtest.WithFrozenClock(time.Now()))
	t.Cleanup(srv.Close)
	srv.InjectFault(stytchtest.JWKS, stytchtest.Fault{Status: 500})
	srv.InjectFault(stytchtest.Policy, stytchtest.Fault{Status: 500})
	cfg := srv.Config()
	cfg.Retry = &session.RetryPolicy{MaxAttempts: 1}
	client, err := session.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	mw, err := middleware.New(middleware.Config{Client: client, Now: srv.Now, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(mw.Close)
	rbacLog := &syncBuffer{}
	rbac, err := authz.New(authz.Config{Client: client, Now: srv.Now, Logger: slog.New(slog.NewTextHandler(rbacLog, nil))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(rbac.Close)
	h := mw.ReadyHandler(rbac)

	probe := func() (int, []string) {
		t.Helper()
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", "/readyz", nil))
		var body struct {
			Ready   bool     `json:"ready"`
			Missing []string `json:"missing"`
		}
		if rec.Code == http.StatusServiceUnavailable && rec.Header().Get("Retry-After") == "" {
			t.Fatal("a 503 without Retry-After")
		}
		if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil || body.Ready != (rec.Code == http.StatusOK) {
			t.Fatalf("%d %s: %v", rec.Code, rec.Body, err)
		}
		return rec.Code, body.Missing
	}

	// Each step probes 50 times: a flood of probes costs no more fetches
	// than one, as failed fetches are paced (10 to 12.5 s).
	steps := []struct {
		name    string
		before  func()
		want    int
		missing []string
		// jwks and policy are the fetches of each so far.
		jwks, policy int
		// settled, when set, is what the authorizer logs once the step's
		// background refresh has ended: the next step's clock must not
		// reach it while it is under way.
		settled string
	}{
		{"both failing at start", nil, 503, []string{"jwtlocal:", "authz:"}, 1, 1, ""},
		{"JWKS serves, before the paced retry", func() { srv.ClearFaults(stytchtest.JWKS) }, 503, []string{"jwtlocal:", "authz:"}, 1, 1, ""},
		{"the paced retry", func() { srv.Advance(13 * time.Second) }, 503, []string{"authz:"}, 2, 2, ""},
		{"policy serves, before its paced retry", func() { srv.ClearFaults(stytchtest.Policy) }, 503, []string{"authz:"}, 2, 2, ""},
		{"policy serves, its paced retry", func() { srv.Advance(13 * time.Second) }, 200, nil, 2, 3, ""},
		{"an outage later, the policy past its TTL", func() {
			srv.InjectFault(stytchtest.JWKS, stytchtest.Fault{Status: 500})
			srv.InjectFault(stytchtest.Policy, stytchtest.Fault{Status: 500})
			srv.Advance(30 * time.Minute)
		}, 200, nil, 2, 4, "deciding with the last good one"},
		// Past authz's MaxStale (an hour) the policy no longer decides:
		// guarded requests fail, and readiness says so.
		{"the outage past MaxStale", func() { srv.Advance(31 * time.Minute) }, 503, []string{"authz:"}, 2, 5, ""},
	}
	for _, s := range steps {
		if s.before != nil {
			s.before()
		}
		for range 50 {
			code, missing := probe()
			if code != s.want || len(missing) != len(s.missing) {
				t.Fatalf("%s: %d %q, want %d naming %q", s.name, code, missing, s.want, s.missing)
			}
			for i, prefix := range s.missing {
				if !strings.HasPrefix(missing[i], prefix) {
					t.Fatalf("%s: missing %q, want it to start with %q", s.name, missing[i], prefix)
				}
			}
		}
		// A refresh past the TTL runs behind the probes that started it.
		for deadline := time.Now().Add(10 * time.Second); srv.Calls(stytchtest.Policy) < s.policy; time.Sleep(5 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("%s: %d policy fetches after 10 s, want %d", s.name, srv.Calls(stytchtest.Policy), s.policy)
			}
		}
		for deadline := time.Now().Add(10 * time.Second); !strings.Contains(rbacLog.String(), s.settled); time.Sleep(5 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("%s: the refresh did not end in 10 s: %s", s.name, rbacLog)
			}
		}
		if j, p := srv.Calls(stytchtest.JWKS), srv.Calls(stytchtest.Policy); j != s.jwks || p != s.policy {
			t.Fatalf("%s: %d JWKS and %d policy fetches so far, want %d and %d", s.name, j, p, s.jwks, s.policy)
		}
	}
}

// TestReadyIsTheWarmUp: the key set's first fetch fails; Ready, called
// before serving, answers that failure at once while the pause after it
// lasts, then fetches the set again and reports ready, without waiting for
// the background refresh.
func TestReadyIsTheWarmUp(t *testing.T) {
	srv := stytchtest.NewServer(stytchtest.WithFrozenClock(time.Now()))
	t.Cleanup(srv.Close)
	srv.InjectFault(stytchtest.JWKS, stytchtest.Fault{Status: 500, Times: 1})
	cfg := srv.Config()
	cfg.Retry = &session.RetryPolicy{MaxAttempts: 1}
	client, err := session.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	mw, err := middleware.New(middleware.Config{Client: client, Now: srv.Now, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(mw.Close)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	start := time.Now()
	if err := mw.Ready(ctx); err == nil || time.Since(start) > time.Second {
		t.Fatalf("Ready right after the failed fetch: %v after %v, want the failure at once", err, time.Since(start))
	}
	srv.Advance(13 * time.Second)
	if err := mw.Ready(ctx); err != nil {
		t.Fatalf("Ready with time enough: %v", err)
	}
	if n := srv.Calls(stytchtest.JWKS); n != 2 {
		t.Fatalf("%d JWKS fetches, want the failed one and Ready's", n)
	}
}

// readier is a part whose readiness a test sets.
type readier struct{ err error }

func (r readier) Ready(context.Context) error { return r.err }

// TestDegradedStaysReady: a part that still decides, with less (a shared
// store that cannot reach Redis), is listed under "degraded" and the answer
// stays 200; a part not ready at all makes it 503, and is listed apart.
func TestDegradedStaysReady(t *testing.T) {
	a := newApp(t, nil)
	degraded := readier{fmt.Errorf("store: cannot reach its peers (%w)", middleware.ErrDegraded)}
	tests := []struct {
		name     string
		parts    []middleware.Readier
		want     int
		missing  int
		degraded int
	}{
		{"ready", nil, 200, 0, 0},
		{"degraded", []middleware.Readier{degraded}, 200, 0, 1},
		{"degraded and unready", []middleware.Readier{degraded, readier{errors.New("policy: not loaded")}}, 503, 1, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			a.mw.ReadyHandler(tt.parts...).ServeHTTP(rec, httptest.NewRequest("GET", "/readyz", nil))
			var body struct {
				Ready             bool
				Missing, Degraded []string
			}
			if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil || rec.Code != tt.want || len(body.Missing) != tt.missing || len(body.Degraded) != tt.degraded {
				t.Fatalf("%d %s", rec.Code, rec.Body)
			}
			if err := a.mw.Ready(context.Background(), tt.parts...); (err == nil) != (tt.want == 200) {
				t.Fatalf("Ready: %v", err)
			}
		})
	}
}
