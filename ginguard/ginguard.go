package ginguard

import (
	"net/http"
	"sync"

	"github.com/gin-gonic/gin"

	"github.com/stytchguard/stytchguard"
)

// Wrap returns guard, one of the library's net/http middlewares or guards
// (mw.Authenticate, mw.Require, mw.RequireMachine(...), mw.RequireFactor(...),
// rbac.Require(...), authz.RequireOrganization(...), ...), as gin middleware.
// The guard decides, as it does in net/http: when it lets the request
// through, the rest of the gin chain runs with the request it passed on
// (c.Request, whose context holds the session); when it refuses, it has
// answered through the middleware's ErrorHandler and the chain is aborted.
//
// A middleware of the app's own may go through Wrap too, as long as the
// http.ResponseWriter it hands on is the one it got or unwraps to it
// (an Unwrap method, as http.ResponseController expects).
func Wrap(guard func(http.Handler) http.Handler) gin.HandlerFunc {
	h := guard(http.HandlerFunc(proceed))
	// The writers are reused: net/http's contract is that a ResponseWriter
	// is not used once ServeHTTP has returned.
	writers := sync.Pool{New: func() any { return new(writer) }}
	return func(c *gin.Context) {
		copyParams(c)
		w := writers.Get().(*writer)
		*w = writer{ResponseWriter: c.Writer, c: c}
		h.ServeHTTP(w, c.Request)
		if !w.proceeded {
			c.Abort()
		}
		*w = writer{}
		writers.Put(w)
	}
}

// writer carries the gin context through the net/http guard, to proceed.
// The guard writes its refusals and refreshed cookies through it, that is
// to c.Writer.
type writer struct {
	gin.ResponseWriter
	c         *gin.Context
	proceeded bool
}

// Unwrap returns gin's writer, for http.ResponseController.
func (w *writer) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// proceed is the guard's next handler: it runs the rest of the gin chain
// with the request the guard passed on.
func proceed(w http.ResponseWriter, r *http.Request) {
	gw := writerOf(w)
	gw.proceeded = true
	gw.c.Request = r
	gw.c.Next()
}

// writerOf finds Wrap's writer under w.
func writerOf(w http.ResponseWriter) *writer {
	for {
		switch x := w.(type) {
		case *writer:
			return x
		case interface{ Unwrap() http.ResponseWriter }:
			w = x.Unwrap()
		default:
			panic("ginguard: a middleware passed on an http.ResponseWriter that does not unwrap to the one Wrap gave it")
		}
	}
}

// copyParams copies gin's path parameters to the request's path values,
// where authz.PathValue and r.PathValue read them.
func copyParams(c *gin.Context) {
	for _, p := range c.Params {
		if c.Request.PathValue(p.Key) != p.Value {
			c.Request.SetPathValue(p.Key, p.Value)
		}
	}
}

// Consumer returns the consumer session a guard put in the request's
// context (stytchguard.ConsumerFromContext).
func Consumer(c *gin.Context) (*stytchguard.ConsumerAuth, bool) {
	return stytchguard.ConsumerFromContext(c.Request.Context())
}

// Member returns the B2B member session a guard put in the request's
// context (stytchguard.MemberFromContext).
func Member(c *gin.Context) (*stytchguard.MemberAuth, bool) {
	return stytchguard.MemberFromContext(c.Request.Context())
}

// Machine returns the M2M access token a guard put in the request's context
// (stytchguard.MachineFromContext).
func Machine(c *gin.Context) (*stytchguard.MachineAuth, bool) {
	return stytchguard.MachineFromContext(c.Request.Context())
}
