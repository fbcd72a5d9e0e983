package middleware

import (
	"github.com/stytchguard/stytchguard/jwtlocal"
)

// Stats is a snapshot of the middleware's state, for gauges (otelguard
// reads it at each collection).
type Stats struct {
	// BreakerOpen reports calls to Stytch paused after failures
	// (Upstream.BreakerFailures).
	BreakerOpen bool
	// Budget is how many calls for credentials nothing ties to the project
	// the budget allows now (Upstream.Rate and Burst); -1 without a budget.
	Budget float64
	// InFlight is how many calls to Stytch are under way.
	InFlight int
	// Answers is how many of Stytch's answers the RemoteCache holds; -1
	// when the store cannot tell (it has no Len method).
	Answers int
	// Verifier is the key set's and the token cache's.
	Verifier jwtlocal.Stats
}

// Stats returns a snapshot of m's state. It takes a few locks: for a
// metrics collection, not for every request.
func (m *Middleware) Stats() Stats {
	s := Stats{Budget: -1, Answers: -1, InFlight: len(m.gate.slots), Verifier: m.verifier.Stats()}
	if c, ok := m.cfg.Stores.RemoteCache.(interface{ Len() int }); ok {
		s.Answers = c.Len()
	}
	s.BreakerOpen, _ = m.gate.open()
	if m.gate.budget != nil {
		s.Budget = m.gate.budget.TokensAt(m.gate.now())
	}
	return s
}
