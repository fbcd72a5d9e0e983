package otelguard

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"

	"github.com/stytchguard/stytchguard/authz"
	"github.com/stytchguard/stytchguard/middleware"
	"github.com/stytchguard/stytchguard/session"
)

// scope is the instrumentation scope's name.
const scope = "github.com/stytchguard/stytchguard/otelguard"

// Config says where telemetry goes.
type Config struct {
	// TracerProvider makes the spans. Nil means otel.GetTracerProvider().
	TracerProvider trace.TracerProvider
	// MeterProvider makes the metrics. Nil means otel.GetMeterProvider().
	MeterProvider metric.MeterProvider
	// Subjects puts the authenticated subject's id (user, member or M2M
	// client id) on decision spans as enduser.id. Off by default: an id
	// is personal data where logs and traces are kept longer than
	// sessions.
	Subjects bool
}

// Telemetry makes the hooks and the transport that report to cfg's
// providers.
type Telemetry struct {
	cfg      Config
	tracer   trace.Tracer
	duration metric.Float64Histogram
	shed     metric.Int64Counter
	refusals metric.Int64Counter
	calls    metric.Int64Counter
	revokes  metric.Int64Counter
	revoked  metric.Int64Counter
	marks    metric.Int64Counter

	mu   sync.Mutex // serializes additions to sets
	sets atomic.Pointer[map[decisionKey]*decisionOptions]
	// local is sets' entry for authenticated/local, the usual decision.
	local *decisionOptions
}

// New makes the instruments.
func New(cfg Config) (*Telemetry, error) {
	if cfg.TracerProvider == nil {
		cfg.TracerProvider = otel.GetTracerProvider()
	}
	if cfg.MeterProvider == nil {
		cfg.MeterProvider = otel.GetMeterProvider()
	}
	meter := cfg.MeterProvider.Meter(scope)
	t := &Telemetry{cfg: cfg, tracer: cfg.TracerProvider.Tracer(scope)}
	t.sets.Store(&map[decisionKey]*decisionOptions{})
	t.local = t.options(decisionKey{"authenticated", "local", ""})
	var errs []error
	counter := func(name, unit, desc string) metric.Int64Counter {
		c, err := meter.Int64Counter(name, metric.WithUnit(unit), metric.WithDescription(desc))
		errs = append(errs, err)
		return c
	}
	// Decisions are counted here, one atomic add each, and read by the
	// SDK when it collects: a synchronous counter's Add costs more than
	// the cached request it would count.
	_, err := meter.Int64ObservableCounter("stytchguard.decisions", metric.WithUnit("{decision}"),
		metric.WithDescription("Requests decided by a guard, by outcome, source and code."),
		metric.WithInt64Callback(func(_ context.Context, o metric.Int64Observer) error {
			for _, d := range *t.sets.Load() {
				o.Observe(d.count.Load(), metric.WithAttributeSet(d.set))
			}
			return nil
		}))
	errs = append(errs, err)
	t.shed = counter("stytchguard.shed", "{request}", "Requests answered 503 without asking Stytch, by reason.")
	t.refusals = counter("stytchguard.refusals", "{refusal}", "Refused requests, by code.")
	t.calls = counter("stytchguard.stytch.calls", "{call}", "Calls to Stytch's authenticate, by error.")
	t.revokes = counter("stytchguard.revocations.failed", "{revocation}", "Logouts the revocation list could not record.")
	t.revoked = counter("stytchguard.revocations", "{session}", "Sessions ended by logouts recorded in the revocation list.")
	t.marks = counter("stytchguard.webhook.marks", "{mark}", "Changes to users and members recorded from Stytch's webhooks, by event.")
	t.duration, err = meter.Float64Histogram("stytchguard.decision.duration", metric.WithUnit("s"),
		metric.WithDescription("How long a request took to be answered by Stytch, or by its recent answer."),
		metric.WithExplicitBucketBoundaries(0.000001, 0.000005, 0.00001, 0.00005, 0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5))
	errs = append(errs, err)
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return t, nil
}

// Hooks returns hooks for middleware.Config.Hooks that record every event
// and then call the matching hook of next (any may be nil).
func (t *Telemetry) Hooks(next middleware.Hooks) middleware.Hooks {
	h := next
	h.Decided = func(ctx context.Context, d middleware.Decision) {
		t.decided(ctx, d)
		if next.Decided != nil {
			next.Decided(ctx, d)
		}
	}
	h.Shed = func(reason string) {
		t.shed.Add(context.Background(), 1, metric.WithAttributes(attribute.String("stytchguard.reason", reason)))
		if next.Shed != nil {
			next.Shed(reason)
		}
	}
	h.Refused = func(code string) {
		t.refusals.Add(context.Background(), 1, metric.WithAttributes(attribute.String("stytchguard.code", code)))
		if next.Refused != nil {
			next.Refused(code)
		}
	}
	h.Remote = func(err error) {
		t.calls.Add(context.Background(), 1, metric.WithAttributes(attribute.String("error.type", callError(err))))
		if next.Remote != nil {
			next.Remote(err)
		}
	}
	h.Revoked = func(n int) {
		t.revoked.Add(context.Background(), int64(n))
		if next.Revoked != nil {
			next.Revoked(n)
		}
	}
	h.Marked = func(event string) {
		t.marks.Add(context.Background(), 1, metric.WithAttributes(attribute.String("stytchguard.event", event)))
		if next.Marked != nil {
			next.Marked(event)
		}
	}
	h.RevokeFailed = func(err error) {
		t.revokes.Add(context.Background(), 1)
		if next.RevokeFailed != nil {
			next.RevokeFailed(err)
		}
	}
	return h
}

// callError classifies a call's error for error.type: never its text,
// which may name a request id but is not a bounded set.
func callError(err error) string {
	switch {
	case err == nil:
		return "none"
	case errors.Is(err, session.ErrUnavailable):
		return "unavailable"
	}
	return "refused"
}

// decided records d: the decision metrics and, when the request's own
// span is recording, a child span from the guard's start to its decision.
func (t *Telemetry) decided(ctx context.Context, d middleware.Decision) {
	var o *decisionOptions
	if d.Outcome == "authenticated" && d.Source == "local" && d.Code == "" {
		o = t.local // most requests: no map lookup, whose hashing of three strings would cost more than the rest
	} else {
		o = t.options(decisionKey{d.Outcome, d.Source, d.Code})
	}
	o.count.Add(1)
	if !d.Start.IsZero() {
		t.duration.Record(ctx, d.Duration.Seconds(), o.duration...)
	}
	if !trace.SpanFromContext(ctx).IsRecording() {
		return // no request span, or one not sampled: no child either
	}
	start, end := d.Start, d.Start.Add(d.Duration)
	if start.IsZero() {
		start = time.Now() // decided here: the core did not read the clock
		end = start
	}
	attrs := o.attrs
	if d.Outcome == "authenticated" {
		attrs = append(attrs[:len(attrs):len(attrs)], attribute.Bool("stytchguard.machine", d.Machine))
		if t.cfg.Subjects && d.Subject != "" {
			attrs = append(attrs, attribute.String("enduser.id", d.Subject))
		}
	}
	_, span := t.tracer.Start(ctx, "stytchguard.authenticate", trace.WithTimestamp(start),
		trace.WithSpanKind(trace.SpanKindInternal), trace.WithAttributes(attrs...))
	if d.Outcome == "shed" {
		span.SetStatus(codes.Error, "shed: "+d.Code)
	}
	span.End(trace.WithTimestamp(end))
}

// decisionKey is what a decision's metric attributes are made of: a small,
// bounded set of combinations.
type decisionKey struct{ outcome, source, code string }

// decisionOptions are one combination's attributes, made once: building an
// attribute set sorts and hashes it, which would cost more than the
// request it measures.
type decisionOptions struct {
	attrs []attribute.KeyValue
	set   attribute.Set
	count atomic.Int64
	// duration is kept as the slice Record takes: passing one option
	// would allocate its slice on every call.
	duration []metric.RecordOption
}

// options returns k's options, from a map read without a lock and copied
// on the rare miss.
func (t *Telemetry) options(k decisionKey) *decisionOptions {
	if o, ok := (*t.sets.Load())[k]; ok {
		return o
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	old := *t.sets.Load()
	if o, ok := old[k]; ok {
		return o
	}
	attrs := []attribute.KeyValue{attribute.String("stytchguard.outcome", k.outcome)}
	if k.source != "" {
		attrs = append(attrs, attribute.String("stytchguard.source", k.source))
	}
	short := attribute.NewSet(attrs...)
	if k.code != "" {
		attrs = append(attrs, attribute.String("stytchguard.code", k.code))
	}
	o := &decisionOptions{attrs: attrs, set: attribute.NewSet(attrs...),
		duration: []metric.RecordOption{metric.WithAttributeSet(short)}}
	next := make(map[decisionKey]*decisionOptions, len(old)+1)
	for key, v := range old {
		next[key] = v
	}
	next[k] = o
	t.sets.Store(&next)
	return o
}

// Transport returns base (nil: a transport like the Stytch client's own,
// keep-alive and at most 64 connections to Stytch) wrapped by otelhttp: a
// client span for every call to Stytch, named "stytch <METHOD> <path>",
// and the HTTP client metrics. Give it to session.Config.HTTPClient.
func (t *Telemetry) Transport(base http.RoundTripper) http.RoundTripper {
	if base == nil {
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.MaxIdleConnsPerHost = 64
		tr.MaxConnsPerHost = 64
		tr.IdleConnTimeout = 90 * time.Second
		base = tr
	}
	return otelhttp.NewTransport(base,
		otelhttp.WithTracerProvider(t.cfg.TracerProvider),
		otelhttp.WithMeterProvider(t.cfg.MeterProvider),
		otelhttp.WithSpanNameFormatter(func(_ string, r *http.Request) string { return "stytch " + r.Method + " " + r.URL.Path }))
}

// Observe reports mw's state, and each rbac's policy age, as gauges read
// at each collection: stytchguard.breaker.open (1 while calls to Stytch
// pause), stytchguard.budget.available ({call}; absent without a budget),
// stytchguard.stytch.in_flight ({call}), stytchguard.cache.tokens
// ({token}), stytchguard.cache.answers ({answer}; absent when the
// RemoteCache cannot tell), stytchguard.jwks.age (s, since the key set was last fetched;
// absent while none is held) and stytchguard.policy.age (s; absent while
// no policy is held). Call it once per middleware.
func (t *Telemetry) Observe(mw *middleware.Middleware, rbac ...*authz.Authorizer) error {
	meter := t.cfg.MeterProvider.Meter(scope)
	breaker, err1 := meter.Int64ObservableGauge("stytchguard.breaker.open", metric.WithDescription("1 while calls to Stytch pause after failures."))
	budget, err2 := meter.Float64ObservableGauge("stytchguard.budget.available", metric.WithUnit("{call}"),
		metric.WithDescription("Calls the budget for credentials nothing ties to the project allows now."))
	inFlight, err3 := meter.Int64ObservableUpDownCounter("stytchguard.stytch.in_flight", metric.WithUnit("{call}"), metric.WithDescription("Calls to Stytch under way."))
	cached, err4 := meter.Int64ObservableGauge("stytchguard.cache.tokens", metric.WithUnit("{token}"), metric.WithDescription("Verified tokens the cache holds."))
	answers, err7 := meter.Int64ObservableGauge("stytchguard.cache.answers", metric.WithUnit("{answer}"), metric.WithDescription("Stytch's answers the remote cache holds."))
	keysAge, err5 := meter.Float64ObservableGauge("stytchguard.jwks.age", metric.WithUnit("s"), metric.WithDescription("Time since the key set was last fetched."))
	policyAge, err6 := meter.Float64ObservableGauge("stytchguard.policy.age", metric.WithUnit("s"), metric.WithDescription("Time since the RBAC policy was last fetched."))
	if err := errors.Join(err1, err2, err3, err4, err5, err6, err7); err != nil {
		return err
	}
	_, err := meter.RegisterCallback(func(_ context.Context, o metric.Observer) error {
		s := mw.Stats()
		open := int64(0)
		if s.BreakerOpen {
			open = 1
		}
		o.ObserveInt64(breaker, open)
		if s.Budget >= 0 {
			o.ObserveFloat64(budget, s.Budget)
		}
		o.ObserveInt64(inFlight, int64(s.InFlight))
		o.ObserveInt64(cached, int64(s.Verifier.Cached))
		if s.Answers >= 0 {
			o.ObserveInt64(answers, int64(s.Answers))
		}
		if s.Verifier.KeysAge >= 0 {
			o.ObserveFloat64(keysAge, s.Verifier.KeysAge.Seconds())
		}
		for _, a := range rbac {
			if age, ok := a.PolicyAge(); ok {
				o.ObserveFloat64(policyAge, age.Seconds())
			}
		}
		return nil
	}, breaker, budget, inFlight, cached, answers, keysAge, policyAge)
	return err
}
