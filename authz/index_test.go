package authz_test

import (
	"fmt"
	"slices"
	"testing"

	"github.com/stytchguard/stytchguard/authz"
	"github.com/stytchguard/stytchguard/session"
)

func perm(resource string, actions ...string) session.Permission {
	return session.Permission{ResourceID: resource, Actions: actions}
}

func role(id string, perms ...session.Permission) session.Role {
	return session.Role{RoleID: id, Description: id, Permissions: perms}
}

// The cases of Stytch's RBAC docs and the seeds: exact resource ids, actions
// or "*", several granting roles in policy order, org custom roles added to
// the project's.
func TestDecide(t *testing.T) {
	project := []session.Role{
		role("stytch_member"),
		role("viewer", perm("documents", "read")),
		role("editor", perm("documents", "read", "write")),
		role("admin", perm("documents", "*"), perm("billing", "*")),
		role("auditor-lite", perm("ledger", "read")),
	}
	org := []session.Role{role("auditor", perm("ledger", "read", "export"))}
	ix := authz.Compile(project, org)
	tests := []struct {
		name     string
		held     []string
		resource string
		action   string
		want     []string
	}{
		{"exact action", []string{"viewer"}, "documents", "read", []string{"viewer"}},
		{"action not granted", []string{"viewer"}, "documents", "write", nil},
		{"wildcard action", []string{"admin"}, "documents", "delete", []string{"admin"}},
		{"wildcard is per resource", []string{"admin"}, "ledger", "read", nil},
		{"resource must match exactly", []string{"viewer"}, "documents.secret", "read", nil},
		{"resource is case-sensitive", []string{"viewer"}, "Documents", "read", nil},
		{"no prefix match", []string{"viewer"}, "doc", "read", nil},
		{"several roles, policy order", []string{"admin", "viewer", "editor"}, "documents", "read", []string{"viewer", "editor", "admin"}},
		{"duplicates held once", []string{"viewer", "viewer"}, "documents", "read", []string{"viewer"}},
		{"org custom role", []string{"auditor"}, "ledger", "export", []string{"auditor"}},
		{"project and org roles", []string{"auditor", "auditor-lite"}, "ledger", "read", []string{"auditor-lite", "auditor"}},
		{"empty roles", nil, "documents", "read", nil},
		{"unknown role", []string{"ghost"}, "documents", "read", nil},
		{"unknown resource", []string{"admin"}, "payroll", "read", nil},
		{"empty action", []string{"viewer"}, "documents", "", nil},
		{"role without permissions", []string{"stytch_member"}, "documents", "read", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := ix.Decide(tt.held, tt.resource, tt.action, nil)
			if !slices.Equal(got, tt.want) {
				t.Fatalf("Decide(%v, %s, %s) = %v, want %v", tt.held, tt.resource, tt.action, got, tt.want)
			}
		})
	}
	// dst is appended to, not overwritten.
	if got := ix.Decide([]string{"viewer"}, "documents", "read", []string{"x"}); !slices.Equal(got, []string{"x", "viewer"}) {
		t.Fatalf("append: %v", got)
	}
}

// BenchmarkDecide: a 50-role policy, a session with 3 roles, a decision that
// is granted by one of them.
func BenchmarkDecide(b *testing.B) {
	var roles []session.Role
	for i := range 50 {
		roles = append(roles, role(fmt.Sprintf("role-%02d", i),
			perm(fmt.Sprintf("resource-%02d", i), "read", "write"),
			perm("documents", fmt.Sprintf("action-%02d", i)),
		))
	}
	ix := authz.Compile(roles)
	held := []string{"role-07", "role-23", "role-41"}
	buf := make([]string, 0, 8)
	b.ReportAllocs()
	for b.Loop() {
		if got := ix.Decide(held, "resource-23", "write", buf[:0]); len(got) != 1 {
			b.Fatal(got)
		}
	}
}
