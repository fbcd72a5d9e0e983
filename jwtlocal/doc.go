// Package jwtlocal verifies Stytch session JWTs locally, against the
// project's JSON Web Key Set, so that a fresh JWT costs no call to Stytch, and
// a JWT seen before costs a cache lookup instead of an RSA verification.
//
// A Verifier is built once per project (consumer or B2B) with New and checks:
//
//   - the length, before any decoding (MaxTokenBytes, default 8 KiB);
//   - the algorithm: RS256 only, whatever the header says; a kid is required;
//   - the signature, against the key with that kid from
//     <base URL>/v1/sessions/jwks/<project_id> (B2B: /v1/b2b/sessions/jwks/...),
//     fetched without credentials and looked up through keyfunc v3;
//   - the audience: it must contain the project id;
//   - iat, exp and nbf, all three required, with ClockTolerance (default 0),
//     and a maximum age on iat (MaxTokenAge, default 300 s);
//   - the product line: a B2B JWT at a consumer verifier is invalid, and the
//     reverse;
//   - last, the issuer: "stytch.com/<project_id>", the client's base URL when
//     it is not Stytch's own, or one of Config.Issuers (a custom domain's
//     URL).
//
// Revocation is not checked here: the session id is in the Verified, and the
// caller (the middleware) checks it in one place for every way a session is
// verified.
//
// # Machine tokens
//
// Stytch's M2M access tokens are signed with the same key set. Verify
// checks them with the same rules (length, RS256, signature, audience,
// issuer, iat, nbf and exp with ClockTolerance), an optional
// MachineMaxTokenAge instead of MaxTokenAge, and the same cache; the result's
// Machine holds the client id, the scopes and the custom claims. A token is
// an M2M one when it has a scope claim, no session claim, and no client_id
// claim other than its sub. Stytch cannot
// be asked about an M2M token, so the caller refuses a stale one, or one
// from an issuer not configured; an ErrKeyUnknown *Error says, in
// MachineShaped, whether the unverified payload looks like one.
//
// # Connected Apps access tokens
//
// The access tokens Stytch issues to Connected Apps clients (OAuth 2.1,
// for third-party apps and AI agents acting for a person) are signed with
// the same key set too, and checked by the same rules but for age: they are
// taken until their exp, with ClockTolerance. A token is one when it has a
// scope claim, no session claim, and a client_id claim other than its sub
// (the person); the result's AccessToken holds the subject, the client, the
// scopes, the jti, the whole aud and the custom claims. Its issuer is the
// project's domain ("https://<domain>"), which Issuers must list (the
// client's BaseURL is accepted already when it is not Stytch's own, as with
// the emulator). Verify checks only that aud holds the project id, as for
// every token: which resource a token is for (the other audiences in aud,
// its client) is the resource server's to decide
// (middleware.ProtectedResource), from AccessToken.Audience.
//
// # Errors
//
// Verify returns the session in the session package's own types (Session or
// MemberSession, with roles, factors, attributes, custom claims without the
// reserved ones, and expires_at from the session claim, falling back to exp),
// or an error that matches one sentinel (errors.Is), which tells the caller
// what to do without matching strings:
//
//   - ErrInvalid: definitely bad, do not ask Stytch. This includes a kid that is
//     not in a current key set (one fetched successfully within
//     RefreshInterval), after the one paced refresh it may trigger: made-up
//     kids cost no call to Stytch and one JWKS fetch per
//     UnknownKIDRefreshInterval at most.
//   - ErrStale: good signature but expired, too old or not yet valid by this
//     clock: ask Stytch, which may answer with a fresh JWT.
//   - ErrIssuerUnknown: good signature and audience, but an issuer not
//     configured, as a custom domain's JWTs have until it is: ask Stytch, and
//     a warning names the issuer to configure, once.
//   - ErrKeyUnknown: no current key set is held (Stytch's JWKS could not be
//     fetched since start, or not for longer than RefreshInterval), so the
//     signature could not be checked: only Stytch can tell. A caller should
//     ask within a budget, since such a JWT is not tied to the project.
//
// # Keys
//
// The first JWKS fetch starts in New, which waits for it at most
// InitialFetchWait (2 s) and never fails because Stytch is down: later
// requests try again. The key set is refreshed every RefreshInterval (1 h) in
// the background, and on an unknown kid at most once per
// UnknownKIDRefreshInterval (1 min, by the Verifier's clock, Config.Now; 10 s
// after a failed fetch; the fetch at start does not count, so a key rotated
// in just after it is picked up at once); a request
// waits for that refresh at most UnknownKIDWait (500 ms) or until its context
// ends. A failed refresh, or one that brings no usable RS256 key (an empty
// set, a broken one), keeps the keys already held. When a refresh drops a
// key, the verified-token cache is emptied, so that tokens of a retired key
// are checked again. Close ends every goroutine the Verifier started. Nothing
// is shared between Verifiers: no package-level state.
//
// # Cache and cost
//
// Verified tokens are kept in a bounded LRU (CacheSize, default 10,000),
// keyed by a per-process seeded hash of the token; each entry keeps a copy
// of the token to compare on a hit, so a hash collision costs a
// verification, never a wrong session. A hit re-checks exp, nbf, the max
// age and the session's end against the clock. An entry is its own copy of
// the token (never the Cookie header it was cut from) plus its decoded
// session (BenchmarkCacheMemory measures both), so at most CacheSize ×
// (MaxTokenBytes + the decoded session) in any case. Lookups take no lock
// (writers take their shard's): a hit writes nothing other cores read,
// unless it moves its aged entry to the front of its shard. Sessions holding
// the same roles share one read-only list of them.
//
// A first-seen token pays the RSA verification and one decode of its
// payload; its header, the same for every token one key signs, is decoded
// once per key (for tokens that verified only, at most eight remembered).
//
// BenchmarkVerify compares a first-seen token through the Verifier with the
// floor, golang-jwt's parse and RS256 verify with a static key (the Verifier
// decodes the payload once, in one typed pass, where golang-jwt decodes into
// maps), and measures the cached path. Their figures, from one run on a named
// machine, are in bench/RESULTS.md.
package jwtlocal
