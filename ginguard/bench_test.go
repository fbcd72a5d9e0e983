package ginguard_test

import (
	"net/http"
	"testing"

	"github.com/gin-gonic/gin"

	"github.com/stytchguard/stytchguard/ginguard"
	"github.com/stytchguard/stytchguard/internal/adaptertest"
)

// BenchmarkCached measures a request whose JWT the middleware has seen
// before, three ways on the same gin handler: gin alone (bare, no
// authentication), gin behind the net/http middleware (nethttp), and the
// middleware inside gin through ginguard (ginguard). ginguard ÷ nethttp
// is what the adapter costs; the target is 1.1× at most.
func BenchmarkCached(b *testing.B) {
	gin.SetMode(gin.ReleaseMode)
	f := adaptertest.New(b)
	me := func(c *gin.Context) {
		if u, ok := ginguard.Consumer(c); ok {
			c.String(http.StatusOK, u.Session.UserID)
			return
		}
		c.String(http.StatusOK, "anonymous")
	}
	bare := gin.New()
	bare.GET("/me", me)
	guarded := gin.New()
	guarded.GET("/me", ginguard.Wrap(f.Consumer.Require), me)
	for _, bb := range []struct {
		name string
		h    http.Handler
	}{
		{"bare", bare},
		{"nethttp", f.Consumer.Require(bare)},
		{"ginguard", guarded},
	} {
		b.Run(bb.name, func(b *testing.B) { f.Bench(b, bb.h, "/me") })
	}
}
