// Package stytchtest is an in-process emulator of Stytch's consumer and B2B
// Sessions and RBAC APIs, for tests and demos that must run without a Stytch
// account or a network, as net/http/httptest is for HTTP.
//
// NewServer starts one on a loopback port; point a session.Client at it with
// Server.Config. The emulator keeps real state and answers as Stytch does,
// down to status codes, error types and JWT claims; every answer it gives
// validates against Stytch's OpenAPI description and decodes in strict
// structs shaped as Stytch's Go SDK reads them (docs/emulator.md lists where
// those sources disagree and what the emulator sends):
//
//   - unset timestamps and ids are null, never ""; objects Stytch always
//     sends (a user's name, metadata, session attributes, custom claims) are
//     always sent; lists are never null;
//   - Basic auth on every endpoint but the JWKS ones (401
//     unauthorized_credentials);
//   - authenticate takes exactly one of session_token and session_jwt;
//     unknown, expired or revoked sessions are 404 session_not_found; an
//     expired but correctly signed JWT of a live session gets a fresh JWT;
//     session_duration_minutes (5..527040) resets the expiry; custom claims
//     merge, null deletes, 4 KB at most, reserved names refused;
//     authorization_check is decided against the RBAC policy (B2B: tenancy
//     first) with a verdict or the right 403; last_accessed_at moves;
//   - every policy holds Stytch's default roles, whatever SetPolicy,
//     SetB2BPolicy or the admin API set: stytch_user (consumer),
//     stytch_member and stytch_admin with Stytch's permissions on its
//     stytch.* resources (B2B, which lists those resources too); a policy
//     that defines one adds its permissions to Stytch's;
//   - session JWTs are RS256 with a kid, iss "stytch.com/<project_id>" (or
//     WithIssuer), aud [project_id], sub, jti, iat = nbf, exp = iat + 300, the
//     https://stytch.com/session claim (and https://stytch.com/organization
//     for B2B) and custom claims at the top level;
//   - list returns active sessions only; revoke takes exactly one identifier
//     (B2B member_id revokes all of a member's sessions);
//   - B2B exchange moves a session into another organization the same person
//     (same email) belongs to, carrying email magic link, OAuth and SMS OTP
//     factors; into an organization that requires MFA it answers
//     member_authenticated false with an intermediate_session_token and its
//     expiry; B2B SMS OTPs (/v1/b2b/otps/sms/send and authenticate)
//     complete that MFA step (a new session with the factors carried over
//     plus otp/sms) or step a session up: codes are 6 digits, good for
//     SMSOTPLifetime and SMSOTPAttempts wrong tries, and SMSCode (admin:
//     GET /_emulator/otps/sms/{member_id}) shows the last one sent;
//   - M2M clients (/v1/m2m/clients: create, get, update, search) keep their
//     secret as a digest; the OAuth2 token endpoint
//     (/v1/public/<project_id>/oauth2/token, client-credentials grant, form
//     or JSON) issues RS256 access tokens signed with the session keys (sub
//     the client id, scope, exp = iat + 3600, the custom claims template's
//     claims), and refuses in OAuth2's shape: 400 invalid_client,
//     invalid_scope, unsupported_grant_type, invalid_request;
//   - Connected Apps: the project as an OAuth 2.1 authorization server of the
//     MCP 2026-07-28 authorization spec. Clients are registered ones, or
//     known by a Client ID Metadata Document: a client_id that is an https
//     URL, fetched with bounds (5 KiB, 5 s, no redirect, public addresses
//     only, the dialed address checked; WithClientMetadataFetch allows
//     loopback for tests) and cached by its Cache-Control. Every
//     authorization response carries iss (RFC 9207); authorize and the
//     token endpoint take RFC 8707 resources, which the access token's aud
//     holds after the project id and the client's custom audience, and a
//     token request naming another resource is 400 invalid_target. Dynamic
//     Client Registration is off until WithDynamicClientRegistration, as in
//     a Stytch project, and bounded (64 KiB, MaxDynamicClients). A policy
//     scope whose permissions include another's satisfies it, for consent
//     and refresh. docs/emulator.md names the source of each fact;
//   - with WithRateLimit, the project is limited as Stytch limits it: 429
//     too_many_requests with Retry-After over a rate, and 429
//     too_few_tokens_authenticated while too many recent tokens failed.
//
// # Driving it from a test
//
// The Go API creates users (CreateUser), organizations and members
// (CreateOrganization, CreateMember), starts sessions with factors, roles,
// custom claims and a duration (StartSession, StartMemberSession), sets RBAC
// policies (SetPolicy, SetB2BPolicy, SetOrgPolicy), rotates signing keys with
// an overlap (RotateKey), moves the clock (Advance, SetNow), locks users and
// members (LockUser, LockMember), deletes them (DeleteUser, DeleteMember),
// sends Stytch's webhooks for these changes (SetWebhooks), mints grants (IssueAccessToken,
// AddMigrationToken, AddTrustedAuthToken), limits the project (SetRateLimit),
// injects faults per endpoint (InjectFault: a status, latency, a dropped
// connection, a malformed or custom body, for the next N calls or a fraction
// of them) and counts calls per endpoint (Calls).
//
// One clock moves everything: after Advance, JWTs carry iat and nbf ahead of
// the wall clock, so a verifier in another process sees them as not valid
// yet (stytchguard then asks the emulator); see docs/emulator.md, "Clock".
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
//	GET  /_emulator/clock            → {now}
//	POST /_emulator/locks            {user_id | member_id, seconds}
//	POST /_emulator/access_tokens    {user_id | member_id, client_id} → {access_token, client_id}
//	POST /_emulator/migration_tokens {user_id | member_id, session_token} → {session_token}
//	POST /_emulator/trusted_auth_tokens {user_id | member_id, profile_id, token} → {profile_id, token}
//	PUT  /_emulator/rate_limit       {per_second, burst, failed_share, min_calls, window_seconds}
//	PUT  /_emulator/webhooks         {secret, urls, fault: {bad_signature, stale_timestamp, duplicate}}
//	PUT  /_emulator/users/{user_id}  {roles} (sends user.update)
//	PUT  /_emulator/members/{member_id}  {roles} (sends member.update)
//	DELETE /_emulator/users/{user_id}, /_emulator/members/{member_id} (end their sessions; send *.delete)
//	GET  /_emulator/otps/sms/{member_id} → {code}
//	GET  /_emulator/calls            → {calls: {endpoint: count}}
//	POST /_emulator/faults           {endpoint, status, retry_after_ms, latency_ms, drop, malformed, body, times, fraction}
//	DELETE /_emulator/faults
//
// An Emulator holds no package-level state: any number can run side by side,
// each its own project with its own keys.
package stytchtest
