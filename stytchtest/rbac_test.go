package stytchtest_test

import (
	"slices"
	"testing"

	"github.com/stytchguard/stytchguard/session"
	"github.com/stytchguard/stytchguard/stytchtest"
)

func roleIDs(rs []session.Role) []string {
	out := make([]string, 0, len(rs))
	for _, r := range rs {
		out = append(out, r.RoleID)
	}
	return out
}

func roleOf(t *testing.T, p *session.Policy, id string) session.Role {
	t.Helper()
	for _, r := range p.Roles {
		if r.RoleID == id {
			return r
		}
	}
	t.Fatalf("no role %s in %v", id, roleIDs(p.Roles))
	return session.Role{}
}

func perms(kv ...any) []session.Permission {
	var out []session.Permission
	for i := 0; i < len(kv); i += 2 {
		out = append(out, session.Permission{ResourceID: kv[i].(string), Actions: kv[i+1].([]string)})
	}
	return out
}

var all = []string{"*"}

// TestPoliciesHoldStytchsDefaultRoles sets policies as a project's dashboard
// would and reads them back as an SDK does: the default roles are always
// there, with Stytch's ids, descriptions and permissions, plus those the
// policy gives them; the policy's other roles follow as given; a B2B policy
// lists Stytch's own resources.
func TestPoliciesHoldStytchsDefaultRoles(t *testing.T) {
	docs := session.Resource{ResourceID: "documents", Description: "Documents", Actions: []string{"read", "write"}}
	viewer := session.Role{RoleID: "viewer", Description: "Reads", Permissions: perms("documents", []string{"read"})}
	tests := []struct {
		name      string
		b2b       bool
		set       *session.Policy // nil: the emulator's own
		wantRoles []string
		want      map[string][]session.Permission
	}{
		{name: "consumer, as created", wantRoles: []string{"stytch_user"},
			want: map[string][]session.Permission{"stytch_user": {}}},
		{name: "consumer, default role omitted", set: &session.Policy{Roles: []session.Role{viewer}, Resources: []session.Resource{docs}},
			wantRoles: []string{"stytch_user", "viewer"},
			want:      map[string][]session.Permission{"stytch_user": {}, "viewer": perms("documents", []string{"read"})}},
		{name: "consumer, default role given permissions", set: &session.Policy{Roles: []session.Role{viewer, {RoleID: "stytch_user", Description: "mine", Permissions: perms("documents", []string{"read"})}}},
			wantRoles: []string{"stytch_user", "viewer"},
			want:      map[string][]session.Permission{"stytch_user": perms("documents", []string{"read"})}},
		{name: "b2b, as created", b2b: true, wantRoles: []string{"stytch_member", "stytch_admin"},
			want: map[string][]session.Permission{
				"stytch_member": perms("stytch.self", all),
				"stytch_admin":  perms("stytch.organization", all, "stytch.member", all, "stytch.sso", all, "stytch.scim", all),
			}},
		{name: "b2b, default roles omitted", b2b: true, set: &session.Policy{Roles: []session.Role{viewer}, Resources: []session.Resource{docs}},
			wantRoles: []string{"stytch_member", "stytch_admin", "viewer"},
			want: map[string][]session.Permission{
				"stytch_member": perms("stytch.self", all),
				"stytch_admin":  perms("stytch.organization", all, "stytch.member", all, "stytch.sso", all, "stytch.scim", all),
				"viewer":        perms("documents", []string{"read"}),
			}},
		{name: "b2b, default roles given permissions", b2b: true, set: &session.Policy{
			Roles: []session.Role{
				{RoleID: "stytch_admin", Description: "mine", Permissions: perms("documents", all, "stytch.member", []string{"search"})},
				viewer,
				// A narrower grant on Stytch's own resource does not take
				// away what Stytch gives the role.
				{RoleID: "stytch_member", Permissions: perms("stytch.self", []string{"update.info.name"}, "documents", []string{"read"}, "stytch.member", []string{"search"})},
			},
			Resources: []session.Resource{docs},
		},
			wantRoles: []string{"stytch_member", "stytch_admin", "viewer"},
			want: map[string][]session.Permission{
				"stytch_member": perms("stytch.self", all, "documents", []string{"read"}, "stytch.member", []string{"search"}),
				"stytch_admin":  perms("stytch.organization", all, "stytch.member", all, "stytch.sso", all, "stytch.scim", all, "documents", all),
			}},
	}
	descriptions := map[string]string{
		"stytch_user":   "Granted to all Users upon creation. Cannot be deleted.",
		"stytch_member": "Granted to all Members upon creation; grants permissions already implicitly granted to logged in Members via the SDK. Cannot be deleted.",
		"stytch_admin":  "Granted to Members who create an organization through the Stytch discovery flow. Admins will also have the stytch_member role. Cannot be deleted.",
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			if tt.set != nil {
				if tt.b2b {
					e.SetB2BPolicy(*tt.set)
				} else {
					e.SetPolicy(*tt.set)
				}
			}
			get := e.client.Consumer.Policy
			if tt.b2b {
				get = e.client.B2B.Policy
			}
			p, err := get(ctx(t))
			if err != nil {
				t.Fatal(err)
			}
			if got := roleIDs(p.Roles); !slices.Equal(got, tt.wantRoles) {
				t.Fatalf("roles %v, want %v", got, tt.wantRoles)
			}
			for id, want := range tt.want {
				r := roleOf(t, p, id)
				if !slices.EqualFunc(r.Permissions, want, func(a, b session.Permission) bool {
					return a.ResourceID == b.ResourceID && slices.Equal(a.Actions, b.Actions)
				}) {
					t.Errorf("%s holds %+v, want %+v", id, r.Permissions, want)
				}
				if d, ok := descriptions[id]; ok && r.Description != d {
					t.Errorf("%s described as %q, want Stytch's %q", id, r.Description, d)
				}
			}
			var resources []string
			for _, r := range p.Resources {
				resources = append(resources, r.ResourceID)
			}
			stytchs := []string{"stytch.organization", "stytch.member", "stytch.sso", "stytch.self", "stytch.scim"}
			for _, id := range stytchs {
				if slices.Contains(resources, id) != tt.b2b {
					t.Errorf("resources %v: %s listed %v, want %v", resources, id, !tt.b2b, tt.b2b)
				}
			}
			if tt.set != nil && len(tt.set.Resources) > 0 && resources[0] != "documents" {
				t.Errorf("the project's resources do not come first: %v", resources)
			}
		})
	}
}

// TestDefaultRolesDecide holds that the merged policy is the one decided
// with, not only the one served: a member's stytch_admin grants Stytch's
// own resources, a permission the project gave stytch_user or stytch_member
// grants its resource, and the policy passed to SetPolicy stays the
// caller's.
func TestDefaultRolesDecide(t *testing.T) {
	e := newEnv(t)
	given := session.Policy{Roles: []session.Role{{RoleID: "stytch_user", Permissions: perms("documents", []string{"read"})}}}
	e.SetPolicy(given)
	e.SetB2BPolicy(session.Policy{Roles: []session.Role{{RoleID: "stytch_member", Permissions: perms("documents", []string{"read"})}}})
	if len(given.Roles) != 1 || given.Roles[0].Description != "" {
		t.Fatalf("SetPolicy changed the caller's policy: %+v", given)
	}

	_, tok := e.consumer(t, stytchtest.SessionParams{})
	res, err := e.client.Consumer.Authenticate(ctx(t), session.AuthenticateParams{SessionToken: tok.SessionToken, AuthorizationCheck: &session.AuthorizationCheck{ResourceID: "documents", Action: "read"}})
	if err != nil || !slices.Equal(res.Verdict.GrantingRoles, []string{"stytch_user"}) {
		t.Fatalf("stytch_user reading documents: %v", err)
	}

	org := e.CreateOrganization(stytchtest.OrganizationParams{Name: "Acme"})
	admin, err := e.CreateMember(org.OrganizationID, stytchtest.MemberParams{Email: "ada@example.com", IsAdmin: true})
	if err != nil {
		t.Fatal(err)
	}
	member, err := e.CreateMember(org.OrganizationID, stytchtest.MemberParams{Email: "alan@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	check := func(memberID, resource, action string) (*session.B2BAuthenticateResponse, error) {
		t.Helper()
		tok, err := e.StartMemberSession(memberID, stytchtest.SessionParams{})
		if err != nil {
			t.Fatal(err)
		}
		return e.client.B2B.Authenticate(ctx(t), session.B2BAuthenticateParams{SessionToken: tok.SessionToken, AuthorizationCheck: &session.AuthorizationCheck{OrganizationID: org.OrganizationID, ResourceID: resource, Action: action}})
	}
	if res, err := check(admin.MemberID, "stytch.member", "create"); err != nil || !slices.Equal(res.Verdict.GrantingRoles, []string{"stytch_admin"}) {
		t.Fatalf("an admin inviting a member: %v", err)
	}
	if res, err := check(member.MemberID, "stytch.self", "update.info.name"); err != nil || !slices.Equal(res.Verdict.GrantingRoles, []string{"stytch_member"}) {
		t.Fatalf("a member renaming themself: %v", err)
	}
	if res, err := check(member.MemberID, "documents", "read"); err != nil || !slices.Equal(res.Verdict.GrantingRoles, []string{"stytch_member"}) {
		t.Fatalf("stytch_member reading documents: %v", err)
	}
	_, err = check(member.MemberID, "stytch.member", "create")
	wantAPIError(t, err, 403, "session_authorization_error")
}
