package authz_test

import (
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/stytchguard/stytchguard/authz"
	"github.com/stytchguard/stytchguard/session"
	"github.com/stytchguard/stytchguard/stytchtest"
)

// TestPolicyFetchesPaced: while Stytch fails the policy, any number of
// decisions and readiness probes cost one fetch per pause: at least the
// 10 s floor, or Stytch's Retry-After when longer. A success resets it.
// Decisions meanwhile get the failure at once, without waiting.
func TestPolicyFetchesPaced(t *testing.T) {
	for _, tc := range []struct {
		name  string
		fault stytchtest.Fault
		// shut is how long after a failure fetches are still held back;
		// open, how long after it they may start again.
		shut, open time.Duration
	}{
		{"500", stytchtest.Fault{Status: 500}, 9 * time.Second, 13 * time.Second},
		{"429 with Retry-After 30", stytchtest.Fault{Status: 429, RetryAfter: 30 * time.Second}, 29 * time.Second, 30 * time.Second},
	} {
		for _, which := range []string{"project", "organization"} {
			t.Run(tc.name+"/"+which, func(t *testing.T) {
				srv := stytchtest.NewServer()
				defer srv.Close()
				clk := &clock{now: time.Now()}
				b2b := which == "organization"
				endpoint := stytchtest.Policy
				var org string
				if b2b {
					endpoint = stytchtest.B2BOrgPolicy
					org = srv.CreateOrganization(stytchtest.OrganizationParams{Name: "Acme"}).OrganizationID
					srv.SetB2BPolicy(session.Policy{Roles: []session.Role{role("viewer", perm("documents", "read"))}})
				} else {
					srv.SetPolicy(session.Policy{Roles: []session.Role{role("viewer", perm("documents", "read"))}})
				}
				a := newAuthorizer(t, srv, b2b, clk)
				check := authz.Check{Roles: []string{"viewer"}, SessionOrganizationID: org, ResourceID: "documents", Action: "read"}
				// decideMany makes 50 concurrent decisions and readiness
				// probes, and returns the last error.
				decideMany := func() error {
					var wg sync.WaitGroup
					errs := make([]error, 50)
					for i := range errs {
						wg.Go(func() {
							if i%2 == 0 && !b2b {
								errs[i] = a.Ready(ctxb)
								return
							}
							_, errs[i] = a.Authorize(ctxb, check)
						})
					}
					wg.Wait()
					return errors.Join(errs...)
				}
				tc.fault.Times = 0
				srv.InjectFault(endpoint, tc.fault)
				if err := decideMany(); !errors.Is(err, authz.ErrPolicyUnavailable) {
					t.Fatalf("first decisions: %v", err)
				}
				if n := srv.Calls(endpoint); n != 1 {
					t.Fatalf("%d fetches for the first 50 decisions, want 1", n)
				}
				clk.Advance(tc.shut)
				start := time.Now()
				if err := decideMany(); !errors.Is(err, authz.ErrPolicyUnavailable) {
					t.Fatalf("within the pause: %v", err)
				}
				if took := time.Since(start); took > time.Second {
					t.Errorf("decisions within the pause took %v: they must not wait", took)
				}
				if n := srv.Calls(endpoint); n != 1 {
					t.Fatalf("%d fetches %v after a failure, want 1", n, tc.shut)
				}
				clk.Advance(tc.open - tc.shut)
				_ = decideMany()
				if n := srv.Calls(endpoint); n != 2 {
					t.Fatalf("%d fetches %v after a failure, want 2", n, tc.open)
				}
				// A success resets the pacing: a later refresh is not held
				// back by the earlier failures.
				srv.ClearFaults()
				clk.Advance(tc.open)
				if err := decideMany(); err != nil {
					t.Fatalf("after recovery: %v", err)
				}
				calls := srv.Calls(endpoint)
				srv.InjectFault(endpoint, stytchtest.Fault{Status: 500, Times: 1})
				clk.Advance(11 * time.Minute) // past MaxStale: the next decision waits for a fetch
				if _, err := a.Authorize(ctxb, check); !errors.Is(err, authz.ErrPolicyUnavailable) {
					t.Fatalf("a failed fetch past MaxStale: %v", err)
				}
				if _, err := a.Authorize(ctxb, check); !errors.Is(err, authz.ErrPolicyUnavailable) || srv.Calls(endpoint) != calls+1 {
					t.Fatalf("right after: %v, %d fetches, want %d", err, srv.Calls(endpoint), calls+1)
				}
			})
		}
	}
}
