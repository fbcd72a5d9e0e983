package authz

import (
	"github.com/stytchguard/stytchguard/session"
)

// wildcard is the action that grants every action on a resource.
const wildcard = "*"

// index is an RBAC policy compiled for decisions: for each resource and
// action, the roles that may act, with their position in the policy so that
// granting roles come out in policy order, as Stytch lists them. An index is
// immutable and safe for concurrent use.
type index struct {
	// grants maps a resource and action to the roles that may act, each with
	// the verdict it grants alone (the common case, answered with no
	// allocation). A named action's roles include the resource's wildcard
	// roles, so that a decision is one lookup and one per role held.
	grants  map[permKey]map[string]*session.Verdict
	rolePos map[string]int // a role's place in the policy, its first one
}

type permKey struct{ resource, action string }

// compile builds an index from roles, in order: for B2B pass the project's
// roles, then the organization's custom roles.
func compile(roleSets ...[]session.Role) *index {
	ix := &index{grants: map[permKey]map[string]*session.Verdict{}, rolePos: map[string]int{}}
	alone := map[string]*session.Verdict{}
	grant := func(k permKey, role string) {
		if ix.grants[k] == nil {
			ix.grants[k] = map[string]*session.Verdict{}
		}
		ix.grants[k][role] = alone[role]
	}
	for _, roles := range roleSets {
		for _, r := range roles {
			if _, seen := ix.rolePos[r.RoleID]; !seen {
				ix.rolePos[r.RoleID] = len(ix.rolePos)
				alone[r.RoleID] = &session.Verdict{Authorized: true, GrantingRoles: []string{r.RoleID}}
			}
			for _, p := range r.Permissions {
				for _, a := range p.Actions {
					grant(permKey{p.ResourceID, a}, r.RoleID)
				}
			}
		}
	}
	// A wildcard grants the actions named elsewhere too: fold its roles in.
	for k := range ix.grants {
		if k.action == wildcard {
			continue
		}
		for role := range ix.grants[permKey{k.resource, wildcard}] {
			grant(k, role)
		}
	}
	return ix
}

// roles returns the roles that may take action on resource, each with the
// verdict it grants alone; nil when none may.
func (ix *index) roles(resource, action string) map[string]*session.Verdict {
	if g, ok := ix.grants[permKey{resource, action}]; ok {
		return g
	}
	return ix.grants[permKey{resource, wildcard}] // an action named nowhere
}

// verdict decides like Decide and returns the verdict, nil when denied. A
// verdict granted by one role is shared: verdicts are read-only.
func (ix *index) verdict(held []string, resource, action string) *session.Verdict {
	g := ix.roles(resource, action)
	var first *session.Verdict
	for _, role := range held {
		switch v, ok := g[role]; {
		case !ok || v == first: // not granting, or the same role held twice
		case first == nil:
			first = v
		default: // two roles grant: list them in policy order
			return &session.Verdict{Authorized: true, GrantingRoles: ix.decide(held, resource, action, nil)}
		}
	}
	return first
}

// Decide appends to dst the roles among held that grant action on resource
// and returns it: a role grants when it has a permission whose resource id
// equals resource exactly and whose actions contain action or "*". The
// result is in policy order, without duplicates; empty means denied. With a
// dst of enough capacity, Decide does not allocate.
func (ix *index) decide(held []string, resource, action string, dst []string) []string {
	g := ix.roles(resource, action)
	if g == nil {
		return dst
	}
	start := len(dst)
	for _, role := range held {
		if _, ok := g[role]; ok {
			dst = ix.insert(dst, start, role)
		}
	}
	return dst
}

// insert inserts role into dst[start:], kept in policy order, unless it is
// there already.
func (ix *index) insert(dst []string, start int, role string) []string {
	pos := ix.rolePos[role]
	i := start
	for ; i < len(dst); i++ {
		if dst[i] == role {
			return dst
		}
		if ix.rolePos[dst[i]] > pos {
			break
		}
	}
	dst = append(dst, "")
	copy(dst[i+1:], dst[i:])
	dst[i] = role
	return dst
}
