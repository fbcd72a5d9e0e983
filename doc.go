// Package stytchguard is where to start: what a handler reads of the request
// that reached it, and the one shape of every refusal.
//
// The packages below it do the work:
//
//   - middleware authenticates requests from a Stytch session cookie or a
//     Bearer JWT (locally while the JWT is fresh, with Stytch otherwise) and
//     offers the logout, session and webhook handlers. Start there:
//     middleware.New, then Require or Authenticate on your routes.
//   - authz guards routes with Stytch RBAC permissions, decided locally
//     from a cached copy of the project's policy.
//   - session is the Stytch API client (consumer or B2B, set once on its
//     Config) and the wire models handlers read (User, Member, Session).
//   - jwtlocal verifies session JWTs and M2M access tokens against the
//     project's JWKS; the middleware builds one for you.
//   - webhook verifies and parses Stytch's signed webhooks.
//   - stytchtest is an emulator of Stytch's API, for tests and demos.
//
// In a handler behind the middleware, ConsumerFromContext (MemberFromContext
// for B2B, MachineFromContext for M2M access tokens, AccessTokenFromContext
// for Connected Apps access tokens on a protected resource's routes)
// returns the verified session; Claims returns its custom claims as the app's own type; and
// VerdictFromContext the RBAC verdict of the guard that let it through.
//
// Every refusal, whoever makes it, is a *Refusal answered by one
// ErrorHandler: the middleware's Config.ErrorHandler, or WriteRefusal
// (Stytch's JSON error shape) by default.
package stytchguard
