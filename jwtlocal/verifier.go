package jwtlocal

import (
	"cmp"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/MicahParks/jwkset"
	"github.com/MicahParks/keyfunc/v3"
	"github.com/golang-jwt/jwt/v5"

	"github.com/stytchguard/stytchguard"
	"github.com/stytchguard/stytchguard/internal/pace"
	"github.com/stytchguard/stytchguard/session"
)

// Defaults for the zero fields of Config.
const (
	defaultMaxTokenAge               = 300 * time.Second
	defaultMaxTokenBytes             = 8 << 10
	defaultCacheSize                 = 10_000
	defaultInitialFetchWait          = 2 * time.Second
	defaultUnknownKIDRefreshInterval = time.Minute
	defaultUnknownKIDWait            = 500 * time.Millisecond
	defaultRefreshInterval           = time.Hour
	defaultFetchTimeout              = 10 * time.Second
)

// Config configures a Verifier. Client is required; every other zero field
// takes the default its comment names.
type Config struct {
	// Client is the project's Stytch client: its project id, base URL and
	// HTTP client are used to fetch the JWKS (without credentials), and its
	// product line (session.Config.B2B) says which: a B2B project's member
	// session JWTs (from /v1/b2b/sessions/jwks) or a consumer project's
	// session JWTs. A token of the other product line is Invalid.
	Client *session.Client
	// Now is the clock. Nil means time.Now.
	Now func() time.Time
	// ClockTolerance is the leeway on exp, nbf and iat. Zero means none.
	ClockTolerance time.Duration
	// MaxTokenAge is how long after its iat a JWT is trusted without asking
	// Stytch: older ones are Stale. Zero means defaultMaxTokenAge (300 s,
	// the JWT's own lifetime, as Stytch's Ruby SDK).
	MaxTokenAge time.Duration
	// MaxTokenBytes caps a token's length, checked before any decoding;
	// longer tokens are Invalid. Zero means defaultMaxTokenBytes (8 KiB).
	MaxTokenBytes int
	// CacheSize is how many verified tokens are remembered. Zero means
	// defaultCacheSize; negative disables the cache.
	CacheSize int
	// InitialFetchWait bounds how long New waits for the first JWKS fetch;
	// when Stytch is slower or down, New returns anyway and the fetch goes
	// on, or is tried again by later requests. Zero means
	// defaultInitialFetchWait.
	InitialFetchWait time.Duration
	// UnknownKIDRefreshInterval is the least time, by Now, between two
	// refreshes triggered by unknown kids; the fetch at start and the
	// periodic ones do not count against it, so a key rotated in just after
	// start is still picked up at once. Zero means 1 min: a flood of
	// made-up kids costs one JWKS fetch a minute, and is Invalid meanwhile.
	// After a failed fetch, every refresh waits 10 s at least (jittered up
	// to 12.5 s), or Stytch's Retry-After when longer, however it is asked
	// for.
	UnknownKIDRefreshInterval time.Duration
	// UnknownKIDWait bounds how long a request with an unknown kid waits for
	// a refresh before it is answered KeyUnknown. Zero means
	// defaultUnknownKIDWait.
	UnknownKIDWait time.Duration
	// RefreshInterval is the period of the background refresh. Zero means
	// defaultRefreshInterval.
	RefreshInterval time.Duration
	// FetchTimeout bounds one JWKS fetch. Zero means defaultFetchTimeout.
	FetchTimeout time.Duration
	// Issuers are iss values accepted besides stytch.com/<project_id> (and
	// the client's BaseURL when it is not Stytch's own): the URL of a custom
	// domain, "https://login.example.com". A JWT signed by the project's key
	// for its audience whose issuer is in neither list is IssuerUnknown, and
	// a warning names the issuer once. Empty means none.
	Issuers []string
	// MachineMaxTokenAge is how long after its iat an M2M access token is
	// accepted (Verify); older ones are Stale. Zero means
	// no bound but the token's own exp (an hour by Stytch's default), as in
	// Stytch's SDKs.
	MachineMaxTokenAge time.Duration
	// Claims, when set (stytchguard.ClaimsOf[T]()), decodes every verified
	// token's custom claims once, kept with it in the cache for
	// stytchguard.Claims[T]. Nil means stytchguard.Claims decodes on each call.
	Claims stytchguard.ClaimsDecoder
	// Logger receives JWKS refresh failures (never a token). Nil means none.
	Logger *slog.Logger
}

// Verifier verifies one project's session JWTs locally. It is safe for
// concurrent use; Close it to stop its background refresh.
type Verifier struct {
	cfg      Config
	b2b      bool
	issuers  []string
	project  string
	keys     keyStore
	keyfunc  keyfunc.Keyfunc
	cache    *tokenCache
	headers  headerCache
	roles    roleSets
	ctx      context.Context
	cancel   context.CancelFunc
	wg       sync.WaitGroup
	closeOne sync.Once

	// pace holds refreshes back after a failed one.
	pace *pace.Pacer

	mu                 sync.Mutex
	inflight           chan struct{} // closed when the running refresh ends; nil when none runs
	nextUnknownRefresh time.Time     // by cfg.Now: no refresh for an unknown kid before
	lastGood           time.Time     // by cfg.Now: when a fetch last brought a usable key set; zero: never
	lastErr            error         // what the last fetch failed with; nil after a good one
	ambiguousKIDs      []string      // kids that two different keys of the last stored set share
	warnedIssuers      map[string]bool
	warnedKeys         map[string]bool // kids of weak or ambiguous keys already logged

	onKeyMiss func() // tests only: runs between a kid's miss and the test of the key set
}

// maxWarnedIssuers bounds the issuers remembered as warned about: issuers
// come only from tokens the project's key signed, so a handful at most.
const maxWarnedIssuers = 32

// New checks cfg, starts fetching the key set, and waits for it up to
// InitialFetchWait. It fails only on a bad Config, never because Stytch is
// down.
func New(cfg Config) (*Verifier, error) {
	if cfg.Client == nil {
		return nil, errors.New("jwtlocal: Config.Client is required")
	}
	if cfg.ClockTolerance < 0 || cfg.MaxTokenAge < 0 || cfg.MachineMaxTokenAge < 0 || cfg.MaxTokenBytes < 0 || cfg.InitialFetchWait < 0 ||
		cfg.UnknownKIDRefreshInterval < 0 || cfg.UnknownKIDWait < 0 || cfg.RefreshInterval < 0 || cfg.FetchTimeout < 0 {
		return nil, errors.New("jwtlocal: Config durations and sizes must not be negative")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	cfg.MaxTokenAge = cmp.Or(cfg.MaxTokenAge, defaultMaxTokenAge)
	cfg.MaxTokenBytes = cmp.Or(cfg.MaxTokenBytes, defaultMaxTokenBytes)
	cfg.CacheSize = cmp.Or(cfg.CacheSize, defaultCacheSize)
	cfg.InitialFetchWait = cmp.Or(cfg.InitialFetchWait, defaultInitialFetchWait)
	cfg.UnknownKIDRefreshInterval = cmp.Or(cfg.UnknownKIDRefreshInterval, defaultUnknownKIDRefreshInterval)
	cfg.UnknownKIDWait = cmp.Or(cfg.UnknownKIDWait, defaultUnknownKIDWait)
	cfg.RefreshInterval = cmp.Or(cfg.RefreshInterval, defaultRefreshInterval)
	cfg.FetchTimeout = cmp.Or(cfg.FetchTimeout, defaultFetchTimeout)
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}

	project := cfg.Client.ProjectID()
	v := &Verifier{
		cfg:     cfg,
		b2b:     cfg.Client.IsB2B(),
		project: project,
		issuers: []string{"stytch.com/" + project},
		pace:    pace.New(pace.Config{Name: "JWKS", RetryAfter: session.RetryAfter, Now: cfg.Now, Logger: cfg.Logger}),
	}
	var err error
	if v.roles, err = newRoleSets(); err != nil {
		return nil, err
	}
	if base := cfg.Client.BaseURL(); base != "https://api.stytch.com" && base != "https://test.stytch.com" {
		v.issuers = append(v.issuers, base) // a custom domain issues with its own URL
	}
	for _, iss := range cfg.Issuers {
		if iss == "" {
			return nil, errors.New("jwtlocal: Config.Issuers holds an empty issuer")
		}
		v.issuers = append(v.issuers, strings.TrimRight(iss, "/"))
	}
	if cfg.CacheSize > 0 {
		v.cache = newTokenCache(cfg.CacheSize)
	}
	v.ctx, v.cancel = context.WithCancel(context.Background())
	v.keys = keyStore{MemoryJWKSet: jwkset.NewMemoryStorage(), v: v}
	kf, err := keyfunc.New(keyfunc.Options{Ctx: v.ctx, Storage: v.keys})
	if err != nil {
		v.cancel()
		return nil, err
	}
	v.keyfunc = kf

	v.mu.Lock()
	first := v.startRefreshLocked(false)
	v.mu.Unlock()
	v.wg.Add(1)
	go v.refreshLoop()
	t := time.NewTimer(cfg.InitialFetchWait)
	select {
	case <-first:
	case <-t.C:
	}
	t.Stop()
	return v, nil
}

// Close stops the background refresh and waits for every goroutine the
// Verifier started. Verify keeps working on the keys held, without refreshes.
func (v *Verifier) Close() {
	v.closeOne.Do(func() {
		v.cancel()
		v.wg.Wait()
	})
}

// Verify checks a session JWT or an M2M access token (Stytch's
// client-credentials token, signed with the same key set): Verified.Machine
// tells which it was. On failure the error matches one of the sentinels
// (errors.Is). A stale token, or one from an issuer not configured, had a
// good signature: the Verified returned with ErrStale or ErrIssuerUnknown
// is Stytch's word, only old or from an unexpected issuer. A token seen
// before costs a cache lookup: its exp, nbf, max age and session end are
// checked again, its signature is not. Revocation is the caller's to check,
// on SessionID. Stytch has no endpoint to ask about an M2M token, so a
// stale one cannot be settled remotely: the caller refuses it.
func (v *Verifier) Verify(ctx context.Context, token string) (*Verified, error) {
	return result(v.verify(ctx, token))
}

// result turns verify's typed error into an error, nil when there is none.
func result(got *Verified, err *Error) (*Verified, error) {
	if err != nil {
		return got, err
	}
	return got, nil
}

// verify checks a session JWT or an M2M access token, by the cache first.
func (v *Verifier) verify(ctx context.Context, token string) (*Verified, *Error) {
	if len(token) > v.cfg.MaxTokenBytes {
		return nil, invalid("token longer than MaxTokenBytes", nil)
	}
	now := v.cfg.Now()
	var h uint64
	if v.cache != nil {
		var hit *cacheEntry
		var ok bool
		if hit, h, ok = v.cache.get(token); ok {
			if n := now.UnixNano(); n >= hit.from && n < hit.until {
				return hit.v, nil
			}
			later, err := v.check(hit.v, now)
			if err != nil && !later {
				v.cache.remove(hit) // it will not get fresher
			}
			return hit.v, err
		}
	}
	c, perr := v.parse(ctx, token, now)
	if perr != nil {
		return nil, perr
	}
	if err := v.checkClaims(c); err != nil {
		if err.kind != kindIssuerUnknown {
			return nil, err
		}
		v.warnIssuer(c.Issuer)
		return c.toVerified(v.b2b, v.cfg.Claims, v.roles), err
	}
	verified := c.toVerified(v.b2b, v.cfg.Claims, v.roles)
	if _, err := v.check(verified, now); err != nil {
		return verified, err
	}
	if v.cache != nil {
		from, until := v.window(verified)
		v.cache.add(h, token, verified, from, until)
	}
	return verified, nil
}

// window returns, in Unix nanoseconds, the clock readings at which check
// passes s: from at or after, until before. It is check's rules solved for
// the clock; TestCacheWindowAgreesWithCheck holds the two together.
func (v *Verifier) window(s *Verified) (from, until int64) {
	tol, maxAge := v.cfg.ClockTolerance, v.maxAge(s)
	start := s.NotBefore
	if s.IssuedAt.After(start) {
		start = s.IssuedAt
	}
	end := s.Expiry.Add(tol)
	if maxAge > 0 {
		// check refuses after IssuedAt+maxAge+tol: that reading still passes.
		end = earliest(end, s.IssuedAt.Add(maxAge+tol+time.Nanosecond))
	}
	if sessionEnd := sessionEnd(s); !sessionEnd.IsZero() {
		end = earliest(end, sessionEnd.Add(tol))
	}
	return unixNanos(start.Add(-tol)), unixNanos(end)
}

// unixNanos is t.UnixNano, saturated where that is undefined (before 1678,
// after 2262): a JWT may claim any time.
func unixNanos(t time.Time) int64 {
	switch {
	case t.Before(time.Unix(0, math.MinInt64)):
		return math.MinInt64
	case t.After(time.Unix(0, math.MaxInt64)):
		return math.MaxInt64
	}
	return t.UnixNano()
}

func earliest(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

// warnIssuer logs, once per issuer, that tokens signed by the project come
// with an issuer that is not configured.
func (v *Verifier) warnIssuer(iss string) {
	if !v.firstWarning(&v.warnedIssuers, iss) {
		return
	}
	v.cfg.Logger.Warn("stytchguard: session JWTs signed by the project carry an issuer that is not configured; "+
		"each is checked with Stytch until it is: add it to Issuers (a custom domain's URL)",
		slog.String("issuer", iss), slog.Bool("b2b", v.b2b))
}

// firstWarning records key in *warned and reports whether it was not there
// yet, so that a warning about it is logged once. At most maxWarnedIssuers
// keys are remembered: they come only from the project's own tokens and
// key set, so a handful at most.
func (v *Verifier) firstWarning(warned *map[string]bool, key string) bool {
	v.mu.Lock()
	defer v.mu.Unlock()
	if (*warned)[key] || len(*warned) >= maxWarnedIssuers {
		return false
	}
	if *warned == nil {
		*warned = map[string]bool{}
	}
	(*warned)[key] = true
	return true
}

// parse checks a token's form, algorithm and signature, and decodes its
// payload. It does golang-jwt's Parser's work for RS256 alone, so that the
// payload, the bulk of the token, is decoded once rather than three times.
func (v *Verifier) parse(ctx context.Context, token string, now time.Time) (*claims, *Error) {
	dot1 := strings.IndexByte(token, '.')
	dot2 := strings.LastIndexByte(token, '.')
	if dot1 <= 0 || dot2 == dot1 || strings.IndexByte(token[dot1+1:dot2], '.') >= 0 {
		return nil, invalid("malformed: not three segments", nil)
	}
	hdr, known := v.headers.get(token[:dot1])
	if !known {
		var herr *Error
		if hdr, herr = decodeHeader(token[:dot1]); herr != nil {
			return nil, herr
		}
	}
	if hdr.Alg != "RS256" {
		return nil, invalid("algorithm is not RS256", nil)
	}
	if hdr.Crit != nil {
		return nil, invalid("a crit header, which no Stytch token has", nil)
	}
	if hdr.Kid == "" {
		return nil, invalid("no kid", nil)
	}
	key, err := v.keyfunc.KeyfuncCtx(ctx)(&jwt.Token{Header: map[string]any{"alg": hdr.Alg, "kid": hdr.Kid}, Method: jwt.SigningMethodRS256})
	switch {
	case errors.Is(err, jwkset.ErrKeyNotFound):
		var kerr *Error
		if key, kerr = v.keyAfterMiss(ctx, hdr.Kid, now); kerr != nil {
			kerr.MachineShaped = kerr.kind == kindKeyUnknown && machineShaped(token[dot1+1:dot2])
			return nil, kerr
		}
	case err != nil:
		return nil, invalid("key", err)
	}
	// Strict: one spelling of the signature's bytes. A lenient decoder
	// takes 16 spellings of a 2048-bit signature (its last character's
	// unused bits), each a token of its own to every cache keyed by the
	// token and to Stytch: a revoked grant's holder would get past the
	// introspection ceiling with them.
	sig, err := base64.RawURLEncoding.Strict().DecodeString(token[dot2+1:])
	if err != nil {
		return nil, invalid("malformed signature", err)
	}
	if err := jwt.SigningMethodRS256.Verify(token[:dot2], sig, key); err != nil {
		return nil, invalid("signature", err)
	}
	if !known {
		v.headers.add(token[:dot1], hdr)
	}
	pb, err := base64.RawURLEncoding.DecodeString(token[dot1+1 : dot2])
	if err != nil {
		return nil, invalid("malformed payload", err)
	}
	c := &claims{}
	if err := c.decode(pb); err != nil {
		return nil, invalid("malformed payload", err)
	}
	return c, nil
}

// keyAfterMiss settles a kid the key set did not hold when it was looked
// up. The miss is the token's fault only if the set is current; and a
// refresh may have landed between the lookup and that test, so the set that
// made it current is read once more before the token is called Invalid.
func (v *Verifier) keyAfterMiss(ctx context.Context, kid string, now time.Time) (any, *Error) {
	if v.onKeyMiss != nil {
		v.onKeyMiss()
	}
	if v.ambiguous(kid) {
		// Two keys of the set share this kid: neither can be trusted to be
		// the one meant, nor can the token be called bad.
		return nil, &Error{kind: kindKeyUnknown, Reason: "kid held by two different keys in the key set"}
	}
	if !v.keysCurrent(now) {
		return nil, &Error{kind: kindKeyUnknown, Reason: "no current key set"}
	}
	k, err := v.keys.MemoryJWKSet.KeyRead(ctx, kid)
	if err != nil {
		return nil, invalid("kid not in the key set", nil)
	}
	return k.Key(), nil
}

// machineShaped reports whether an unverified payload looks like an M2M
// access token's: a scope claim and no session claim.
func machineShaped(payload string) bool {
	b, err := base64.RawURLEncoding.DecodeString(payload)
	if err != nil {
		return false
	}
	var shape struct {
		Scope   *string         `json:"scope"`
		Session json.RawMessage `json:"https://stytch.com/session"`
	}
	return json.Unmarshal(b, &shape) == nil && shape.Scope != nil && shape.Session == nil
}

// checkClaims checks what does not change with time: audience, the required
// claims, the kind of token (a session JWT of the product line, or an M2M
// access token), and last the issuer, the one failure that is inconclusive.
func (v *Verifier) checkClaims(c *claims) *Error {
	switch {
	case !slices.Contains(c.audience(), v.project):
		return invalid("audience", nil)
	case c.IssuedAt == nil || c.ExpiresAt == nil || c.NotBefore == nil:
		return invalid("iat, exp or nbf missing", nil)
	case c.Subject == "":
		return invalid("sub missing", nil)
	case c.accessToken():
		if *c.ClientID == "" {
			return invalid("an access token with an empty client_id", nil)
		}
	case c.machine():
		if c.Organization != nil {
			return invalid("an M2M access token with an organization claim", nil)
		}
	case c.Session == nil || c.Session.ID == "":
		return invalid("session claim missing", nil)
	case v.b2b && (c.Organization == nil || c.Organization.OrganizationID == ""):
		return invalid("not a B2B session JWT", nil)
	case !v.b2b && c.Organization != nil:
		return invalid("a B2B session JWT", nil)
	}
	if !slices.Contains(v.issuers, c.Issuer) {
		// The issuer of a token the project's key signed: safe to name.
		return &Error{kind: kindIssuerUnknown, Reason: fmt.Sprintf("issuer %q not configured (accepted: %s)", c.Issuer, strings.Join(v.issuers, ", "))}
	}
	return nil
}

// check checks what changes with time: exp, nbf, iat and max age, and the
// session's own end. later reports a failure that time may cure (a token
// not valid yet by this clock), which a cache keeps.
func (v *Verifier) check(s *Verified, now time.Time) (later bool, err *Error) {
	tol, maxAge := v.cfg.ClockTolerance, v.maxAge(s)
	switch {
	case !now.Before(s.Expiry.Add(tol)):
		return false, stale("expired at " + s.Expiry.UTC().Format(time.RFC3339))
	case now.Add(tol).Before(s.NotBefore), now.Add(tol).Before(s.IssuedAt):
		return true, stale("not yet valid")
	case maxAge > 0 && now.After(s.IssuedAt.Add(maxAge+tol)):
		return false, stale("issued at " + s.IssuedAt.UTC().Format(time.RFC3339) + ", older than the max token age (" + maxAge.String() + ")")
	case v.sessionEnded(s, now):
		return false, stale("session expired")
	}
	return false, nil
}

// maxAge is how long after its iat s is taken: MaxTokenAge for a session
// JWT, MachineMaxTokenAge (zero: no limit) for an M2M access token, and no
// limit but its exp for a Connected Apps access token (the resource
// server's guard bounds its age, if it is told to).
func (v *Verifier) maxAge(s *Verified) time.Duration {
	switch {
	case s.Machine != nil:
		return v.cfg.MachineMaxTokenAge
	case s.AccessToken != nil:
		return 0
	}
	return v.cfg.MaxTokenAge
}

// AcceptsIssuer reports whether iss is an issuer this Verifier accepts:
// stytch.com/<project_id>, the client's BaseURL when it is not Stytch's own,
// and Config.Issuers.
func (v *Verifier) AcceptsIssuer(iss string) bool {
	return slices.Contains(v.issuers, strings.TrimRight(iss, "/"))
}

// ClockTolerance returns the leeway this Verifier allows on exp, nbf and
// iat: a JWT can verify here that long past its exp.
func (v *Verifier) ClockTolerance() time.Duration { return v.cfg.ClockTolerance }

func (v *Verifier) sessionEnded(s *Verified, now time.Time) bool {
	end := sessionEnd(s)
	return !end.IsZero() && !now.Before(end.Add(v.cfg.ClockTolerance))
}

// sessionEnd is the end of a verified token's session; zero for a machine
// token.
func sessionEnd(s *Verified) time.Time {
	switch {
	case s.Consumer != nil:
		return s.Consumer.ExpiresAt.Time
	case s.Member != nil:
		return s.Member.ExpiresAt.Time
	}
	return time.Time{}
}
