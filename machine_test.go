package stytchguard_test

import (
	"context"
	"errors"
	"testing"

	"github.com/stytchguard/stytchguard"
	"github.com/stytchguard/stytchguard/session"
)

func TestScopesGrant(t *testing.T) {
	tests := []struct {
		held     []string
		required string
		want     bool
	}{
		{[]string{"read:reports"}, "read:reports", true},
		{[]string{"read:reports"}, "write:reports", false},
		{[]string{"read:reports"}, "read:invoices", false},
		{[]string{"read:*"}, "read:reports", true},
		{[]string{"read:*"}, "read", true}, // Stytch's SDKs: an action alone has resource "-", which * covers
		{[]string{"read:*"}, "write:reports", false},
		{[]string{"*:reports"}, "read:reports", false}, // only the resource may be a wildcard
		{[]string{"admin"}, "admin", true},
		{[]string{"admin"}, "admin:users", false},
		{[]string{"read:reports:2024"}, "read:reports:2024", true},
		{nil, "read:reports", false},
		{[]string{"read:reports", "write:*"}, "write:invoices", true},
	}
	for _, tc := range tests {
		if got := (&stytchguard.MachineAuth{Scopes: tc.held}).HasScopes(tc.required); got != tc.want {
			t.Errorf("HasScopes(%q) with %v = %v, want %v", tc.required, tc.held, got, tc.want)
		}
	}
	m := &stytchguard.MachineAuth{Scopes: []string{"read:reports", "write:*"}}
	if !m.HasScopes("read:reports", "write:x") || m.HasScopes("read:reports", "read:x") || !m.HasAnyScope("read:x", "write:y") || m.HasAnyScope("read:x") {
		t.Error("HasScopes and HasAnyScope disagree with the one-scope rule")
	}
}

type plan struct {
	Plan  string `json:"plan"`
	Seats int    `json:"seats"`
}

func TestClaims(t *testing.T) {
	custom := map[string]any{"plan": "pro", "seats": float64(3)}
	decoded, err := stytchguard.ClaimsOf[plan]()(custom)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		ctx     context.Context
		want    plan
		wantErr error
	}{
		{"consumer, decoded before", stytchguard.NewConsumerContext(context.Background(), &stytchguard.ConsumerAuth{Claims: decoded, Session: session.Session{CustomClaims: map[string]any{"plan": "ignored"}}}), plan{"pro", 3}, nil},
		{"consumer, decoded now", stytchguard.NewConsumerContext(context.Background(), &stytchguard.ConsumerAuth{Session: session.Session{CustomClaims: custom}}), plan{"pro", 3}, nil},
		{"member", stytchguard.NewMemberContext(context.Background(), &stytchguard.MemberAuth{Session: session.MemberSession{CustomClaims: custom}}), plan{"pro", 3}, nil},
		{"machine", stytchguard.NewMachineContext(context.Background(), &stytchguard.MachineAuth{CustomClaims: custom}), plan{"pro", 3}, nil},
		{"nobody", context.Background(), plan{}, stytchguard.ErrNoClaims},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := stytchguard.Claims[plan](tc.ctx)
			if !errors.Is(err, tc.wantErr) || got != tc.want {
				t.Fatalf("got %+v, %v; want %+v, %v", got, err, tc.want, tc.wantErr)
			}
		})
	}
	misfit := stytchguard.NewConsumerContext(context.Background(), &stytchguard.ConsumerAuth{Session: session.Session{CustomClaims: map[string]any{"seats": "many"}}})
	if _, err := stytchguard.Claims[plan](misfit); err == nil {
		t.Fatal("claims that do not fit the type decoded without an error")
	}
}
