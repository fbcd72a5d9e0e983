// Package session is the Stytch client stytchguard is built on: the project
// (its id, secret, base URL and product line, Config.B2B, set once here) and
// the endpoints the library calls, with the wire models in stytch-go's
// shapes that handlers read (User, Member, Organization, Session,
// MemberSession). What a handler imports to read the request's session is
// the root package, stytchguard.
//
// # Calls
//
// New checks a Config once and returns a Client whose Consumer and B2B fields
// hold the two product lines' endpoints: Authenticate, List, Revoke, JWKS and
// Policy, plus Exchange, OrgPolicy and the SMS OTP step for B2B. Every call
// takes a context; Config.Timeout bounds each call on top of it, retries
// included. Client.Check tells a wrong secret from an unreachable Stytch.
//
// # Errors
//
// A failed call returns an *APIError when Stytch answered with its error JSON,
// and an unavailable error when it did not (network, timeout, a body that is not
// Stytch's, a redirect, a 2xx Stytch would not give). errors.Is with the
// sentinels tells what the failure means without string matching:
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
package session
