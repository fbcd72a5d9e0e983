// Package middleware authenticates net/http (and chi) requests from Stytch
// sessions and ends them. Start here:
//
//	client, _ := session.New(session.Config{ProjectID: ..., Secret: ...}) // B2B: true for members
//	mw, _ := middleware.New(middleware.Config{Client: client})
//	mux.Handle("GET /me", mw.Require(me))              // a session is required
//	mux.Handle("GET /", mw.Authenticate(home))         // a session if there is one
//	mux.Handle("POST /logout", mw.LogoutHandler())
//
// A handler behind them reads the session with
// stytchguard.ConsumerFromContext (stytchguard.MemberFromContext for B2B).
// Every refusal is a *stytchguard.Refusal, answered by Config.ErrorHandler
// (Stytch's JSON error shape by default), the refusals of the authz guards
// behind the middleware included. Config's zero value, with a Client, is
// the safe setup; docs/configuration.md lists every setting.
//
// # A request's path
//
// The pipeline (middleware.go) runs these steps; every entry point
// (Authenticate and Require, the machine routes, the logout handlers) reads
// the same local judgment (judge, in local.go) by its own policy.
//
//  1. Extract: "Authorization: Bearer <jwt or token>", then the
//     stytch_session_jwt cookie, then stytch_session (Config.Cookies names
//     them). No credential is not an error: the request is anonymous.
//     Another Authorization scheme is ignored; two Authorization headers,
//     or an empty Bearer, are a 400. A request that changes state and
//     carries a session cookie is refused (403 forbidden) when a browser
//     says another site sent it (Config.CrossOrigin). A CORS preflight,
//     which carries no credential, is answered by every guard itself (204),
//     never passed to a handler that expects a principal, unless
//     CrossOrigin.PassPreflights: put the CORS layer outside the guards. A
//     session cookie sent more than once (one planted by a sibling
//     subdomain) is tried value by value, at most four of each name.
//  2. A JWT is verified locally (jwtlocal): valid, done with no network
//     (unless Sessions.RefreshAfter asks Stytch to extend it); definitely
//     bad (signature, algorithm, audience, malformed, too long, a kid
//     missing from a current key set), 401 with no network — garbage never
//     costs a call to Stytch, nor does an opaque token that cannot be one;
//     stale, from an issuer not configured, or with no key set held,
//     inconclusive: step 4.
//  3. A session logged out here, or on an instance sharing
//     Stores.Revocations, is refused at once.
//  4. Ask Stytch's authenticate (askStytch, upstream.go): the opaque token
//     when there is one, else the JWT. A recent answer is reused
//     (Upstream.RemoteTTL, 1 min; "gone" for Upstream.GoneTTL, 30 s).
//     Credentials that nothing ties to the project are paid from a budget
//     first (Upstream.Rate: 20 calls/s, burst 50, optionally per client); a
//     JWT with the project's signature never is. Identical concurrent asks
//     share one call; at most Upstream.MaxInFlight calls are in flight;
//     after Upstream.BreakerFailures failures in a row calls pause. Stytch's
//     fresh JWT is written back to the cookies the credential came from.
//  5. Stytch says the session is gone: 401, and both cookies cleared.
//     Stytch unreachable, 5xx, 429 or garbage after the client's bounded
//     retries, a redirect, a 2xx without a live session, the budget spent,
//     or Stytch refusing the app's own credentials (a wrong secret, logged
//     as such): 503 with Retry-After, cookies untouched — an outage or a
//     misconfiguration is never reported as "not logged in", nor an answer
//     Stytch would not give as signed in.
//  6. The session goes into the request's context, with how it was
//     verified (stytchguard.SourceLocal or stytchguard.SourceStytch).
//
// The product line is the client's (session.Config.B2B): New picks the
// consumer or the B2B implementation once (consumer.go, b2b.go).
//
// # Machine clients
//
// An M2M access token (Stytch's client-credentials token, as "Authorization:
// Bearer") is verified in step 2 like a session JWT, with the same key set
// and cache, and never sent to Stytch: Stytch cannot be asked about one.
// RequireMachine and RequireMachineAny let only such tokens through, with
// their scopes (403 insufficient_scope, with RFC 6750's scope=);
// RequireSessionOrMachine takes either; Require and the session handlers
// refuse a machine token with 403 session_required.
//
// # Protected resources: AI agents and Connected Apps
//
// Resource(ProtectedResource{URL, AuthorizationServers, Scopes}) serves an
// MCP server or API that clients of Stytch's Connected Apps call with
// access tokens acting for a person. Its Require(scopes...) takes only
// such a token (verified locally, like a session JWT) and puts it in the
// context (stytchguard.AccessTokenFromContext); its refusals' challenges
// name the resource's RFC 9728 metadata, which MetadataHandler serves, so
// that a client discovers the authorization server from a 401. It takes
// only its own tokens: none whose aud names another resource, and, with
// ProtectedResource.Audiences or ClientIDs, only those requested for it or
// issued to its clients. With Introspection, tokens past an age are
// checked with Stytch, so that a revoked grant stops working. Only a
// resource's guards take an access token: Authenticate, Require and the
// session handlers refuse one with 401 invalid_token, and the machine
// routes with 403. A route that people and agents share goes behind
// Resource.Authenticate.
//
// An MCP server's endpoint goes behind RequireMCP(MCP{...}) instead: each
// tool, prompt, resource and method needs its own scopes, decided from the
// JSON-RPC body read once, strictly, exactly as the MCP Go SDK reads it
// (internal/mcpwire), so that no body reads as one tool here and another
// there; what it does not list is refused.
//
// # Logout
//
// LogoutHandler and LogoutAllHandler take POST only and refuse cross-origin
// requests. A logout remembers the session as revoked for as long as its
// JWTs could still verify here, revokes it at Stytch, clears the cookies
// and answers 204 (or 303 to Logout.Redirect); the same JWT is then refused
// with no window. A logout Stytch could not be told of, or that the store
// could not record, answers 503 and keeps the cookies, so that it is
// repeated. EndSessionHandler and SignOutOthersHandler end one other
// device's session, or all of them.
//
// # Cost
//
// BenchmarkMiddleware measures a full request through Require into a no-op
// handler: a JWT seen before (a cache lookup, no RSA) and one not seen
// before. bench/RESULTS.md has their figures beside the peers'.
package middleware
