package authz

import (
	"github.com/stytchguard/stytchguard/session"
)

// Wildcard is the action that grants every action on a resource.
const Wildcard = "*"

// Index is an RBAC policy compiled for decisions: for each resource and
// action, the roles that may act, with their position in the policy so that
// granting roles come out in policy order, as Stytch lists them. An Index is
// immutable and safe for concurrent use.
type Index struct {
	grants  map[permKey]map[string]struct{}
	rolePos map[string]int // a role's place in the policy, its first one
	// alone is, for each role, the verdict it grants by itself: the common
	// case, answered with no allocation.
	alone map[string]*session.Verdict
}

type permKey struct{ resource, action string }

// Compile builds an Index from roles, in order: for B2B pass the project's
// roles, then the organization's custom roles.
func Compile(roleSets ...[]session.Role) *Index {
	ix := &Index{grants: map[permKey]map[string]struct{}{}, rolePos: map[string]int{}, alone: map[string]*session.Verdict{}}
	for _, roles := range roleSets {
		for _, r := range roles {
			if _, seen := ix.rolePos[r.RoleID]; !seen {
				ix.rolePos[r.RoleID] = len(ix.rolePos)
				ix.alone[r.RoleID] = &session.Verdict{Authorized: true, GrantingRoles: []string{r.RoleID}}
			}
			for _, p := range r.Permissions {
				for _, a := range p.Actions {
					k := permKey{p.ResourceID, a}
					if ix.grants[k] == nil {
						ix.grants[k] = map[string]struct{}{}
					}
					ix.grants[k][r.RoleID] = struct{}{}
				}
			}
		}
	}
	return ix
}

// verdict decides like Decide and returns the verdict, nil when denied. A
// verdict granted by one role is shared: verdicts are read-only.
func (ix *Index) verdict(held []string, resource, action string) *session.Verdict {
	var buf [4]string
	granting := ix.Decide(held, resource, action, buf[:0])
	switch len(granting) {
	case 0:
		return nil
	case 1:
		return ix.alone[granting[0]]
	}
	return &session.Verdict{Authorized: true, GrantingRoles: append([]string(nil), granting...)}
}

// Decide appends to dst the roles among held that grant action on resource
// and returns it: a role grants when it has a permission whose resource id
// equals resource exactly and whose actions contain action or "*". The
// result is in policy order, without duplicates; empty means denied. With a
// dst of enough capacity, Decide does not allocate.
func (ix *Index) Decide(held []string, resource, action string, dst []string) []string {
	exact := ix.grants[permKey{resource, action}]
	wild := ix.grants[permKey{resource, Wildcard}]
	if exact == nil && wild == nil {
		return dst
	}
	start := len(dst)
	for _, role := range held {
		_, ok := exact[role]
		if !ok {
			if _, ok = wild[role]; !ok {
				continue
			}
		}
		dst = ix.insert(dst, start, role)
	}
	return dst
}

// insert inserts role into dst[start:], kept in policy order, unless it is
// there already.
func (ix *Index) insert(dst []string, start int, role string) []string {
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
