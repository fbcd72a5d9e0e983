package authz

import "github.com/stytchguard/stytchguard/session"

// Index is the compiled policy, for the external tests.
type Index = index

// Compile is compile.
var Compile = compile

// Decide is decide.
func (ix *index) Decide(held []string, resource, action string, dst []string) []string {
	return ix.decide(held, resource, action, dst)
}

// VerdictOf exposes the guards' decision to the external tests.
func (ix *index) VerdictOf(held []string, resource, action string) *session.Verdict {
	return ix.verdict(held, resource, action)
}
