package jwtlocal

import (
	"encoding/binary"
	"slices"
	"strings"

	lru "github.com/hashicorp/golang-lru/v2"
)

// maxRoleSets bounds how many distinct role lists a Verifier shares between
// its sessions; a project has a handful ([stytch_user], [stytch_user
// editor], ...). Past it, the least recently verified list is forgotten: the
// sessions holding it keep it.
const maxRoleSets = 1024

// maxRoleSetKey bounds the key of a shared list, in bytes: a longer list is
// kept by its session alone.
const maxRoleSetKey = 1024

// roleSets shares one copy of each role list between the verified sessions
// that hold it. A cached session then points at its list instead of holding
// its own, and a guard reading a session's roles on each request reads
// memory the requests of other sessions keep in the CPU's caches, not one
// more object per session.
//
// A shared list has no room beyond its length, so that a reader's append
// copies it rather than writing into it.
type roleSets struct {
	sets *lru.Cache[string, []string]
}

func newRoleSets() (roleSets, error) {
	sets, err := lru.New[string, []string](maxRoleSets)
	return roleSets{sets: sets}, err
}

// share returns the shared copy of roles, adding it when it is new; an
// empty list is a shared empty one, never nil.
func (r roleSets) share(roles []string) []string {
	var buf [256]byte
	key := buf[:0]
	for _, role := range roles {
		// Length-prefixed, so that no two lists have one key.
		key = binary.AppendUvarint(key, uint64(len(role)))
		key = append(key, role...)
		if len(key) > maxRoleSetKey {
			return slices.Clip(roles)
		}
	}
	k := string(key)
	if set, ok := r.sets.Get(k); ok {
		return set
	}
	set := packed(roles)
	r.sets.Add(k, set)
	return set
}

// packed copies roles into one allocation for the list and one for the
// text, with no room beyond the list's length.
func packed(roles []string) []string {
	set := make([]string, 0, len(roles))
	joined := strings.Join(roles, "")
	for _, r := range roles {
		set = append(set, joined[:len(r)])
		joined = joined[len(r):]
	}
	return set
}
