package authz_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stytchguard/stytchguard"
	"github.com/stytchguard/stytchguard/authz"
	"github.com/stytchguard/stytchguard/session"
	"github.com/stytchguard/stytchguard/stytchtest"
)

type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func newAuthorizer(t *testing.T, srv *stytchtest.Server, b2b bool, clk *clock) *authz.Authorizer {
	t.Helper()
	return newAuthorizerLogging(t, srv, b2b, clk, nil)
}

// newAuthorizerLogging is newAuthorizer logging to logs.
func newAuthorizerLogging(t *testing.T, srv *stytchtest.Server, b2b bool, clk *clock, logs *syncBuffer) *authz.Authorizer {
	t.Helper()
	cfg := srv.Config()
	cfg.Retry = &session.RetryPolicy{MaxAttempts: 1}
	cfg.B2B = b2b
	client, err := session.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	acfg := authz.Config{Client: client, Now: clk.Now, TTL: time.Minute, MaxStale: 10 * time.Minute}
	if logs != nil {
		acfg.Logger = slog.New(slog.NewTextHandler(logs, nil))
	}
	a, err := authz.New(acfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(a.Close)
	return a
}

// syncBuffer is a log destination that tests read while the code under
// test writes to it.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.Write(p)
}

// Lines returns how many lines were written.
func (s *syncBuffer) Lines() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return bytes.Count(s.buf.Bytes(), []byte("\n"))
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.String()
}

var ctxb = context.Background()

// The local decision equals Stytch's: the same random questions asked of the
// emulator's authorization_check and of the Authorizer get the same answers
// and the same granting roles.
func TestAgreesWithStytch(t *testing.T) {
	srv := stytchtest.NewServer()
	defer srv.Close()
	resources := []string{"documents", "ledger", "billing"}
	actions := []string{"read", "write", "delete", "*"}
	rng := rand.New(rand.NewPCG(1, 2))
	var roles []session.Role
	var names []string
	for i := range 8 {
		var perms []session.Permission
		for _, res := range resources {
			if rng.IntN(2) == 0 {
				perms = append(perms, perm(res, actions[rng.IntN(len(actions))], actions[rng.IntN(len(actions))]))
			}
		}
		name := fmt.Sprintf("r%d", i)
		roles = append(roles, role(name, perms...))
		names = append(names, name)
	}
	srv.SetB2BPolicy(session.Policy{Roles: roles[:6]})
	org := srv.CreateOrganization(stytchtest.OrganizationParams{Name: "Acme"})
	if err := srv.SetOrgPolicy(org.OrganizationID, roles[6:]); err != nil {
		t.Fatal(err)
	}
	a := newAuthorizer(t, srv, true, &clock{now: time.Now()})
	client := srv.Client()
	for i := range 40 {
		held := []string{names[rng.IntN(8)], names[rng.IntN(8)], names[rng.IntN(8)]}
		m, _ := srv.CreateMember(org.OrganizationID, stytchtest.MemberParams{Email: fmt.Sprintf("m%d@example.com", i), Roles: held})
		tok, _ := srv.StartMemberSession(m.MemberID, stytchtest.SessionParams{})
		res, action := resources[rng.IntN(3)], actions[rng.IntN(3)]
		stytch, serr := client.B2B.Authenticate(ctxb, session.B2BAuthenticateParams{SessionToken: tok.SessionToken,
			AuthorizationCheck: &session.AuthorizationCheck{OrganizationID: org.OrganizationID, ResourceID: res, Action: action}})
		sessionRoles := append([]string{"stytch_member"}, held...)
		local, lerr := a.Authorize(ctxb, authz.Check{Roles: sessionRoles, SessionOrganizationID: org.OrganizationID, ResourceID: res, Action: action})
		switch {
		case serr == nil && lerr == nil:
			if !slices.Equal(stytch.Verdict.GrantingRoles, local.GrantingRoles) {
				t.Fatalf("%v %s/%s: Stytch grants by %v, local by %v", held, res, action, stytch.Verdict.GrantingRoles, local.GrantingRoles)
			}
		case serr != nil && lerr != nil:
			var api *session.APIError
			var denied *stytchguard.Refusal
			if !errors.As(serr, &api) || !errors.As(lerr, &denied) || api.ErrorType != denied.Code || !errors.Is(lerr, authz.ErrDenied) {
				t.Fatalf("%v %s/%s: Stytch %v, local %v", held, res, action, serr, lerr)
			}
		default:
			t.Fatalf("%v %s/%s: Stytch %v, local %v", held, res, action, serr, lerr)
		}
	}
}

func TestTenancyFirst(t *testing.T) {
	srv := stytchtest.NewServer()
	defer srv.Close()
	srv.SetB2BPolicy(session.Policy{Roles: []session.Role{role("admin", perm("documents", "*"))}})
	a := newAuthorizer(t, srv, true, &clock{now: time.Now()})
	_, err := a.Authorize(ctxb, authz.Check{Roles: []string{"admin"}, SessionOrganizationID: "org-a", OrganizationID: "org-b", ResourceID: "documents", Action: "read"})
	var denied *stytchguard.Refusal
	if !errors.As(err, &denied) || denied.Code != stytchguard.CodeWrongOrganization || denied.Status != 403 {
		t.Fatalf("err %v", err)
	}
	if n := srv.Calls(stytchtest.B2BPolicy); n != 0 {
		t.Fatalf("a tenancy refusal fetched the policy (%d calls)", n)
	}
	// An unknown organization has no custom roles: project roles decide.
	v, err := a.Authorize(ctxb, authz.Check{Roles: []string{"admin"}, SessionOrganizationID: "org-a", ResourceID: "documents", Action: "read"})
	if err != nil || !slices.Equal(v.GrantingRoles, []string{"admin"}) {
		t.Fatalf("%v %v", v, err)
	}
}

func TestOneFetchForConcurrentMisses(t *testing.T) {
	srv := stytchtest.NewServer()
	defer srv.Close()
	srv.SetPolicy(session.Policy{Roles: []session.Role{role("viewer", perm("documents", "read"))}})
	srv.InjectFault(stytchtest.Policy, stytchtest.Fault{Latency: 100 * time.Millisecond})
	a := newAuthorizer(t, srv, false, &clock{now: time.Now()})
	var wg sync.WaitGroup
	for range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := a.Authorize(ctxb, authz.Check{Roles: []string{"viewer"}, ResourceID: "documents", Action: "read"}); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if n := srv.Calls(stytchtest.Policy); n != 1 {
		t.Fatalf("%d policy fetches for 50 concurrent first decisions", n)
	}
}

func TestRefreshAndStaleness(t *testing.T) {
	srv := stytchtest.NewServer()
	defer srv.Close()
	clk := &clock{now: time.Now()}
	srv.SetPolicy(session.Policy{Roles: []session.Role{role("viewer", perm("documents", "read"))}})
	logs := &syncBuffer{}
	a := newAuthorizerLogging(t, srv, false, clk, logs) // TTL 1 min, MaxStale 10 min
	check := authz.Check{Roles: []string{"viewer"}, ResourceID: "documents", Action: "write"}
	if _, err := a.Authorize(ctxb, check); !errors.Is(err, authz.ErrDenied) {
		t.Fatalf("before the policy change: %v", err)
	}
	srv.SetPolicy(session.Policy{Roles: []session.Role{role("viewer", perm("documents", "read", "write"))}})
	if _, err := a.Authorize(ctxb, check); !errors.Is(err, authz.ErrDenied) {
		t.Fatalf("within the TTL the cached policy decides: %v", err)
	}
	clk.Advance(2 * time.Minute)
	// Past the TTL: answered at once from the held policy, refreshed behind.
	if _, err := a.Authorize(ctxb, check); !errors.Is(err, authz.ErrDenied) {
		t.Fatalf("stale-while-revalidate: %v", err)
	}
	waitFor(t, func() bool { _, err := a.Authorize(ctxb, check); return err == nil })
	if n := srv.Calls(stytchtest.Policy); n != 2 {
		t.Fatalf("%d fetches, want 2", n)
	}

	// Down after a load: the last good policy decides, up to MaxStale.
	for _, f := range []stytchtest.Fault{{Status: 503}, {Malformed: true}, {Body: `{"request_id":"r","status_code":200}`}} {
		srv.ClearFaults()
		srv.InjectFault(stytchtest.Policy, f)
		clk.Advance(2 * time.Minute)
		lines := logs.Lines()
		if _, err := a.Authorize(ctxb, check); err != nil {
			t.Fatalf("with %+v and a 2-minute-old policy: %v", f, err)
		}
		waitFor(t, func() bool { return logs.Lines() > lines }) // the failing refresh ended, and said so
	}
	if !strings.Contains(logs.String(), "deciding with the last good one") {
		t.Fatalf("logs: %s", logs)
	}
	clk.Advance(10 * time.Minute)
	if _, err := a.Authorize(ctxb, check); !errors.Is(err, authz.ErrPolicyUnavailable) {
		t.Fatalf("past MaxStale: %v", err)
	}
	// Right after a failure, nothing is asked: the failure, at once.
	srv.ClearFaults()
	calls := srv.Calls(stytchtest.Policy)
	if _, err := a.Authorize(ctxb, check); !errors.Is(err, authz.ErrPolicyUnavailable) || srv.Calls(stytchtest.Policy) != calls {
		t.Fatalf("within the pause after a failure: %v, %d fetches more", err, srv.Calls(stytchtest.Policy)-calls)
	}
	clk.Advance(13 * time.Second) // past the floor, jittered
	if _, err := a.Authorize(ctxb, check); err != nil {
		t.Fatalf("after recovery: %v", err)
	}
}

// TestTTLByTheDefaultClock: without Config.Now, a policy's age is read on
// the monotonic clock; past the TTL the next decision still starts the
// refresh that brings a change in. The real clock is what it tests, so it
// waits (100 ms) where the other tests advance a settable one.
func TestTTLByTheDefaultClock(t *testing.T) {
	srv := stytchtest.NewServer()
	defer srv.Close()
	srv.SetPolicy(session.Policy{Roles: []session.Role{role("viewer", perm("documents", "read"))}})
	const ttl = 100 * time.Millisecond
	a, err := authz.New(authz.Config{Client: srv.Client(), TTL: ttl})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	check := authz.Check{Roles: []string{"viewer"}, ResourceID: "documents", Action: "write"}
	loaded := time.Now() // no later than the policy's load
	if _, err := a.Authorize(ctxb, check); !errors.Is(err, authz.ErrDenied) {
		t.Fatalf("before the policy change: %v", err)
	}
	srv.SetPolicy(session.Policy{Roles: []session.Role{role("viewer", perm("documents", "read", "write"))}})
	waitFor(t, func() bool { _, err := a.Authorize(ctxb, check); return err == nil })
	if took := time.Since(loaded); took < ttl {
		t.Fatalf("the change was seen after %v, inside the %v TTL", took, ttl)
	}
	if n := srv.Calls(stytchtest.Policy); n != 2 {
		t.Fatalf("%d fetches, want 2", n)
	}
}

func TestPolicyDownAtStart(t *testing.T) {
	srv := stytchtest.NewServer()
	defer srv.Close()
	srv.InjectFault(stytchtest.Policy, stytchtest.Fault{Status: 500})
	clk := &clock{now: time.Now()}
	a := newAuthorizer(t, srv, false, clk)
	check := authz.Check{Roles: []string{"stytch_user"}, ResourceID: "documents", Action: "read"}
	if _, err := a.Authorize(ctxb, check); !errors.Is(err, authz.ErrPolicyUnavailable) || errors.Is(err, authz.ErrDenied) {
		t.Fatalf("no policy ever loaded: %v", err)
	}
	cctx, cancel := context.WithTimeout(ctxb, 50*time.Millisecond)
	defer cancel()
	srv.ClearFaults()
	srv.InjectFault(stytchtest.Policy, stytchtest.Fault{Latency: time.Second, Times: 1})
	clk.Advance(13 * time.Second) // past the pause after the failure
	if _, err := a.Authorize(cctx, check); !errors.Is(err, authz.ErrPolicyUnavailable) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("caller's deadline: %v", err)
	}
}

func TestConcurrentDecisionsDuringRefreshes(t *testing.T) {
	srv := stytchtest.NewServer()
	defer srv.Close()
	clk := &clock{now: time.Now()}
	org := srv.CreateOrganization(stytchtest.OrganizationParams{Name: "Acme"})
	srv.SetB2BPolicy(session.Policy{Roles: []session.Role{role("viewer", perm("documents", "read"))}})
	a := newAuthorizer(t, srv, true, clk)
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				v, err := a.Authorize(ctxb, authz.Check{Roles: []string{"viewer", "auditor"}, SessionOrganizationID: org.OrganizationID, ResourceID: "documents", Action: "read"})
				if err != nil || len(v.GrantingRoles) == 0 {
					t.Error(err)
					return
				}
			}
		}()
	}
	for i := range 30 {
		srv.SetOrgPolicy(org.OrganizationID, []session.Role{role("auditor", perm("documents", "read", fmt.Sprint(i)))})
		clk.Advance(2 * time.Minute) // past the TTL: refreshes run while decisions go on
		time.Sleep(5 * time.Millisecond)
		clk.Advance(-2 * time.Minute)
	}
	close(stop)
	wg.Wait()
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met in 5 s")
		}
		time.Sleep(5 * time.Millisecond)
	}
}
