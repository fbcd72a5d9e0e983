package authz

import "github.com/stytchguard/stytchguard/session"

// VerdictOf exposes the guards' decision to the external tests.
func (ix *Index) VerdictOf(held []string, resource, action string) *session.Verdict {
	return ix.verdict(held, resource, action)
}
