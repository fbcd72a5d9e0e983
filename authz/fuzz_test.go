package authz_test

import (
	"encoding/json"
	"slices"
	"testing"

	"github.com/stytchguard/stytchguard/authz"
	"github.com/stytchguard/stytchguard/session"
)

// FuzzPolicy decodes an arbitrary policy, compiles it and decides an
// arbitrary question: it must never panic and must agree with a plain
// reading of Stytch's rule, in policy order.
func FuzzPolicy(f *testing.F) {
	f.Add(`{"roles":[{"role_id":"viewer","permissions":[{"resource_id":"documents","actions":["read"]}]}]}`, "viewer,editor", "documents", "read")
	f.Add(`{"roles":[{"role_id":"a","permissions":[{"resource_id":"r","actions":["*"]}]},{"role_id":"b","permissions":[]}]}`, "a", "r", "*")
	f.Add(`{"roles":null}`, "", "", "")
	f.Add(`{"roles":[{"role_id":"","permissions":[{"resource_id":"","actions":[""]}]}]}`, ",", "", "")
	f.Fuzz(func(t *testing.T, policy, held, resource, action string) {
		var p session.Policy
		if json.Unmarshal([]byte(policy), &p) != nil || duplicateRoleIDs(p.Roles) {
			return // Stytch refuses a policy that names a role twice
		}
		roles := splitComma(held)
		ix := authz.Compile(p.Roles)
		want := reference(p.Roles, roles, resource, action)
		if got := ix.Decide(roles, resource, action, nil); !slices.Equal(got, want) {
			t.Fatalf("Decide = %v, the rule says %v", got, want)
		}
		switch v := ix.VerdictOf(roles, resource, action); {
		case len(want) == 0 && v != nil:
			t.Fatalf("verdict %v, the rule denies", v.GrantingRoles)
		case len(want) > 0 && (v == nil || !v.Authorized || !slices.Equal(v.GrantingRoles, want)):
			t.Fatalf("verdict %+v, the rule says %v", v, want)
		}
	})
}

// reference is Stytch's rule read plainly: each policy role, in order, that
// the session holds and that has a permission on exactly resource with
// action or "*" among its actions.
func reference(policy []session.Role, held []string, resource, action string) []string {
	var out []string
	for _, r := range policy {
		if !slices.Contains(held, r.RoleID) || slices.Contains(out, r.RoleID) {
			continue
		}
		for _, p := range r.Permissions {
			if p.ResourceID == resource && (slices.Contains(p.Actions, action) || slices.Contains(p.Actions, "*")) {
				out = append(out, r.RoleID)
				break
			}
		}
	}
	return out
}

func splitComma(s string) []string {
	var out []string
	start := 0
	for i := 0; i <= len(s); i++ {
		if i == len(s) || s[i] == ',' {
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	return out
}

func duplicateRoleIDs(roles []session.Role) bool {
	seen := map[string]bool{}
	for _, r := range roles {
		if seen[r.RoleID] {
			return true
		}
		seen[r.RoleID] = true
	}
	return false
}
