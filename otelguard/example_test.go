package otelguard_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/stytchguard/stytchguard/middleware"
	"github.com/stytchguard/stytchguard/otelguard"
	"github.com/stytchguard/stytchguard/session"
	"github.com/stytchguard/stytchguard/stytchtest"
)

// Wiring: the transport goes to the Stytch client, the hooks to the
// middleware. Here the meter provider is the SDK's with a manual reader;
// an app gives the Prometheus exporter's, or leaves both providers nil for
// the global ones.
func Example() {
	srv := stytchtest.NewServer() // Stytch's emulator: session.New(session.Config{...}) in an app
	defer srv.Close()
	reader := sdkmetric.NewManualReader()
	tel, _ := otelguard.New(otelguard.Config{MeterProvider: sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))})
	cfg := srv.Config()
	cfg.HTTPClient = &http.Client{Transport: tel.Transport(nil)}
	client, _ := session.New(cfg)
	mw, _ := middleware.New(middleware.Config{Client: client, Hooks: tel.Hooks(middleware.Hooks{})})
	defer mw.Close()
	h := mw.Require(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))

	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/", nil)) // no credential: refused
	var rm metricdata.ResourceMetrics
	_ = reader.Collect(context.Background(), &rm)
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			if m.Name != "stytchguard.decisions" {
				continue
			}
			for _, dp := range m.Data.(metricdata.Sum[int64]).DataPoints {
				if dp.Value > 0 {
					code, _ := dp.Attributes.Value("stytchguard.code")
					fmt.Println(m.Name, code.String(), dp.Value)
				}
			}
		}
	}
	// Output:
	// stytchguard.decisions unauthenticated 1
}
