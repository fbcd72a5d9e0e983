package stytchtest

import (
	"fmt"
	"slices"

	"github.com/stytchguard/stytchguard/session"
)

func defaultConsumerPolicy() session.Policy {
	return session.Policy{
		Roles:     []session.Role{{RoleID: "stytch_user", Description: "Granted to every user.", Permissions: []session.Permission{}}},
		Resources: []session.Resource{},
		Scopes:    []session.Scope{},
	}
}

func defaultB2BPolicy() session.Policy {
	return session.Policy{
		Roles: []session.Role{
			{RoleID: "stytch_member", Description: "Granted to every member.", Permissions: []session.Permission{}},
			{RoleID: "stytch_admin", Description: "Granted to organization admins.", Permissions: []session.Permission{}},
		},
		Resources: []session.Resource{},
		Scopes:    []session.Scope{},
	}
}

// SetPolicy replaces the consumer RBAC policy. Nil slices are served as
// empty ones.
func (e *Emulator) SetPolicy(p session.Policy) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.policy = clonePolicy(p)
}

// SetB2BPolicy replaces the B2B project RBAC policy.
func (e *Emulator) SetB2BPolicy(p session.Policy) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.b2bPolicy = clonePolicy(p)
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
