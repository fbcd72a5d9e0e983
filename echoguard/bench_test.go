package echoguard_test

import (
	"net/http"
	"testing"

	"github.com/labstack/echo/v4"

	"github.com/stytchguard/stytchguard/echoguard"
	"github.com/stytchguard/stytchguard/internal/adaptertest"
)

// BenchmarkCached measures a request whose JWT the middleware has seen
// before, three ways on the same Echo handler: Echo alone (bare, no
// authentication), Echo behind the net/http middleware (nethttp), and the
// middleware inside Echo through echoguard (echoguard). echoguard ÷
// nethttp is what the adapter costs; the target is 1.1× at most. Echo v4
// applies route middleware per request (a closure each), which
// nethttp+noop measures with a middleware that does nothing; and
// echo.WrapMiddleware is Echo's own bridge for net/http middleware.
func BenchmarkCached(b *testing.B) {
	f := adaptertest.New(b)
	me := func(c echo.Context) error {
		if u, ok := echoguard.Consumer(c); ok {
			return c.String(http.StatusOK, u.Session.UserID)
		}
		return c.String(http.StatusOK, "anonymous")
	}
	bare := echo.New()
	bare.GET("/me", me)
	// noop is bare with a route middleware that does nothing: what any
	// route middleware costs in Echo v4, which applies them per request.
	noop := echo.New()
	noop.GET("/me", me, func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error { return next(c) }
	})
	guarded := echo.New()
	guarded.GET("/me", me, echoguard.Wrap(f.Consumer.Require))
	registered := echo.New()
	registered.GET("/me", echoguard.Guard(me, f.Consumer.Require))
	// bridged is Echo's own bridge for net/http middleware, for comparison.
	bridged := echo.New()
	bridged.GET("/me", me, echo.WrapMiddleware(f.Consumer.Require))
	for _, bb := range []struct {
		name string
		h    http.Handler
	}{
		{"bare", bare},
		{"nethttp", f.Consumer.Require(bare)},
		{"nethttp+noop", f.Consumer.Require(noop)},
		{"echoguard", guarded},
		{"echoguard.Guard", registered},
		{"echo.WrapMiddleware", bridged},
	} {
		b.Run(bb.name, func(b *testing.B) { f.Bench(b, bb.h, "/me") })
	}
}
