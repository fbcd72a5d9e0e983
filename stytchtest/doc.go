// Package stytchtest is an in-process emulator of Stytch's consumer and B2B
// Sessions and RBAC APIs, for tests and demos that must run without a Stytch
// account or a network, as net/http/httptest is for HTTP.
//
// NewServer starts one on a loopback port; point a session.Client at it with
// Server.Config. The emulator keeps real state and answers as Stytch does,
// down to status codes, error types and JWT claims, and every answer it gives
// validates against Stytch's OpenAPI description:
//
//   - Basic auth on every endpoint but the JWKS ones (401
//     unauthorized_credentials);
//   - authenticate takes exactly one of session_token and session_jwt;
//     unknown, expired or revoked sessions are 404 session_not_found; an
//     expired but correctly signed JWT of a live session gets a fresh JWT;
//     session_duration_minutes (5..527040) resets the expiry; custom claims
//     merge, null deletes, 4 KB at most, reserved names refused;
//     authorization_check is decided against the RBAC policy (B2B: tenancy
//     first) with a verdict or the right 403; last_accessed_at moves;
//   - session JWTs are RS256 with a kid, iss "stytch.com/<project_id>" (or
//     WithIssuer), aud [project_id], sub, iat = nbf, exp = iat + 300, the
//     https://stytch.com/session claim (and https://stytch.com/organization
//     for B2B) and custom claims at the top level;
//   - list returns active sessions only; revoke takes exactly one identifier
//     (B2B member_id revokes all of a member's sessions);
//   - B2B exchange moves a session into another organization the same person
//     (same email) belongs to, carrying email magic link, OAuth and SMS OTP
//     factors; into an organization that requires MFA it answers
//     member_authenticated false with an intermediate_session_token.
//
// # Driving it from a test
//
// The Go API creates users (CreateUser), organizations and members
// (CreateOrganization, CreateMember), starts sessions with factors, roles,
// custom claims and a duration (StartSession, StartMemberSession), sets RBAC
// policies (SetPolicy, SetB2BPolicy, SetOrgPolicy), rotates signing keys with
// an overlap (RotateKey), moves the clock (Advance, SetNow), injects faults per
// endpoint (InjectFault: a status, latency, a dropped connection, a malformed
// or custom body, for the next N calls or a fraction of them) and counts calls
// per endpoint (Calls).
//
// # Admin API
//
// For apps that are not Go tests (the examples, cmd/stytch-emulator), the same
// operations are served under /_emulator/, a prefix Stytch does not use,
// behind the project's Basic credentials. Bodies are JSON; answers carry
// request_id and status_code like Stytch's.
//
//	POST /_emulator/users            {email, phone_number, name, roles, trusted_metadata} → {user}
//	POST /_emulator/sessions         {user_id, session_duration_minutes, roles, custom_claims} → {session, session_token, session_jwt}
//	POST /_emulator/organizations    {organization_name, organization_slug, mfa_required} → {organization}
//	POST /_emulator/members          {organization_id, email_address, name, roles, is_admin, mfa_phone_number} → {member}
//	POST /_emulator/member_sessions  {member_id, session_duration_minutes, roles, custom_claims} → {member_session, session_token, session_jwt}
//	PUT  /_emulator/rbac/policy      {policy}
//	PUT  /_emulator/b2b/rbac/policy  {policy}
//	PUT  /_emulator/b2b/rbac/organizations/{organization_id}  {roles}
//	POST /_emulator/keys/rotate      {overlap_seconds} → {kid}
//	POST /_emulator/clock/advance    {seconds} → {now}
//	GET  /_emulator/calls            → {calls: {endpoint: count}}
//	POST /_emulator/faults           {endpoint, status, retry_after_ms, latency_ms, drop, malformed, body, times, fraction}
//	DELETE /_emulator/faults
//
// An Emulator holds no package-level state: any number can run side by side,
// each its own project with its own keys.
package stytchtest
