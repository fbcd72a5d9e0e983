package stytchtest

import (
	"fmt"
	"slices"

	"github.com/stytchguard/stytchguard/session"
)

// Stytch's default roles, which every project's policy holds and no policy
// can delete: see docs/emulator.md, "Default roles".
const (
	roleUser   = "stytch_user"   // every user of a consumer project
	roleMember = "stytch_member" // every member of a B2B organization
	roleAdmin  = "stytch_admin"  // the members an organization makes admins
)

// consumerDefaults are the default roles of a consumer project as Stytch
// creates them. Stytch documents no permission of stytch_user: it has none
// until the project gives it some.
func consumerDefaults() []session.Role {
	return []session.Role{
		{RoleID: roleUser, Description: "Granted to all Users upon creation. Cannot be deleted.", Permissions: []session.Permission{}},
	}
}

// b2bDefaults are the default roles of a B2B project as Stytch creates them,
// with the descriptions Stytch gives them.
func b2bDefaults() []session.Role {
	all := []string{"*"}
	return []session.Role{
		{
			RoleID:      roleMember,
			Description: "Granted to all Members upon creation; grants permissions already implicitly granted to logged in Members via the SDK. Cannot be deleted.",
			Permissions: []session.Permission{{ResourceID: "stytch.self", Actions: all}},
		},
		{
			RoleID:      roleAdmin,
			Description: "Granted to Members who create an organization through the Stytch discovery flow. Admins will also have the stytch_member role. Cannot be deleted.",
			Permissions: []session.Permission{
				{ResourceID: "stytch.organization", Actions: all},
				{ResourceID: "stytch.member", Actions: all},
				{ResourceID: "stytch.sso", Actions: all},
				{ResourceID: "stytch.scim", Actions: all},
			},
		},
	}
}

// b2bResources are Stytch's own resources, which every B2B policy lists
// beside the project's.
func b2bResources() []session.Resource {
	return []session.Resource{
		{ResourceID: "stytch.organization", Description: "Builtin resource for Stytch organization objects", Actions: []string{
			"update.info.name", "update.info.slug", "update.info.logo-url",
			"update.settings.allowed-auth-methods", "update.settings.allowed-mfa-methods",
			"update.settings.email-jit-provisioning", "update.settings.email-invites",
			"update.settings.allowed-domains", "update.settings.default-sso-connection",
			"update.settings.sso-jit-provisioning", "update.settings.mfa-policy",
			"update.settings.implicit-roles", "delete",
		}},
		{ResourceID: "stytch.member", Description: "Builtin resource for Stytch member objects", Actions: []string{
			"create", "update.info.name", "update.info.untrusted-metadata", "update.info.mfa-phone",
			"update.info.delete.mfa-phone", "update.info.delete.mfa-totp", "update.info.delete.password",
			"update.settings.is-breakglass", "update.settings.mfa-enrolled",
			"update.settings.default-mfa-method", "update.settings.roles", "search", "delete",
		}},
		{ResourceID: "stytch.sso", Description: "Builtin resource for Stytch SSO Connection objects", Actions: []string{"create", "get", "update", "delete"}},
		{ResourceID: "stytch.self", Description: "Builtin resource for the logged-in Stytch member object", Actions: []string{
			"update.info.name", "update.info.untrusted-metadata", "update.info.mfa-phone",
			"update.info.delete.mfa-phone", "update.info.delete.password", "update.info.delete.mfa-totp",
			"update.settings.mfa-enrolled", "update.settings.default-mfa-method", "delete",
		}},
		{ResourceID: "stytch.scim", Description: "Builtin resource for Stytch SCIM Connection objects", Actions: []string{"create", "get", "update", "delete"}},
	}
}

func defaultConsumerPolicy() session.Policy { return consumerPolicy(session.Policy{}) }

func defaultB2BPolicy() session.Policy { return b2bPolicy(session.Policy{}) }

// consumerPolicy is p as Stytch serves a consumer project's policy: with
// stytch_user, whatever p says.
func consumerPolicy(p session.Policy) session.Policy {
	return withDefaults(clonePolicy(p), consumerDefaults(), nil)
}

// b2bPolicy is p as Stytch serves a B2B project's policy: with
// stytch_member, stytch_admin and Stytch's own resources, whatever p says.
func b2bPolicy(p session.Policy) session.Policy {
	return withDefaults(clonePolicy(p), b2bDefaults(), b2bResources())
}

// withDefaults merges Stytch's default roles and resources into p, as
// Stytch's dashboard and management API keep them: a default role cannot
// be deleted, its id and description are Stytch's, and the permissions
// Stytch gives it cannot be taken away, while a project may add to them.
// So each default role comes first, holding Stytch's permissions and then
// those p gives it (actions on one resource joined); p's other roles follow
// as given. Stytch's resources follow p's, in place of any of p's with the
// same id (a project's own resource ids may not start with "stytch").
func withDefaults(p session.Policy, defaults []session.Role, resources []session.Resource) session.Policy {
	roles := make([]session.Role, 0, len(defaults)+len(p.Roles))
	for _, d := range defaults {
		for _, r := range p.Roles {
			if r.RoleID == d.RoleID {
				d.Permissions = mergePermissions(d.Permissions, r.Permissions)
			}
		}
		roles = append(roles, d)
	}
	for _, r := range p.Roles {
		if !slices.ContainsFunc(defaults, func(d session.Role) bool { return d.RoleID == r.RoleID }) {
			roles = append(roles, r)
		}
	}
	p.Roles = roles
	if len(resources) > 0 {
		p.Resources = slices.DeleteFunc(p.Resources, func(r session.Resource) bool {
			return slices.ContainsFunc(resources, func(s session.Resource) bool { return s.ResourceID == r.ResourceID })
		})
		p.Resources = append(p.Resources, resources...)
	}
	return p
}

// mergePermissions returns base with more added: the actions of a
// permission on a resource base already has join that permission's (a
// "*" among them stands for all), others are appended.
func mergePermissions(base, more []session.Permission) []session.Permission {
	out := clonePermissions(base)
	for _, m := range more {
		i := slices.IndexFunc(out, func(p session.Permission) bool { return p.ResourceID == m.ResourceID })
		if i < 0 {
			out = append(out, session.Permission{ResourceID: m.ResourceID, Actions: nonNil(slices.Clone(m.Actions))})
			continue
		}
		if slices.Contains(out[i].Actions, "*") {
			continue
		}
		if slices.Contains(m.Actions, "*") {
			out[i].Actions = []string{"*"}
			continue
		}
		for _, a := range m.Actions {
			if !slices.Contains(out[i].Actions, a) {
				out[i].Actions = append(out[i].Actions, a)
			}
		}
	}
	return out
}

// SetPolicy replaces the consumer RBAC policy, as a project's dashboard
// does: the policy served (and decided with) holds stytch_user whatever p
// says, with the permissions p gives it; see docs/emulator.md, "Default
// roles". Nil slices are served as empty ones.
func (e *Emulator) SetPolicy(p session.Policy) {
	merged := consumerPolicy(p)
	e.mu.Lock()
	defer e.mu.Unlock()
	e.policy = merged
}

// SetB2BPolicy replaces the B2B project RBAC policy, as a project's
// dashboard does: the policy served (and decided with) holds stytch_member
// and stytch_admin with Stytch's permissions on its own stytch.* resources
// plus those p gives them, and lists those resources.
func (e *Emulator) SetB2BPolicy(p session.Policy) {
	merged := b2bPolicy(p)
	e.mu.Lock()
	defer e.mu.Unlock()
	e.b2bPolicy = merged
}

// SetOrgPolicy replaces one organization's custom roles, which add to the B2B
// project policy for its members.
func (e *Emulator) SetOrgPolicy(orgID string, roles []session.Role) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if _, ok := e.orgs[orgID]; !ok {
		return fmt.Errorf("organization %s: %w", orgID, ErrNotFound)
	}
	e.orgPolicies[orgID] = cloneRoles(roles)
	return nil
}

// decide is Stytch's RBAC decision: the roles among held that have a
// permission on exactly resource whose actions include action or "*".
func decide(policyRoles []session.Role, held []string, resource, action string) []string {
	var granting []string
	for _, r := range policyRoles {
		if !slices.Contains(held, r.RoleID) || slices.Contains(granting, r.RoleID) {
			continue
		}
		for _, p := range r.Permissions {
			if p.ResourceID == resource && (slices.Contains(p.Actions, action) || slices.Contains(p.Actions, "*")) {
				granting = append(granting, r.RoleID)
				break
			}
		}
	}
	return granting
}

// authorize answers an authorization_check for s. The caller holds e.mu.
func (e *Emulator) authorize(s *sess, check *session.AuthorizationCheck) (*session.Verdict, *session.APIError) {
	if check == nil {
		return nil, nil
	}
	if check.ResourceID == "" || check.Action == "" {
		return nil, apiError(400, "bad_request", "authorization_check needs resource_id and action.")
	}
	roles := e.roles(s)
	if !s.b2b {
		granting := decide(e.policy.Roles, roles, check.ResourceID, check.Action)
		if len(granting) == 0 {
			return nil, apiError(403, "consumer_session_authorization_error", "The user is not authorized to perform the requested action.")
		}
		return &session.Verdict{Authorized: true, GrantingRoles: granting}, nil
	}
	if check.OrganizationID == "" {
		return nil, apiError(400, "bad_request", "authorization_check needs organization_id.")
	}
	if check.OrganizationID != s.orgID {
		return nil, apiError(403, "session_authorization_tenancy_error", "The member session belongs to another organization.")
	}
	all := append(slices.Clone(e.b2bPolicy.Roles), e.orgPolicies[s.orgID]...)
	granting := decide(all, roles, check.ResourceID, check.Action)
	if len(granting) == 0 {
		return nil, apiError(403, "session_authorization_error", "The member is not authorized to perform the requested action.")
	}
	return &session.Verdict{Authorized: true, GrantingRoles: granting}, nil
}

func clonePolicy(p session.Policy) session.Policy {
	out := session.Policy{Roles: cloneRoles(p.Roles), Resources: []session.Resource{}, Scopes: []session.Scope{}}
	for _, r := range p.Resources {
		out.Resources = append(out.Resources, session.Resource{ResourceID: r.ResourceID, Description: r.Description, Actions: nonNil(slices.Clone(r.Actions))})
	}
	for _, s := range p.Scopes {
		out.Scopes = append(out.Scopes, session.Scope{Scope: s.Scope, Description: s.Description, Permissions: clonePermissions(s.Permissions)})
	}
	return out
}

func cloneRoles(rs []session.Role) []session.Role {
	out := []session.Role{}
	for _, r := range rs {
		out = append(out, session.Role{RoleID: r.RoleID, Description: r.Description, Permissions: clonePermissions(r.Permissions)})
	}
	return out
}

func clonePermissions(ps []session.Permission) []session.Permission {
	out := []session.Permission{}
	for _, p := range ps {
		out = append(out, session.Permission{ResourceID: p.ResourceID, Actions: nonNil(slices.Clone(p.Actions))})
	}
	return out
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
