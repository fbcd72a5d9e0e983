// Package middleware authenticates net/http (and chi) requests from Stytch
// sessions and ends them: Authenticate and Require are
// func(http.Handler) http.Handler middlewares; LogoutHandler,
// LogoutAllHandler, SessionsHandler and ExchangeHandler are handlers.
//
// # A request's path
//
//  1. Extract: "Authorization: Bearer <jwt or token>", then the
//     stytch_session_jwt cookie, then stytch_session (names configurable, or
//     a custom Extractor). No credential is not an error: the request is
//     anonymous. Another Authorization scheme is ignored; two Authorization
//     headers, or an empty Bearer, are a 400.
//  2. A JWT is verified locally (jwtlocal). Fresh and valid: done, no
//     network. Definitely bad (signature, algorithm, issuer, audience,
//     malformed, too long): 401, no network — garbage never costs a call to
//     Stytch, and neither does an opaque token that cannot be one.
//  3. A session this process logged out is refused at once (the
//     RevocationList), whether its JWT is fresh or not.
//  4. A stale JWT, an unknown kid, or an opaque token goes to Stytch's
//     authenticate: the opaque token when both cookies are there, else the
//     JWT. Identical concurrent asks share one call. A success is reused for
//     RemoteTTL (1 min by default, 5 min at most: the staleness a local JWT
//     check accepts anyway); a "session gone" for GoneTTL (30 s), so that a
//     replayed dead token does not cost a call per request. Stytch's fresh
//     JWT is written back to the cookies the credential came from.
//  5. Stytch says the session is gone: 401, and both cookies cleared.
//     Stytch unreachable, 5xx, 429 or garbage after the client's bounded
//     retries: 503 with Retry-After, cookies untouched — an outage is never
//     reported as "not logged in".
//  6. The session goes into the request's context:
//     session.ConsumerFromContext or session.MemberFromContext, with the user
//     or member and organization when Stytch answered, and how it was
//     verified (session.SourceLocal or session.SourceStytch).
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
// of your own), because they are authenticated by cookies. A logout
// remembers the session as revoked for as long as its JWTs could still
// verify, revokes it at Stytch, clears the cookies and answers 204 (or 303
// to LogoutRedirect); after it returns, the same JWT is refused by this
// process with no window. Sessions revoked elsewhere (another instance, the
// dashboard) are refused once their JWT is stale, within 5 minutes, or at
// once with a RevocationList shared between instances.
//
// # Errors
//
// Refusals are JSON in Stytch's error shape with a stable error_type
// (CodeUnauthenticated, CodeInvalidToken, CodeInvalidRequest,
// CodeUnavailable, ...), a WWW-Authenticate challenge per RFC 6750 on 401s,
// and Retry-After on 503s; Config.ErrorHandler replaces the writer. No log
// line or error text holds a token, a cookie value or the secret.
//
// # Cost
//
// BenchmarkMiddleware, a full request with a JWT cookie through Require into
// a no-op handler, on a shared 2-core machine (medians of 5): a JWT seen
// before, 0.84 µs and 4 allocations; a JWT not seen before, 62 µs, the RSA
// verification's cost (jwtlocal's BenchmarkVerify/floor is 59 µs).
package middleware
