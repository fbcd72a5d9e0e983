package middleware

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strconv"
	"time"
)

// Readier is a part without which requests cannot be decided as they
// should be. *jwtlocal.Verifier (a key set is held), *authz.Authorizer (the
// RBAC policy is loaded) and *redisstore.Store (connected to Redis, nothing
// waiting to reach it) are Readiers; so may be any of the app's own.
type Readier interface {
	Ready(ctx context.Context) error
}

// ErrDegraded, wrapped by a Readier's error, says that the part still
// decides, with less: redisstore while Redis cannot be reached (each
// instance keeps its own logouts, and a logout elsewhere reaches it late).
// Ready does not count it; ReadyHandler lists it under "degraded" and
// answers 200: taking every instance out of the load balancer because a
// shared store is down would turn a narrower window into an outage.
var ErrDegraded = errors.New("degraded: still deciding, with less")

// readyWait bounds a readiness probe that has no deadline of its own.
const readyWait = 2 * time.Second

// Ready reports whether requests can be decided as they should be: the key
// set is held, each store of Config.Stores that is a Readier is ready, and
// so is each of also (the app's *authz.Authorizer, say). A part that lacks
// something fetches it within ctx (see jwtlocal.Verifier.Ready and
// authz.Authorizer.Ready), so that Ready called with a deadline before the
// app serves is its warm-up. The error joins one error per part that is not
// ready, each naming the part; it never holds a token or a secret. A part
// that is only degraded (ErrDegraded) does not count.
func (m *Middleware) Ready(ctx context.Context, also ...Readier) error {
	unready, _ := m.readiness(ctx, also)
	return errors.Join(unready...)
}

// readiness asks each part, and returns the errors of those not ready and
// of those degraded, one each: a store may stand for several roles.
func (m *Middleware) readiness(ctx context.Context, also []Readier) (unready, degraded []error) {
	parts := []Readier{m.verifier}
	for _, s := range []any{m.cfg.Stores.Revocations, m.cfg.Stores.Marks, m.cfg.Stores.RemoteCache} {
		if r, ok := s.(Readier); ok {
			parts = append(parts, r)
		}
	}
	parts = append(parts, also...)
	var seen []string
	for _, p := range parts {
		err := p.Ready(ctx)
		switch {
		case err == nil || slices.Contains(seen, err.Error()):
		case errors.Is(err, ErrDegraded):
			degraded = append(degraded, err)
		default:
			unready = append(unready, err)
		}
		if err != nil {
			seen = append(seen, err.Error())
		}
	}
	return unready, degraded
}

// ReadyHandler answers readiness probes (a load balancer's, Kubernetes'
// readinessProbe): 200 {"ready":true} when Ready reports nil, otherwise 503
// {"ready":false,"missing":[...]} with Retry-After (Upstream.RetryAfter),
// one line per part that is not ready;
// parts only degraded are listed under "degraded", on either answer. A
// probe waits at most 2 s, or its request's deadline. Liveness is another
// question, which this does not answer: a process that can answer at all
// is alive, and restarting it would not bring Stytch back.
func (m *Middleware) ReadyHandler(also ...Readier) http.Handler {
	also = slices.Clone(also)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), readyWait)
		defer cancel()
		unready, degraded := m.readiness(ctx, also)
		out := readiness{Ready: len(unready) == 0, Missing: texts(unready), Degraded: texts(degraded)}
		status := http.StatusOK
		if !out.Ready {
			status = http.StatusServiceUnavailable
			w.Header().Set("Retry-After", strconv.Itoa(int(m.cfg.Upstream.RetryAfter.Seconds())))
		}
		writeJSON(w, status, out)
	})
}

// readiness is ReadyHandler's answer.
type readiness struct {
	Ready    bool     `json:"ready"`
	Missing  []string `json:"missing,omitempty"`
	Degraded []string `json:"degraded,omitempty"`
}

func texts(errs []error) []string {
	var out []string
	for _, e := range errs {
		out = append(out, e.Error())
	}
	return out
}
