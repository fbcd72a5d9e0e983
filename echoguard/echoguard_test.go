package echoguard_test

import (
	"net/http"
	"testing"

	"github.com/labstack/echo/v4"

	"github.com/stytchguard/stytchguard/echoguard"
	"github.com/stytchguard/stytchguard/internal/adaptertest"
)

// TestStory mounts the story's routes in Echo, each handler through
// echo.WrapHandler and the guards of each route either way: each through
// Wrap as route middleware, or all of them at once through Guard. Either
// way Echo answers the story as net/http answers it: no credential, cookie,
// Bearer, revoked, outage, wrong organization, missing permission, a
// machine on a person's route, step-up, cross-origin, logout clearing
// cookies, a webhook.
func TestStory(t *testing.T) {
	who := func(c echo.Context) error {
		consumer, _ := echoguard.Consumer(c)
		member, _ := echoguard.Member(c)
		machine, _ := echoguard.Machine(c)
		return c.String(http.StatusOK, adaptertest.Who(consumer, member, machine))
	}
	mounts := []struct {
		name  string
		mount func(e *echo.Echo, method, path string, guards []func(http.Handler) http.Handler)
	}{
		{"Wrap", func(e *echo.Echo, method, path string, guards []func(http.Handler) http.Handler) {
			var chain []echo.MiddlewareFunc
			for _, g := range guards {
				chain = append(chain, echoguard.Wrap(g))
			}
			e.Add(method, path, who, chain...)
		}},
		{"Guard", func(e *echo.Echo, method, path string, guards []func(http.Handler) http.Handler) {
			e.Add(method, path, echoguard.Guard(who, guards...))
		}},
	}
	for _, m := range mounts {
		t.Run(m.name, func(t *testing.T) {
			f := adaptertest.New(t)
			e := echo.New()
			for _, route := range f.Routes() {
				if route.Handler != nil {
					e.Add(route.Method, route.Path, echo.WrapHandler(route.Handler))
					continue
				}
				m.mount(e, route.Method, route.Path, route.Guards)
			}
			f.Run(t, e)
		})
	}
}

// TestRefusalStopsTheChain checks that the next handler does not run after
// a refusal, that an Echo middleware after the guard sees the session, and
// that the handler's error comes back to Echo.
func TestRefusalStopsTheChain(t *testing.T) {
	f := adaptertest.New(t)
	var reached, sawSession int
	e := echo.New()
	e.Use(echoguard.Wrap(f.Consumer.Require), func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			reached++
			if _, ok := echoguard.Consumer(c); ok {
				sawSession++
			}
			return next(c)
		}
	})
	e.GET("/x", func(c echo.Context) error { return c.NoContent(http.StatusNoContent) })
	e.GET("/teapot", func(c echo.Context) error { return echo.NewHTTPError(http.StatusTeapot, "short and stout") })
	tests := []struct {
		name, path, bearer string
		want               int
	}{
		{"refused", "/x", "", http.StatusUnauthorized},
		{"let through", "/x", f.Token(t), http.StatusNoContent},
		{"handler's error", "/teapot", f.Token(t), http.StatusTeapot},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reached, sawSession = 0, 0
			rec := f.Serve(e, "GET", tt.path, tt.bearer)
			if rec.Code != tt.want {
				t.Fatalf("%d %s, want %d", rec.Code, rec.Body, tt.want)
			}
			if wantReached := tt.want != http.StatusUnauthorized; (reached == 1) != wantReached || sawSession != reached {
				t.Fatalf("later middleware ran %d times, saw the session %d times", reached, sawSession)
			}
		})
	}
}
