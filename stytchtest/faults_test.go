package stytchtest_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stytchguard/stytchguard/session"
	"github.com/stytchguard/stytchguard/stytchtest"
)

// rawClient talks to the emulator without retries or OpenAPI checks: faults
// are deliberately not Stytch's answers.
func rawClient(t *testing.T, srv *stytchtest.Server) *session.Client {
	cfg := srv.Config()
	cfg.Retry = &session.RetryPolicy{MaxAttempts: 1}
	cfg.Timeout = 2 * time.Second
	c, err := session.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestFaultsAndCallCounts(t *testing.T) {
	srv := stytchtest.NewServer()
	defer srv.Close()
	c := rawClient(t, srv)
	policy := func() error { _, err := c.Consumer.Policy(ctx(t)); return err }

	tests := []struct {
		name   string
		fault  stytchtest.Fault
		status int // want an *APIError with this status, or 0; always ErrUnavailable
	}{
		{"500 with Stytch's body", stytchtest.Fault{Status: 500}, 500},
		{"429", stytchtest.Fault{Status: 429, RetryAfter: 3 * time.Second}, 429},
		{"502 from the load balancer", stytchtest.Fault{Status: 502}, 0},
		{"dropped connection", stytchtest.Fault{Drop: true}, 0},
		{"malformed body", stytchtest.Fault{Malformed: true}, 0},
		{"raw body", stytchtest.Fault{Body: `{"nope":`, Status: 404}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv.ClearFaults()
			srv.InjectFault(stytchtest.Policy, tt.fault)
			err := policy()
			if !errors.Is(err, session.ErrUnavailable) {
				t.Fatalf("%v, want ErrUnavailable", err)
			}
			var api *session.APIError
			if tt.status != 0 && (!errors.As(err, &api) || api.StatusCode != tt.status) {
				t.Fatalf("error %v, want an APIError %d", err, tt.status)
			}
			if tt.fault.RetryAfter > 0 && session.RetryAfter(err) != tt.fault.RetryAfter {
				t.Fatalf("Retry-After %v", session.RetryAfter(err))
			}
		})
	}

	srv.ClearFaults()
	srv.ResetCalls()
	srv.InjectFault(stytchtest.Policy, stytchtest.Fault{Status: 500, Times: 2})
	for i, want := range []bool{true, true, false, false} {
		if failed := policy() != nil; failed != want {
			t.Fatalf("call %d failed=%v, want %v", i+1, failed, want)
		}
	}
	if n := srv.Calls(stytchtest.Policy); n != 4 {
		t.Fatalf("Calls = %d, want 4 (faulty ones count)", n)
	}
	if n := srv.Calls(stytchtest.Authenticate); n != 0 {
		t.Fatalf("another endpoint counted %d calls", n)
	}

	// A fraction applies to about that share of calls, reproducibly by seed.
	srv2 := stytchtest.NewServer(stytchtest.WithSeed(7))
	defer srv2.Close()
	c2 := rawClient(t, srv2)
	srv2.InjectFault(stytchtest.JWKS, stytchtest.Fault{Status: 500, Fraction: 0.3})
	failed := 0
	for range 200 {
		if _, err := c2.Consumer.JWKS(ctx(t)); err != nil {
			failed++
		}
	}
	if failed < 35 || failed > 85 {
		t.Fatalf("fraction 0.3 failed %d of 200 calls", failed)
	}
}

func TestLatencyFaultHonoursTheClientDeadline(t *testing.T) {
	srv := stytchtest.NewServer()
	defer srv.Close()
	c := rawClient(t, srv)
	srv.InjectFault(stytchtest.Policy, stytchtest.Fault{Latency: 10 * time.Second})
	cctx, cancel := context.WithTimeout(context.Background(), 150*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := c.Consumer.Policy(cctx)
	if !errors.Is(err, session.ErrUnavailable) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("error %v", err)
	}
	if took := time.Since(start); took > 2*time.Second {
		t.Fatalf("took %v", took)
	}
	// Latency alone still answers.
	srv.ClearFaults()
	srv.InjectFault(stytchtest.Policy, stytchtest.Fault{Latency: 50 * time.Millisecond})
	if _, err := c.Consumer.Policy(ctx(t)); err != nil {
		t.Fatal(err)
	}
	// Closing the server wakes requests held by a latency at once.
	srv.InjectFault(stytchtest.JWKS, stytchtest.Fault{Latency: time.Hour})
	go func() { _, _ = c.Consumer.JWKS(context.Background()) }()
	for srv.Calls(stytchtest.JWKS) == 0 {
		time.Sleep(time.Millisecond)
	}
	start = time.Now()
	srv.Close()
	if took := time.Since(start); took > 2*time.Second {
		t.Fatalf("Close took %v", took)
	}
}
