package demo

import (
	"context"
	"errors"
	"io"
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	otelprom "go.opentelemetry.io/otel/exporters/prometheus"
	"go.opentelemetry.io/otel/exporters/stdout/stdouttrace"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"

	"github.com/stytchguard/stytchguard/otelguard"
)

// Telemetry is the demos' OpenTelemetry: metrics for Prometheus at
// /metrics, and traces printed as JSON when asked.
type Telemetry struct {
	// Guard makes the middleware's hooks and the Stytch client's transport.
	Guard *otelguard.Telemetry
	// Metrics serves the Prometheus exposition format.
	Metrics http.Handler
	// HTTPClient is the Stytch client's, with Guard's transport.
	HTTPClient *http.Client
	tp         trace.TracerProvider
	shutdown   []func(context.Context) error
}

// NewTelemetry sets up the meter provider with OpenTelemetry's Prometheus
// exporter and, when traces is not nil, a tracer provider that writes every
// span to it.
func NewTelemetry(traces io.Writer) (*Telemetry, error) {
	reg := prometheus.NewRegistry()
	exp, err := otelprom.New(otelprom.WithRegisterer(reg))
	if err != nil {
		return nil, err
	}
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(exp))
	t := &Telemetry{Metrics: promhttp.HandlerFor(reg, promhttp.HandlerOpts{}), tp: noop.NewTracerProvider(), shutdown: []func(context.Context) error{mp.Shutdown}}
	if traces != nil {
		out, err := stdouttrace.New(stdouttrace.WithWriter(traces))
		if err != nil {
			return nil, err
		}
		tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(out))
		t.tp = tp
		t.shutdown = append(t.shutdown, tp.Shutdown)
	}
	if t.Guard, err = otelguard.New(otelguard.Config{TracerProvider: t.tp, MeterProvider: mp}); err != nil {
		return nil, err
	}
	t.HTTPClient = &http.Client{Transport: t.Guard.Transport(nil)}
	return t, nil
}

// Handler wraps the app's handler in a server span per request, the
// parent of the middleware's decision span.
func (t *Telemetry) Handler(h http.Handler) http.Handler {
	return otelhttp.NewHandler(h, "http.server", otelhttp.WithTracerProvider(t.tp),
		otelhttp.WithSpanNameFormatter(func(_ string, r *http.Request) string { return r.Method + " " + r.URL.Path }))
}

// Close flushes and stops the providers.
func (t *Telemetry) Close(ctx context.Context) error {
	var errs []error
	for _, f := range t.shutdown {
		errs = append(errs, f(ctx))
	}
	return errors.Join(errs...)
}
