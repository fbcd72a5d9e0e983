package echoguard

import (
	"net/http"
	"sync"

	"github.com/labstack/echo/v4"

	"github.com/stytchguard/stytchguard"
)

// Wrap returns guard, one of the library's net/http middlewares or guards
// (mw.Authenticate, mw.Require, mw.RequireMachine(...), mw.RequireFactor(...),
// rbac.Require(...), authz.RequireOrganization(...), ...), as Echo
// middleware. The guard decides, as it does in net/http: when it lets the
// request through, the next handler runs with the request it passed on
// (c.Request(), whose context holds the session) and Wrap returns that
// handler's error; when it refuses, it has answered through the
// middleware's ErrorHandler and Wrap returns nil.
//
// A middleware of the app's own may go through Wrap too, as long as the
// http.ResponseWriter it hands on is the one it got or unwraps to it
// (an Unwrap method, as http.ResponseController expects).
func Wrap(guard func(http.Handler) http.Handler) echo.MiddlewareFunc {
	g := newGuarded(guard)
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error { return g.serve(c, next) }
	}
}

// Guard returns h behind guards, outermost first, composed once, when the
// route is registered:
//
//	e.POST("/documents", echoguard.Guard(write, mw.Require, rbac.Require("documents", "write")))
//
// It decides as Wrap does, guard by guard. It is the cheaper of the two on a
// busy route: Echo v4 applies route, group and Use middleware anew for each
// request (a closure per middleware, per request), while Guard's chain is
// built once, and a request through all of its guards takes one step into
// net/http and back, not one per guard.
func Guard(h echo.HandlerFunc, guards ...func(http.Handler) http.Handler) echo.HandlerFunc {
	g := newGuarded(guards...)
	return func(c echo.Context) error { return g.serve(c, h) }
}

// guarded is a chain of net/http guards ending in proceed, with the writers
// that carry Echo's context through it.
type guarded struct {
	h http.Handler
	// writers are reused: net/http's contract is that a ResponseWriter is
	// not used once ServeHTTP has returned.
	writers sync.Pool
}

func newGuarded(guards ...func(http.Handler) http.Handler) *guarded {
	var h http.Handler = http.HandlerFunc(proceed)
	for i := len(guards) - 1; i >= 0; i-- {
		h = guards[i](h)
	}
	return &guarded{h: h, writers: sync.Pool{New: func() any { return new(writer) }}}
}

// serve runs c's request through the chain; next runs if every guard lets
// it through.
func (g *guarded) serve(c echo.Context, next echo.HandlerFunc) error {
	copyParams(c)
	w := g.writers.Get().(*writer)
	*w = writer{ResponseWriter: c.Response(), c: c, next: next}
	g.h.ServeHTTP(w, c.Request())
	err := w.err
	*w = writer{}
	g.writers.Put(w)
	return err
}

// writer carries the Echo context and the next handler through the net/http
// guard, to proceed. The guard writes its refusals and refreshed cookies
// through it, that is to c.Response().
type writer struct {
	http.ResponseWriter
	c    echo.Context
	next echo.HandlerFunc
	err  error
}

// Unwrap returns Echo's writer, for http.ResponseController.
func (w *writer) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// proceed is the guard's next handler: it runs Echo's next handler with the
// request the guard passed on.
func proceed(w http.ResponseWriter, r *http.Request) {
	ew := writerOf(w)
	ew.c.SetRequest(r)
	ew.err = ew.next(ew.c)
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
			panic("echoguard: a middleware passed on an http.ResponseWriter that does not unwrap to the one Wrap gave it")
		}
	}
}

// copyParams copies Echo's path parameters to the request's path values,
// where authz.PathValue and r.PathValue read them.
func copyParams(c echo.Context) {
	names := c.ParamNames()
	if len(names) == 0 {
		return
	}
	r := c.Request()
	values := c.ParamValues()
	for i, name := range names {
		if i < len(values) && r.PathValue(name) != values[i] {
			r.SetPathValue(name, values[i])
		}
	}
}

// Consumer returns the consumer session a guard put in the request's
// context (stytchguard.ConsumerFromContext).
func Consumer(c echo.Context) (*stytchguard.ConsumerAuth, bool) {
	return stytchguard.ConsumerFromContext(c.Request().Context())
}

// Member returns the B2B member session a guard put in the request's
// context (stytchguard.MemberFromContext).
func Member(c echo.Context) (*stytchguard.MemberAuth, bool) {
	return stytchguard.MemberFromContext(c.Request().Context())
}

// Machine returns the M2M access token a guard put in the request's context
// (stytchguard.MachineFromContext).
func Machine(c echo.Context) (*stytchguard.MachineAuth, bool) {
	return stytchguard.MachineFromContext(c.Request().Context())
}
