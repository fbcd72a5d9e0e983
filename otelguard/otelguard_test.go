package otelguard_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/stytchguard/stytchguard/authz"
	"github.com/stytchguard/stytchguard/middleware"
	"github.com/stytchguard/stytchguard/otelguard"
	"github.com/stytchguard/stytchguard/session"
	"github.com/stytchguard/stytchguard/stytchtest"
)

// rig is an emulator, a middleware instrumented by otelguard, and the
// SDK's in-memory span recorder and manual metric reader.
type rig struct {
	srv    *stytchtest.Server
	h      http.Handler
	spans  *tracetest.SpanRecorder
	reader *sdkmetric.ManualReader
	tp     *sdktrace.TracerProvider
	mw     *middleware.Middleware
	tel    *otelguard.Telemetry
	client *session.Client
}

func newRig(t *testing.T, up middleware.Upstream) *rig {
	t.Helper()
	r := &rig{srv: stytchtest.NewServer(stytchtest.WithFrozenClock(time.Now())), spans: tracetest.NewSpanRecorder(), reader: sdkmetric.NewManualReader()}
	t.Cleanup(r.srv.Close)
	r.tp = sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(r.spans))
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(r.reader))
	tel, err := otelguard.New(otelguard.Config{TracerProvider: r.tp, MeterProvider: mp, Subjects: true})
	if err != nil {
		t.Fatal(err)
	}
	cfg := r.srv.Config()
	cfg.Retry = &session.RetryPolicy{MaxAttempts: 1}
	cfg.HTTPClient = &http.Client{Transport: tel.Transport(nil)}
	client, err := session.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	mw, err := middleware.New(middleware.Config{Client: client, Now: r.srv.Now, Upstream: up, Hooks: tel.Hooks(middleware.Hooks{}), Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(mw.Close)
	r.mw, r.tel, r.client = mw, tel, client
	r.h = mw.Require(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) }))
	return r
}

// serve sends one request with bearer, inside a request span (as
// otelhttp's server handler would start), and returns its status.
func (r *rig) serve(bearer string) int {
	ctx, span := r.tp.Tracer("test").Start(context.Background(), "GET /me")
	defer span.End()
	req := httptest.NewRequest("GET", "/me", nil).WithContext(ctx)
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	rec := httptest.NewRecorder()
	r.h.ServeHTTP(rec, req)
	return rec.Code
}

// decisions returns the stytchguard.authenticate spans' attributes, in
// order, as "outcome/source/code", and checks each is a child of its
// request's span.
func (r *rig) decisions(t *testing.T) []string {
	t.Helper()
	var out []string
	byID := map[string]sdktrace.ReadOnlySpan{}
	for _, s := range r.spans.Ended() {
		byID[s.SpanContext().SpanID().String()] = s
	}
	for _, s := range r.spans.Ended() {
		if s.Name() != "stytchguard.authenticate" {
			continue
		}
		if p, ok := byID[s.Parent().SpanID().String()]; !ok || p.Name() != "GET /me" {
			t.Fatalf("decision span's parent is not the request's: %v", s.Parent())
		}
		a := attrs(s.Attributes())
		out = append(out, a["stytchguard.outcome"]+"/"+a["stytchguard.source"]+"/"+a["stytchguard.code"])
	}
	return out
}

func attrs(kvs []attribute.KeyValue) map[string]string {
	m := map[string]string{}
	for _, kv := range kvs {
		m[string(kv.Key)] = kv.Value.String()
	}
	return m
}

// counts returns a metric's sum by its attributes, "k=v,k=v".
func (r *rig) counts(t *testing.T, name string) map[string]int64 {
	t.Helper()
	var rm metricdata.ResourceMetrics
	if err := r.reader.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	out := map[string]int64{}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			if m.Name != name {
				continue
			}
			sum, ok := m.Data.(metricdata.Sum[int64])
			if !ok {
				t.Fatalf("%s is %T", name, m.Data)
			}
			for _, dp := range sum.DataPoints {
				var parts []string
				for _, kv := range dp.Attributes.ToSlice() {
					parts = append(parts, string(kv.Key)+"="+kv.Value.String())
				}
				out[strings.Join(parts, ",")] += dp.Value
			}
		}
	}
	return out
}

func TestDecisionsAreTracedAndCounted(t *testing.T) {
	r := newRig(t, middleware.Upstream{})
	u := r.srv.CreateUser(stytchtest.UserParams{Email: "a@example.com"})
	tok, err := r.srv.StartSession(u.UserID, stytchtest.SessionParams{})
	if err != nil {
		t.Fatal(err)
	}
	down, _ := r.srv.StartSession(u.UserID, stytchtest.SessionParams{})
	steps := []struct {
		name, bearer string
		fault        bool
		want         int
		decision     string
	}{
		{"local hit", tok.SessionJWT, false, 204, "authenticated/local/"},
		{"remote answer", tok.SessionToken, false, 204, "authenticated/remote/"},
		{"cached answer", tok.SessionToken, false, 204, "authenticated/cached/"},
		{"refusal with reason", "not.a.jwt", false, 401, "refused//invalid_token"},
		{"no credential", "", false, 401, "refused//unauthenticated"},
		{"a Stytch error", down.SessionToken, true, 503, "refused//stytch_unavailable"},
	}
	var want []string
	for _, s := range steps {
		if s.fault {
			r.srv.InjectFault(stytchtest.Authenticate, stytchtest.Fault{Status: 503})
		}
		if got := r.serve(s.bearer); got != s.want {
			t.Fatalf("%s: %d, want %d", s.name, got, s.want)
		}
		r.srv.ClearFaults()
		want = append(want, s.decision)
	}
	if got := r.decisions(t); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("decision spans:\n got %q\nwant %q", got, want)
	}
	decisions := r.counts(t, "stytchguard.decisions")
	for k, n := range map[string]int64{
		"stytchguard.outcome=authenticated,stytchguard.source=local":      1,
		"stytchguard.outcome=authenticated,stytchguard.source=remote":     1,
		"stytchguard.outcome=authenticated,stytchguard.source=cached":     1,
		"stytchguard.code=invalid_token,stytchguard.outcome=refused":      1,
		"stytchguard.code=stytch_unavailable,stytchguard.outcome=refused": 1,
		"stytchguard.code=unauthenticated,stytchguard.outcome=refused":    1,
	} {
		if decisions[k] != n {
			t.Errorf("stytchguard.decisions{%s} = %d, want %d (all: %v)", k, decisions[k], n, decisions)
		}
	}
	if calls := r.counts(t, "stytchguard.stytch.calls"); calls["error.type=none"] != 1 || calls["error.type=unavailable"] != 1 {
		t.Errorf("stytchguard.stytch.calls = %v", calls)
	}
	// The calls to Stytch are client spans, the authenticate ones children
	// of their request's span, with the HTTP status.
	var statuses []string
	for _, s := range r.spans.Ended() {
		if strings.HasPrefix(s.Name(), "stytch POST /v1/sessions/authenticate") {
			statuses = append(statuses, attrs(s.Attributes())["http.response.status_code"])
			if !s.Parent().IsValid() {
				t.Errorf("a call to Stytch outside its request's trace")
			}
		}
	}
	if fmt.Sprint(statuses) != "[200 503]" {
		t.Errorf("authenticate client spans' statuses: %v", statuses)
	}
	r.noSecrets(t, tok.SessionJWT, tok.SessionToken, down.SessionToken)
}

func TestShedIsAnErrorSpan(t *testing.T) {
	tests := []struct {
		name   string
		up     middleware.Upstream
		fault  bool
		reason string
	}{
		{"budget", middleware.Upstream{Rate: 0.001, Burst: 1}, false, "budget"},
		{"breaker open", middleware.Upstream{BreakerFailures: 1, BreakerCooldown: time.Hour}, true, "circuit_open"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRig(t, tt.up)
			u := r.srv.CreateUser(stytchtest.UserParams{})
			if tt.fault {
				r.srv.InjectFault(stytchtest.Authenticate, stytchtest.Fault{Status: 503})
			}
			var tokens []string
			for range 2 {
				tok, _ := r.srv.StartSession(u.UserID, stytchtest.SessionParams{})
				tokens = append(tokens, tok.SessionToken)
				if got := r.serve(tok.SessionToken); got != 503 && got != 204 {
					t.Fatalf("%d", got)
				}
			}
			got := r.decisions(t)
			if len(got) != 2 || got[1] != "shed//"+tt.reason {
				t.Fatalf("decisions %q, want the second shed for %s", got, tt.reason)
			}
			for _, s := range r.spans.Ended() {
				if s.Name() == "stytchguard.authenticate" && attrs(s.Attributes())["stytchguard.outcome"] == "shed" && s.Status().Code.String() != "Error" {
					t.Fatalf("a shed decision's span status is %v", s.Status())
				}
			}
			if n := r.counts(t, "stytchguard.shed")["stytchguard.reason="+tt.reason]; n != 1 {
				t.Fatalf("stytchguard.shed{%s} = %d", tt.reason, n)
			}
			r.noSecrets(t, tokens...)
		})
	}
}

// noSecrets greps every attribute of every span and every metric data
// point for the credentials the test used.
func (r *rig) noSecrets(t *testing.T, secrets ...string) {
	t.Helper()
	var all []string
	for _, s := range r.spans.Ended() {
		all = append(all, s.Name(), s.Status().Description)
		for _, kv := range s.Attributes() {
			all = append(all, kv.Value.String())
		}
		for _, e := range s.Events() {
			for _, kv := range e.Attributes {
				all = append(all, kv.Value.String())
			}
		}
	}
	var rm metricdata.ResourceMetrics
	if err := r.reader.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	all = append(all, fmt.Sprintf("%+v", rm))
	for _, a := range all {
		for _, s := range append(secrets, r.srv.Secret()) {
			if s != "" && strings.Contains(a, s) {
				t.Fatalf("a credential in the telemetry: %q", a)
			}
		}
	}
}

// gauges returns each gauge's (or up-down counter's) last value by name.
func (r *rig) gauges(t *testing.T) map[string]float64 {
	t.Helper()
	var rm metricdata.ResourceMetrics
	if err := r.reader.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			switch d := m.Data.(type) {
			case metricdata.Gauge[int64]:
				for _, dp := range d.DataPoints {
					out[m.Name] = float64(dp.Value)
				}
			case metricdata.Gauge[float64]:
				for _, dp := range d.DataPoints {
					out[m.Name] = dp.Value
				}
			case metricdata.Sum[int64]:
				if !d.IsMonotonic {
					for _, dp := range d.DataPoints {
						out[m.Name] = float64(dp.Value)
					}
				}
			}
		}
	}
	return out
}

// TestGauges: the breaker's state, the budget, the token cache, and the
// ages of the key set and the policy, read at collection.
func TestGauges(t *testing.T) {
	r := newRig(t, middleware.Upstream{BreakerFailures: 1, BreakerCooldown: time.Hour, Rate: 1, Burst: 10})
	rbac, err := authz.New(authz.Config{Client: r.client, Now: r.srv.Now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(rbac.Close)
	if err := r.tel.Observe(r.mw, rbac); err != nil {
		t.Fatal(err)
	}
	g := r.gauges(t)
	if g["stytchguard.breaker.open"] != 0 || g["stytchguard.budget.available"] != 10 || g["stytchguard.cache.tokens"] != 0 {
		t.Fatalf("at start: %v", g)
	}
	if _, ok := g["stytchguard.policy.age"]; ok {
		t.Fatalf("a policy age before any policy: %v", g)
	}
	if _, ok := g["stytchguard.jwks.age"]; !ok {
		t.Fatalf("no key set age once the key set is held: %v", g)
	}
	r.srv.Advance(30 * time.Second) // the ages are read on the middleware's clock
	if age := r.gauges(t)["stytchguard.jwks.age"] - g["stytchguard.jwks.age"]; age != 30 {
		t.Fatalf("the key set aged %vs over 30 s of the middleware's clock", age)
	}
	u := r.srv.CreateUser(stytchtest.UserParams{})
	tok, _ := r.srv.StartSession(u.UserID, stytchtest.SessionParams{})
	if got := r.serve(tok.SessionJWT); got != 204 {
		t.Fatal(got)
	}
	if err := rbac.Ready(context.Background()); err != nil {
		t.Fatal(err)
	}
	r.srv.InjectFault(stytchtest.Authenticate, stytchtest.Fault{Status: 503})
	if got := r.serve(tok.SessionToken); got != 503 {
		t.Fatal(got)
	}
	g = r.gauges(t)
	if g["stytchguard.breaker.open"] != 1 || g["stytchguard.budget.available"] >= 10 || g["stytchguard.cache.tokens"] != 1 || g["stytchguard.stytch.in_flight"] != 0 {
		t.Fatalf("after a cached JWT and a failed call: %v", g)
	}
	if _, ok := g["stytchguard.policy.age"]; !ok {
		t.Fatalf("no policy age once the policy is held: %v", g)
	}
}

// TestRevocationsAndMarks: a logout and a webhook's change are counted,
// and the remote cache's size is a gauge.
func TestRevocationsAndMarks(t *testing.T) {
	const secret = "whsec_c3R5dGNoZ3VhcmQtb3RlbC10ZXN0LXNlY3JldA=="
	r := newRig(t, middleware.Upstream{})
	if err := r.tel.Observe(r.mw); err != nil {
		t.Fatal(err)
	}
	hook, err := r.mw.WebhookHandler(secret)
	if err != nil {
		t.Fatal(err)
	}
	hooks := httptest.NewServer(hook)
	t.Cleanup(hooks.Close)
	u := r.srv.CreateUser(stytchtest.UserParams{})
	tok, _ := r.srv.StartSession(u.UserID, stytchtest.SessionParams{})
	if got := r.serve(tok.SessionToken); got != 204 { // Stytch's answer, now cached
		t.Fatal(got)
	}
	if n := r.gauges(t)["stytchguard.cache.answers"]; n != 1 {
		t.Fatalf("stytchguard.cache.answers = %v", n)
	}
	req := httptest.NewRequest("POST", "/logout", nil)
	req.Header.Set("Authorization", "Bearer "+tok.SessionJWT)
	rec := httptest.NewRecorder()
	r.mw.LogoutHandler().ServeHTTP(rec, req)
	if rec.Code >= 400 {
		t.Fatalf("logout: %d %s", rec.Code, rec.Body)
	}
	r.srv.SetWebhooks(stytchtest.WebhookConfig{Secret: secret, URLs: []string{hooks.URL}})
	if err := r.srv.DeleteUser(u.UserID); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for r.srv.WebhookStats().Delivered == 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := r.counts(t, "stytchguard.revocations")[""]; n != 1 {
		t.Fatalf("stytchguard.revocations = %d", n)
	}
	if marks := r.counts(t, "stytchguard.webhook.marks"); marks["stytchguard.event=dashboard.user.delete"] != 1 {
		t.Fatalf("stytchguard.webhook.marks = %v", marks)
	}
}
