// Package session is a client for Stytch's consumer and B2B Sessions APIs and
// their RBAC policy endpoints, with typed models for every field those
// endpoints return, and the request-context accessors the rest of stytchguard
// shares.
//
// # Calls
//
// New checks a Config once and returns a Client whose Consumer and B2B fields
// hold the two product lines' endpoints: Authenticate, List, Revoke, JWKS,
// ExchangeAccessToken, Migrate, Attest and Policy, plus Exchange and OrgPolicy
// for B2B. Every call takes a context; Config.Timeout bounds each call on top of
// it, retries included.
//
// # Errors
//
// A failed call returns an *APIError when Stytch answered with its error JSON,
// and an unavailable error when it did not (network, timeout, a body that is not
// Stytch's). classify, or errors.Is with the sentinels, tells what the failure
// means without string matching:
//
//   - ErrSessionGone (404 session_not_found): the user is signed out;
//   - ErrCredentials (401 unauthorized_credentials and the other credential
//     errors): the app's project id or secret is wrong; nothing is known
//     about the session, and nobody is signed out;
//   - ErrForbidden (403): signed in, but not allowed;
//   - ErrBadRequest (other 4xx): the request itself is wrong;
//   - ErrUnavailable (429, 5xx, network, garbage): nothing is known about the
//     session; try again later, and never report it as a sign-out.
//
// A body that is not Stytch's error JSON is ErrUnavailable whatever its status,
// so that a proxy's 404 page cannot sign anyone out.
//
// Stytch's mobile SDKs read a 401 unauthorized_credentials as "the session is
// gone", because there the credential is the user's. Here it is the app's
// project secret: a wrong or rotated secret would sign every user out, so it
// is a class of its own. Client.Check tells a wrong secret from an
// unreachable Stytch when the app starts.
//
// # Retries
//
// Network errors, 429 and 502/503/504 are retried with exponential backoff and
// jitter (RetryPolicy), a 429's Retry-After honoured, always inside the call's
// deadline. Calls that are not idempotent are retried on 429 only. Response
// bodies are read up to Config.MaxResponseBytes.
//
// # Machine-to-machine
//
// Client.M2M holds Stytch's M2M clients API (CreateClient, GetClient,
// UpdateClient, SearchClients) and its OAuth2 token endpoint (Token: the
// client-credentials grant, authenticated by the M2M client's own id and
// secret). The token endpoint's OAuth2-shaped errors come back as *APIError
// too. ScopesGrant is Stytch's scope rule ("read:*" grants "read:reports").
//
// # Context
//
// NewConsumerContext and ConsumerFromContext, NewMemberContext and
// MemberFromContext carry an authenticated session through a request;
// NewMachineContext and MachineFromContext a verified M2M access token. They
// live here, beside the types they carry, so that route guards read the
// session without importing the middleware. Claims[T] decodes the custom
// claims of whichever is there into the app's type, or returns the value
// decoded once with the token when the middleware was configured with
// ClaimsOf[T].
package session
