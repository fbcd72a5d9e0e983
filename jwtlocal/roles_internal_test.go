package jwtlocal

import (
	"fmt"
	"slices"
	"strings"
	"testing"
)

// TestRoleSetsShare: sessions holding the same roles share one list, lists
// whose text runs together stay apart, and every list comes back equal to
// what was asked, with no room for an append to write into.
func TestRoleSetsShare(t *testing.T) {
	long := strings.Repeat("r", maxRoleSetKey)
	tests := []struct {
		name       string
		first      []string
		second     []string
		wantShared bool // the two answers are one list
	}{
		{"the same roles", []string{"stytch_user", "editor"}, []string{"stytch_user", "editor"}, true},
		{"text that runs together", []string{"ab"}, []string{"a", "b"}, false},
		{"another order", []string{"a", "b"}, []string{"b", "a"}, false},
		{"one role more", []string{"a"}, []string{"a", ""}, false},
		{"too long to share", []string{long}, []string{long}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := mustRoleSets(t)
			a, b := r.share(slices.Clone(tt.first)), r.share(slices.Clone(tt.second))
			for _, c := range []struct{ got, want []string }{{a, tt.first}, {b, tt.second}} {
				if !slices.Equal(c.got, c.want) {
					t.Fatalf("share(%q) = %q", c.want, c.got)
				}
				if cap(c.got) != len(c.got) {
					t.Fatalf("share(%q) has room for %d more", c.want, cap(c.got)-len(c.got))
				}
			}
			if shared := &a[0] == &b[0]; shared != tt.wantShared {
				t.Fatalf("one list for %q and %q: %v, want %v", tt.first, tt.second, shared, tt.wantShared)
			}
		})
	}
}

// TestRoleSetsEmptyAndBounded: no roles is an empty list, never nil; past
// maxRoleSets distinct lists, each answer is still right and the table
// holds no more than its bound.
func TestRoleSetsEmptyAndBounded(t *testing.T) {
	r := mustRoleSets(t)
	for _, roles := range [][]string{nil, {}} {
		if got := r.share(roles); got == nil || len(got) != 0 {
			t.Fatalf("share(%#v) = %#v, want an empty list", roles, got)
		}
	}
	for i := range 2 * maxRoleSets {
		roles := []string{"stytch_user", fmt.Sprint("role-", i)}
		if got := r.share(roles); !slices.Equal(got, roles) {
			t.Fatalf("share(%q) = %q", roles, got)
		}
	}
	if n := r.sets.Len(); n > maxRoleSets {
		t.Fatalf("%d lists kept, bound %d", n, maxRoleSets)
	}
}

func mustRoleSets(t *testing.T) roleSets {
	t.Helper()
	r, err := newRoleSets()
	if err != nil {
		t.Fatal(err)
	}
	return r
}
