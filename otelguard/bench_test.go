package otelguard_test

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"

	"github.com/stytchguard/stytchguard/middleware"
	"github.com/stytchguard/stytchguard/otelguard"
	"github.com/stytchguard/stytchguard/stytchtest"
)

// BenchmarkCached measures a request whose JWT the middleware has seen
// before: without instrumentation (plain), with otelguard's hooks on the
// SDK's meter provider and a request span that is not sampled (the usual
// production case: metrics always, a sample of traces), and with a sampled
// request span, whose decision span the SDK then records (sampled). The
// target is instrumented ÷ plain under 1.3×.
func BenchmarkCached(b *testing.B) {
	srv := stytchtest.NewServer(stytchtest.WithFrozenClock(time.Now()))
	defer srv.Close()
	u := srv.CreateUser(stytchtest.UserParams{})
	tok, err := srv.StartSession(u.UserID, stytchtest.SessionParams{})
	if err != nil {
		b.Fatal(err)
	}
	tp := sdktrace.NewTracerProvider(sdktrace.WithSampler(sdktrace.ParentBased(sdktrace.AlwaysSample())))
	defer func() { _ = tp.Shutdown(context.Background()) }()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewManualReader()))
	tel, err := otelguard.New(otelguard.Config{TracerProvider: tp, MeterProvider: mp})
	if err != nil {
		b.Fatal(err)
	}
	build := func(h middleware.Hooks) http.Handler {
		mw, err := middleware.New(middleware.Config{Client: srv.Client(), Now: srv.Now, Hooks: h, Logger: slog.New(slog.DiscardHandler)})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(mw.Close)
		return mw.Require(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) }))
	}
	plain, instrumented := build(middleware.Hooks{}), build(tel.Hooks(middleware.Hooks{}))
	unsampled := trace.ContextWithSpanContext(context.Background(), trace.NewSpanContext(trace.SpanContextConfig{
		TraceID: trace.TraceID{1}, SpanID: trace.SpanID{1}}))
	sampled, span := tp.Tracer("bench").Start(context.Background(), "GET /me")
	defer span.End()
	for _, bb := range []struct {
		name string
		h    http.Handler
		ctx  context.Context
	}{
		{"plain", plain, unsampled},
		{"instrumented", instrumented, unsampled},
		{"sampled", instrumented, sampled},
	} {
		b.Run(bb.name, func(b *testing.B) {
			req := httptest.NewRequest("GET", "/me", nil).WithContext(bb.ctx)
			req.Header.Set("Authorization", "Bearer "+tok.SessionJWT)
			w := httptest.NewRecorder()
			bb.h.ServeHTTP(w, req)
			if w.Code != http.StatusNoContent {
				b.Fatal(w.Code)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				bb.h.ServeHTTP(w, req)
			}
		})
	}
}
