package stytchguard_test

import (
	"context"
	"testing"

	"github.com/stytchguard/stytchguard"
	"github.com/stytchguard/stytchguard/session"
)

// TestRequestContext: one value carries the session, a machine token and
// the verdict; later ones add to earlier ones; a verdict recorded beside a
// session changes no context.
func TestRequestContext(t *testing.T) {
	base := context.Background()
	user := &stytchguard.ConsumerAuth{Session: session.Session{SessionID: "s"}}
	machine := &stytchguard.MachineAuth{ClientID: "c"}
	verdict := &session.Verdict{Authorized: true, GrantingRoles: []string{"viewer"}}
	tests := []struct {
		name                 string
		ctx                  func() context.Context
		user, machine, verdk bool
	}{
		{"nothing", func() context.Context { return base }, false, false, false},
		{"a session", func() context.Context { return stytchguard.NewConsumerContext(base, user) }, true, false, false},
		{"a session then a machine token", func() context.Context {
			return stytchguard.NewMachineContext(stytchguard.NewConsumerContext(base, user), machine)
		}, true, true, false},
		{"a verdict beside a session", func() context.Context {
			return stytchguard.WithVerdict(stytchguard.NewConsumerContext(base, user), verdict)
		}, true, false, true},
		{"a verdict alone", func() context.Context { return stytchguard.WithVerdict(base, verdict) }, false, false, true},
		{"a session after a verdict keeps it", func() context.Context {
			return stytchguard.NewConsumerContext(stytchguard.WithVerdict(base, verdict), user)
		}, true, false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := tt.ctx()
			u, uok := stytchguard.ConsumerFromContext(ctx)
			m, mok := stytchguard.MachineFromContext(ctx)
			v, vok := stytchguard.VerdictFromContext(ctx)
			if uok != tt.user || (uok && u != user) || mok != tt.machine || (mok && m != machine) || vok != tt.verdk || (vok && v != verdict) {
				t.Fatalf("consumer %v %v, machine %v %v, verdict %v %v", u, uok, m, mok, v, vok)
			}
			if _, ok := stytchguard.MemberFromContext(ctx); ok {
				t.Fatal("a member session appeared")
			}
		})
	}
	ctx := stytchguard.NewConsumerContext(base, user)
	if stytchguard.WithVerdict(ctx, verdict) != ctx {
		t.Fatal("a verdict beside a session copied the context")
	}
}
