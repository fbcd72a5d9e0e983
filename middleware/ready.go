package middleware

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"time"
)

// Readier is a part without which requests cannot be decided as they
// should be. *jwtlocal.Verifier (a key set is held), *authz.Authorizer (the
// RBAC policy is loaded) and *redisstore.Store (connected to Redis, nothing
// waiting to reach it) are Readiers; so may be any of the app's own.
type Readier interface {
	Ready(ctx context.Context) error
}

// readyWait bounds a readiness probe that has no deadline of its own.
const readyWait = 2 * time.Second

// Ready reports whether requests can be decided as they should be: the key
// set is held, each store of Config.Stores that is a Readier is ready, and
// so is each of also (the app's *authz.Authorizer, say). A part that lacks
// something fetches it within ctx (see jwtlocal.Verifier.Ready and
// authz.Authorizer.Ready), so that Ready called with a deadline before the
// app serves is its warm-up. The error joins one error per part that is not
// ready, each naming the part; it never holds a token or a secret.
func (m *Middleware) Ready(ctx context.Context, also ...Readier) error {
	parts := []Readier{m.verifier}
	for _, s := range []any{m.cfg.Stores.Revocations, m.cfg.Stores.Marks, m.cfg.Stores.RemoteCache} {
		if r, ok := s.(Readier); ok {
			parts = append(parts, r)
		}
	}
	parts = append(parts, also...)
	var errs []error
	var seen []string
	for _, p := range parts {
		if err := p.Ready(ctx); err != nil && !slices.Contains(seen, err.Error()) {
			seen = append(seen, err.Error()) // one store may stand for several roles
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// ReadyHandler answers readiness probes (a load balancer's, Kubernetes'
// readinessProbe): 200 {"ready":true} when Ready reports nil, otherwise 503
// {"ready":false,"missing":[...]}, one line per part that is not ready. A
// probe waits at most 2 s, or its request's deadline. Liveness is another
// question, which this does not answer: a process that can answer at all
// is alive, and restarting it would not bring Stytch back.
func (m *Middleware) ReadyHandler(also ...Readier) http.Handler {
	also = slices.Clone(also)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), readyWait)
		defer cancel()
		err := m.Ready(ctx, also...)
		if err == nil {
			writeJSON(w, http.StatusOK, readiness{Ready: true})
			return
		}
		out := readiness{Missing: []string{}}
		if joined, ok := err.(interface{ Unwrap() []error }); ok {
			for _, e := range joined.Unwrap() {
				out.Missing = append(out.Missing, e.Error())
			}
		} else {
			out.Missing = append(out.Missing, err.Error())
		}
		writeJSON(w, http.StatusServiceUnavailable, out)
	})
}

// readiness is ReadyHandler's answer.
type readiness struct {
	Ready   bool     `json:"ready"`
	Missing []string `json:"missing,omitempty"`
}
