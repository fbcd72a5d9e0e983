package ginguard_test

import (
	"net/http"
	"testing"

	"github.com/gin-gonic/gin"

	"github.com/stytchguard/stytchguard/ginguard"
	"github.com/stytchguard/stytchguard/internal/adaptertest"
)

// TestStory mounts the story's routes in gin, each guard through Wrap and
// each handler through gin.WrapH, and has it answered as net/http answers
// it: no credential, cookie, Bearer, revoked, outage, wrong organization,
// missing permission, a machine on a person's route, step-up, cross-origin,
// logout clearing cookies, a webhook.
func TestStory(t *testing.T) {
	gin.SetMode(gin.TestMode)
	f := adaptertest.New(t)
	r := gin.New()
	who := func(c *gin.Context) {
		consumer, _ := ginguard.Consumer(c)
		member, _ := ginguard.Member(c)
		machine, _ := ginguard.Machine(c)
		c.String(http.StatusOK, adaptertest.Who(consumer, member, machine))
	}
	for _, route := range f.Routes() {
		if route.Handler != nil {
			r.Handle(route.Method, route.Path, gin.WrapH(route.Handler))
			continue
		}
		var chain []gin.HandlerFunc
		for _, g := range route.Guards {
			chain = append(chain, ginguard.Wrap(g))
		}
		r.Handle(route.Method, route.Path, append(chain, who)...)
	}
	f.Run(t, r)
}

// TestRefusalAbortsTheChain checks that gin's later handlers do not run
// after a refusal, and that a gin middleware after the guard sees the
// session.
func TestRefusalAbortsTheChain(t *testing.T) {
	gin.SetMode(gin.TestMode)
	f := adaptertest.New(t)
	var reached, sawSession int
	r := gin.New()
	r.Use(ginguard.Wrap(f.Consumer.Require), func(c *gin.Context) {
		reached++
		if _, ok := ginguard.Consumer(c); ok {
			sawSession++
		}
		c.Next()
	})
	r.GET("/x", func(c *gin.Context) { c.Status(http.StatusNoContent) })
	tests := []struct {
		name   string
		bearer string
		want   int
	}{
		{"refused", "", http.StatusUnauthorized},
		{"let through", f.Token(t), http.StatusNoContent},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reached, sawSession = 0, 0
			rec := f.Serve(r, "GET", "/x", tt.bearer)
			if rec.Code != tt.want {
				t.Fatalf("%d %s, want %d", rec.Code, rec.Body, tt.want)
			}
			if wantReached := tt.want < 400; (reached == 1) != wantReached || sawSession != reached {
				t.Fatalf("later middleware ran %d times, saw the session %d times", reached, sawSession)
			}
		})
	}
}
