// Package otelguard reports what stytchguard decides through OpenTelemetry:
// a span for each request's authentication, as a child of the request's
// own span, a client span for each call to Stytch (JWKS and policy
// refreshes included), and metrics with OpenTelemetry's semantic
// conventions. It is a module of its own, so that an app that does not
// import it never gets the OpenTelemetry SDK; the core only calls hooks.
//
//	tel, err := otelguard.New(otelguard.Config{}) // the global providers
//	client, err := session.New(session.Config{..., HTTPClient: &http.Client{Transport: tel.Transport(nil)}})
//	mw, err := middleware.New(middleware.Config{Client: client, Hooks: tel.Hooks(middleware.Hooks{})})
//
// Spans:
//   - "stytchguard.authenticate", one per request a guard decides, from
//     the guard's start to its decision: stytchguard.outcome
//     (authenticated, anonymous, refused, shed), stytchguard.source (local,
//     cached, remote), stytchguard.code (a refusal's code, or why it was
//     shed), stytchguard.machine, and enduser.id only when Config.Subjects
//     is set. A shed request's span has status Error; a refusal is not an
//     error of the server's.
//   - the HTTP client spans of otelhttp for each call to Stytch, named
//     "stytch <METHOD> <path>".
//
// Metrics:
//   - stytchguard.decisions ({decision}): by outcome, source and code;
//   - stytchguard.decision.duration (s): decisions that asked Stytch or its
//     recent answer, by outcome and source (one made here takes well under
//     a microsecond, and is not timed);
//   - stytchguard.shed ({request}): by reason;
//   - stytchguard.refusals ({refusal}): every refusal, the handlers' too,
//     by code;
//   - stytchguard.stytch.calls ({call}): authenticate calls, by error
//     (none, unavailable, refused);
//   - stytchguard.revocations ({session}) and .revocations.failed
//     ({revocation}): logouts recorded, and those the list could not record;
//   - stytchguard.webhook.marks ({mark}): webhook changes recorded, by event;
//   - http.client.request.duration (s) and the other HTTP client metrics
//     of otelhttp, for every call to Stytch;
//   - with Observe, gauges of the middleware's state: stytchguard.breaker.open,
//     .budget.available, .stytch.in_flight, .cache.tokens, .cache.answers,
//     .jwks.age (s) and .policy.age (s).
//
// No attribute holds a token, a cookie value or a secret: the decision
// carries none, and Stytch's requests carry theirs in bodies and headers,
// which otelhttp does not record.
package otelguard
