// Package middleware authenticates net/http (and chi) requests from Stytch
// sessions and ends them: Authenticate and Require are
// func(http.Handler) http.Handler middlewares; LogoutHandler,
// LogoutAllHandler, SessionsHandler and ExchangeHandler are handlers.
//
// # A request's path
//
// resolve, in middleware.go, runs these steps in this order:
//
//  1. Extract: "Authorization: Bearer <jwt or token>", then the
//     stytch_session_jwt cookie, then stytch_session (names configurable, or
//     a custom extractorFunc). No credential is not an error: the request is
//     anonymous. Another Authorization scheme is ignored; two Authorization
//     headers, or an empty Bearer, are a 400. Require lets a CORS preflight
//     through to the next handler before this step (RefusePreflights). A
//     session cookie sent more than once (one planted by a sibling
//     subdomain) is tried value by value through the steps below
//     (resolveTossed).
//  2. A JWT is verified locally (jwtlocal), each outcome named:
//     Valid: done, no network (unless RefreshAfter asks Stytch to extend
//     it). Invalid (signature, algorithm, audience, malformed, too long, a
//     kid missing from a current key set): 401, no network — garbage never
//     costs a call to Stytch, and neither does an opaque token that cannot
//     be one. Stale (the project's signature, but expired or too old) and
//     IssuerUnknown (the project's signature, an issuer not configured: a
//     custom domain) and KeyUnknown (no key set held at all): inconclusive,
//     go to step 4.
//  3. A session logged out here, or on an instance sharing the
//     RevocationList, is refused at once: the one revocation check, on the
//     session id of a JWT that verified or of Stytch's answer.
//  4. Ask Stytch's authenticate: the opaque token when there is one, else
//     the JWT. A recent answer is reused (RemoteCache: a session for
//     RemoteTTL, 1 min, 5 min at most; "gone" for GoneTTL, 30 s, in a cache
//     of its own). Credentials that nothing ties to the project — an opaque
//     token with no cached answer, a JWT while no key set is held, an
//     unknown issuer — are paid from a budget first (Upstream: 20 calls/s,
//     burst 50, optionally per client); a JWT with the project's signature,
//     stale or not, never is. Identical concurrent asks share one call; at
//     most Upstream.MaxInFlight (32) calls are in flight, a request waits
//     Upstream.SlotWait (100 ms) for a slot; after BreakerFailures (5)
//     failures in a row, calls pause for BreakerCooldown (2 s). Stytch's
//     fresh JWT is written back to the cookies the credential came from.
//  5. Stytch says the session is gone: 401, and both cookies cleared.
//     Stytch unreachable, 5xx, 429 or garbage after the client's bounded
//     retries, a redirect (never followed), a 2xx without a live session
//     (session.ErrInvalidAnswer, or an expires_at already past), the budget
//     spent, no slot, the breaker open, or Stytch refusing the app's own
//     credentials (a wrong secret, logged as such): 503 with Retry-After,
//     cookies untouched — an outage or a misconfiguration is never reported
//     as "not logged in", nor an answer Stytch would not give as signed in.
//  6. The session goes into the request's context:
//     stytchguard.ConsumerFromContext or stytchguard.MemberFromContext, with the user
//     or member and organization when Stytch answered, and how it was
//     verified (stytchguard.SourceLocal or stytchguard.SourceStytch).
//
// # Machine clients
//
// An M2M access token (Stytch's client-credentials token, as "Authorization:
// Bearer") is verified in step 2 like a session JWT, with the same key set
// and cache, and never sent to Stytch: Stytch cannot be asked about one, so a
// token that does not verify locally is a 401 (a 503 while no key set is
// held). RequireMachine and RequireMachineAny let only such tokens through,
// with their scopes (403 insufficient_scope, with RFC 6750's scope=, for a
// person's session or missing scopes); RequireSessionOrMachine takes either;
// Require and the session handlers refuse a machine token with 403
// session_required. Authenticate passes it on in stytchguard.MachineFromContext.
//
// Authenticate lets anonymous requests through, and also requests whose
// session cookie is dead (the cookies are cleared), so that pages that work
// signed out keep working; a bad Bearer credential is still a 401. Require
// refuses every request without a valid session.
//
// # Sliding sessions
//
// SessionDurationMinutes extends the session at every call to Stytch
// ("remember me since you last saw me", 5 to 527040 minutes). RefreshAfter
// sends JWTs older than it to Stytch even while they verify, so that active
// users' sessions are extended and their cookies refreshed; when Stytch
// cannot be reached then, the locally valid session is used.
//
// # Logout
//
// LogoutHandler and LogoutAllHandler take POST only and refuse cross-origin
// requests (http.CrossOriginProtection; add TrustedOrigins for other origins
// of your own), because they are authenticated by cookies; Protect puts the
// same guard on an app's own state-changing routes. A logout remembers the
// session as revoked for as long as its JWTs could still verify here (a
// JWT's 5 minutes + ClockTolerance + RemoteTTL), revokes it at Stytch,
// clears the cookies and answers 204 (or 303 to LogoutRedirect); after it
// returns, the same JWT is refused by this process with no window. A logout
// that Stytch could not be told of, or that the RevocationList could not
// record (a shared store down), answers 503 and keeps the cookies, so that
// it is repeated. Sessions revoked elsewhere (another instance, the
// dashboard) are refused once their JWT is stale, within 5 minutes, or at
// once with a RevocationList shared between instances.
//
// The in-memory RevocationList holds DefaultRevocationListSize (100,000)
// entries, about 15 MiB, and drops in expiry order: an unexpired revocation
// only when the list is full of them, the soonest to expire, counted and
// logged. The marks WebhookHandler records (Marks) are kept apart, so that
// logouts cannot push them out; a full marks list marks Everyone instead of
// dropping a change.
//
// # Errors
//
// Refusals are JSON in Stytch's error shape with a stable error_type
// (stytchguard.CodeUnauthenticated, stytchguard.CodeInvalidToken, stytchguard.CodeInvalidRequest,
// stytchguard.CodeUnavailable, ...), a WWW-Authenticate challenge per RFC 6750 on 401s,
// and Retry-After on 503s; Config.ErrorHandler replaces the writer. No log
// line or error text holds a token, a cookie value or the secret.
//
// # Cost
//
// BenchmarkMiddleware measures a full request with a JWT cookie through
// Require into a no-op handler: a JWT seen before (a cache lookup, no RSA) and
// a JWT not seen before (the RSA verification's cost). BenchmarkRevocationList
// measures IsRevoked on a full list, a Revoke that must evict, and the bytes
// an entry holds. BenchmarkRemoteCacheMemory measures the heap of one
// remembered answer from Stytch (the session and the whole user, never the
// token). bench/RESULTS.md has their figures from one run, beside the
// peers'.
package middleware
