package middleware

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/stytchguard/stytchguard"
	"github.com/stytchguard/stytchguard/internal/memstore"
	"github.com/stytchguard/stytchguard/jwtlocal"
	"github.com/stytchguard/stytchguard/session"
	"golang.org/x/sync/singleflight"
	"golang.org/x/time/rate"
)

// The defaults of Config's zero fields, where a comment names them.
const (
	defaultJWTCookie            = "stytch_session_jwt"
	defaultTokenCookie          = "stytch_session"
	defaultIntermediateCookie   = "stytch_intermediate_session_token"
	defaultRemoteTTL            = time.Minute
	defaultGoneTTL              = 30 * time.Second
	defaultLogoutAllConcurrency = 4
	defaultUpstreamRate         = 20
	defaultUpstreamBurst        = 50
	defaultClientRate           = 2
	defaultClientBurst          = 10
	defaultMaxClients           = 10_000
	defaultMaxInFlight          = 32
	defaultSlotWait             = 100 * time.Millisecond
	defaultBreakerFailures      = 5
	defaultBreakerCooldown      = 2 * time.Second
	// maxRemoteTTL caps Upstream.RemoteTTL: a remote answer is never reused
	// longer than a session JWT lives, the staleness a local check accepts
	// anyway.
	maxRemoteTTL = 5 * time.Minute
	// jwtLifetime is how long a Stytch session JWT lives.
	jwtLifetime = 5 * time.Minute
)

// Config configures a Middleware. Client is required; every other zero
// field takes the default its comment names, and the defaults are the safe
// settings: cross-origin requests with a session cookie refused, Secure
// cookies, every refusal answered in Stytch's JSON shape, failures logged
// to slog.Default.
type Config struct {
	// Client talks to Stytch. Its session.Config names the project and
	// the product line (B2B), which everything here follows.
	Client *session.Client
	// Verifier checks JWTs locally. Nil means one built from Client and
	// Verification, and closed by Close.
	Verifier *jwtlocal.Verifier
	// Verification configures the Verifier New builds when Verifier is
	// nil; it is not read otherwise.
	Verification Verification
	// Claims, when set (stytchguard.ClaimsOf[T]()), decodes the custom
	// claims of every verified JWT, Stytch answer and machine token once,
	// kept with it, so that stytchguard.Claims[T] in a handler is a type
	// assertion. Nil means stytchguard.Claims decodes on each call.
	Claims stytchguard.ClaimsDecoder
	// Cookies names the session cookies and sets their attributes.
	Cookies Cookies
	// Sessions says how sessions are extended while people use them.
	Sessions Sessions
	// Upstream bounds, caches and paces what is asked of Stytch.
	Upstream Upstream
	// Stores keep what the app's instances share: logouts, people changed
	// elsewhere, Stytch's recent answers. The zero value keeps them in this
	// process; redisstore shares them.
	Stores Stores
	// CrossOrigin says which cross-origin requests a session cookie may
	// authenticate.
	CrossOrigin CrossOrigin
	// SignInURL, when set, makes a refused navigation of a signed-out person
	// (a GET or HEAD that accepts text/html, without a credential or with
	// one that is no longer good) a 303 to it, with the page asked for as
	// the return_to query parameter: always a path on this site, never an
	// absolute or scheme-relative URL. API clients keep the JSON 401.
	SignInURL string
	// Logout configures the logout handlers.
	Logout Logout
	// ErrorHandler answers every refused request: the middleware's, and
	// those of the authz guards and machine routes behind it
	// (stytchguard.Refuse). Nil means stytchguard.WriteRefusal. A handler
	// recorded in the request's context before the middleware
	// (stytchguard.WithErrorHandler; the gRPC adapter records one) takes
	// precedence.
	ErrorHandler stytchguard.ErrorHandler
	// Logger receives failures with Stytch's request ids; never a token or a
	// cookie value. Nil means slog.Default(): a misconfiguration (a wrong
	// secret, an unreachable or impostor Stytch) is always reported.
	Logger *slog.Logger
	// Hooks are told of each request's outcome, for metrics.
	Hooks Hooks
	// Now is the clock. Nil means time.Now.
	Now func() time.Time
}

// Verification configures the JWT verifier New builds when
// Config.Verifier is nil (see jwtlocal.Config).
type Verification struct {
	// Issuers are JWT issuers accepted besides stytch.com/<project_id>: a
	// custom domain's URL. Empty means none: such JWTs are checked with
	// Stytch (within the Upstream budget) and a warning names the issuer.
	Issuers []string
	// ClockTolerance is the leeway on a JWT's exp, nbf and iat. Zero means
	// none.
	ClockTolerance time.Duration
	// MachineMaxTokenAge bounds how long after its iat an M2M access token
	// is accepted. Zero means the token's own exp.
	MachineMaxTokenAge time.Duration
}

// Cookies names the session cookies and sets the attributes of those the
// middleware writes.
type Cookies struct {
	// JWT and Token name the session cookies. Empty means
	// "stytch_session_jwt" and "stytch_session", the names Stytch's
	// frontend SDKs use. Names with the __Host- prefix
	// ("__Host-stytch_session") cannot be planted by a sibling subdomain or
	// a plain-http page of the host (cookie tossing): use them unless
	// subdomains must share the session (Domain), and give the same names
	// to the frontend SDK (cookieOptions) when it sets the cookies. A cookie
	// name that comes more than once is tried value by value (see
	// Authenticate).
	JWT, Token string
	// Intermediate names the cookie ExchangeHandler keeps the intermediate
	// session token in while an organization's MFA is pending (B2B). Empty
	// means "stytch_intermediate_session_token".
	Intermediate string
	// Domain sets Domain on the cookies, to share them with subdomains.
	// Empty means host-only cookies.
	Domain string
	// Insecure drops the Secure attribute, for http://localhost development
	// only.
	Insecure bool
	// HTTPOnly sets HttpOnly on the cookies the middleware writes. Stytch's
	// frontend SDKs read their cookies from JavaScript, so it is off unless
	// set.
	HTTPOnly bool
}

// Sessions says how sessions are extended while people use them.
type Sessions struct {
	// DurationMinutes, when set (5 to 527040), is sent with every call to
	// Stytch's authenticate, extending the session to now plus this long:
	// "remember me since you last saw me". Zero extends nothing.
	DurationMinutes int
	// RefreshAfter, when set, sends a JWT older than this to Stytch even
	// though it still verifies, so that active users' sessions are extended
	// (with DurationMinutes) and their cookies refreshed. If Stytch cannot
	// be asked then, the locally valid session is used. Zero never.
	RefreshAfter time.Duration
}

// Stores keep what the app's instances share. Nil fields are kept in this
// process, bounded: a logout, a webhook's mark or a cached answer then
// reaches only the instance that saw it. redisstore.Store implements all
// three.
type Stores struct {
	// Revocations remembers sessions logged out. Nil means an in-memory
	// list of 100,000 sessions, logging to Config.Logger what it must drop.
	Revocations RevocationList
	// Marks remembers the people changed elsewhere (WebhookHandler), apart
	// from logouts. Nil means Revocations when it implements Marks
	// (redisstore does), else an in-memory list of 100,000 people.
	Marks Marks
	// RemoteCache keeps Stytch's answers for Upstream.RemoteTTL and
	// Upstream.GoneTTL. Nil means an in-memory cache of 10,000 sessions and,
	// apart, 10,000 "gone" answers.
	RemoteCache RemoteCache
}

// CrossOrigin says which cross-origin requests a session cookie may
// authenticate. By default, a request that changes state (any method but
// GET, HEAD and OPTIONS) and carries its credential in a cookie is refused
// with 403 forbidden when a browser says it comes from another origin
// (http.CrossOriginProtection: Sec-Fetch-Site, else Origin against Host):
// a page elsewhere cannot act with the person's cookies. A Bearer
// credential is not affected: a browser never attaches one on its own.
type CrossOrigin struct {
	// TrustedOrigins are other origins ("https://app.example.com") whose
	// pages may send such requests. Same-origin requests always may.
	TrustedOrigins []string
	// AllowAll turns the check off, for an app that does its own: every
	// cross-origin request a cookie authenticates is let through.
	AllowAll bool
	// PassPreflights makes the guards (Require, RequireMachine,
	// RequireSessionOrMachine, RequireFactor, a Resource's Require, and the
	// authz guards after them) pass CORS preflights (OPTIONS with
	// Access-Control-Request-Method) on to the next handler, for an app
	// whose CORS layer sits inside them. By default a guard answers a
	// preflight itself, 204 with no body, and never runs the next handler
	// without a principal: browsers send preflights without credentials.
	// Put the CORS layer outside the guards, where it answers preflights
	// before they reach one.
	PassPreflights bool
}

// Logout configures the logout handlers.
type Logout struct {
	// Redirect, when set, makes the logout handlers answer 303 to it
	// instead of 204.
	Redirect string
	// AllRedirect, when set, is where LogoutAllHandler redirects instead,
	// so that the page can say "signed out everywhere". Empty means
	// Redirect.
	AllRedirect string
	// AllConcurrency bounds the revocations in flight during a consumer
	// logout-all. Zero means 4.
	AllConcurrency int
}

// Upstream bounds what the middleware asks of Stytch's authenticate, so that
// neither a flood of plausible garbage nor a hung Stytch can turn into a
// flood of calls or a pile of waiting goroutines, and says how long its
// answers are reused. Every zero field takes the default its comment names.
//
// The budget (Rate, Burst, and per client ClientRate, ClientBurst) is spent
// only by credentials that cannot be tied to the project cryptographically:
// an opaque token with no cached answer, a JWT while no key set is held, a
// JWT with an issuer not configured. A JWT signed by the project's key,
// stale or not, never spends it. The concurrency bound and the circuit
// breaker apply to every call.
type Upstream struct {
	// RemoteTTL is how long Stytch's answer for a credential is reused
	// before it is asked again, at most 5 min (the life of a JWT, the same
	// staleness a local check accepts). Zero means 1 min.
	RemoteTTL time.Duration
	// GoneTTL is how long Stytch's "session gone" for a credential is
	// remembered, so that a replayed dead token does not cost a call per
	// request. Zero means 30 s.
	GoneTTL time.Duration
	// RetryAfter is the Retry-After of a 503 when Stytch gave none. Zero
	// means 5 s.
	RetryAfter time.Duration

	// Rate is the budget's refill, in calls per second. Zero means 20;
	// negative means no budget at all.
	Rate float64
	// Burst is how many calls the budget allows at once. Zero means 50.
	Burst int
	// ClientKey, when set, names the client of a request (an address the
	// app trusts, say, from its proxy's header), so that one client cannot
	// spend everyone's budget: each gets ClientRate and ClientBurst of its
	// own as well. An empty key is not limited per client. Nil means no
	// per-client budget.
	ClientKey func(r *http.Request) string
	// ClientRate and ClientBurst are each client's share. Zero means 2/s
	// and 10.
	ClientRate  float64
	ClientBurst int
	// MaxClients bounds how many clients' budgets are remembered (least
	// recently seen dropped first). Zero means 10,000.
	MaxClients int

	// MaxInFlight bounds the calls to Stytch's authenticate in flight at
	// once in this process. Zero means 32.
	MaxInFlight int
	// SlotWait is how long a call waits for a free slot before its request
	// is answered 503. Zero means 100 ms.
	SlotWait time.Duration

	// BreakerFailures is how many calls in a row must fail (Stytch
	// unreachable, 5xx, 429, timeouts) before calls pause. Zero means 5;
	// negative means never.
	BreakerFailures int
	// BreakerCooldown is how long calls pause: requests that need Stytch
	// are answered 503 at once, then one call tries again. Zero means 2 s.
	BreakerCooldown time.Duration
}

// withDefaults returns u with its zero fields set.
func (u Upstream) withDefaults() Upstream {
	u.RemoteTTL = cmp.Or(u.RemoteTTL, defaultRemoteTTL)
	u.GoneTTL = cmp.Or(u.GoneTTL, defaultGoneTTL)
	u.RetryAfter = cmp.Or(u.RetryAfter, 5*time.Second)
	u.Rate = cmp.Or(u.Rate, defaultUpstreamRate)
	u.Burst = cmp.Or(u.Burst, defaultUpstreamBurst)
	u.ClientRate = cmp.Or(u.ClientRate, defaultClientRate)
	u.ClientBurst = cmp.Or(u.ClientBurst, defaultClientBurst)
	u.MaxClients = cmp.Or(u.MaxClients, defaultMaxClients)
	u.MaxInFlight = cmp.Or(u.MaxInFlight, defaultMaxInFlight)
	u.SlotWait = cmp.Or(u.SlotWait, defaultSlotWait)
	u.BreakerFailures = cmp.Or(u.BreakerFailures, defaultBreakerFailures)
	u.BreakerCooldown = cmp.Or(u.BreakerCooldown, defaultBreakerCooldown)
	return u
}

// Hooks are called as requests are authenticated, for counting; any may be
// nil. They are called on the request's goroutine and must be fast.
type Hooks struct {
	// Local is called for a session verified from a JWT, without Stytch.
	Local func()
	// Reused is called for a session answered from the RemoteCache.
	Reused func()
	// Remote is called for each call to Stytch's authenticate, once per
	// call however many requests share it, with its error or nil.
	Remote func(err error)
	// Refused is called for each refused request, with its code.
	Refused func(code string)
	// Shed is called for each request answered 503 without asking Stytch,
	// with the reason: "budget" (the budget for credentials nothing ties
	// to the project is spent), "client_budget" (this client's share of it,
	// Upstream.ClientKey), "concurrency" (Upstream.MaxInFlight calls in
	// flight, none ended within Upstream.SlotWait) or "circuit_open"
	// (Stytch kept failing; calls pause for Upstream.BreakerCooldown).
	Shed func(reason string)
	// RevokeFailed is called when the RevocationList could not record a
	// logout; the logout then answers 503.
	RevokeFailed func(err error)
	// Revoked is called when a logout (or logout-everywhere, or a session
	// ended from the sessions page) is recorded in the RevocationList, with
	// how many sessions it ended.
	Revoked func(sessions int)
	// Marked is called when a webhook's change to a user or member is
	// recorded (WebhookHandler), with the event's type, as Stytch names it
	// ("dashboard.user.delete", "scim.member.update", ...).
	Marked func(event string)
	// Decided is called once for each request a guard decides
	// (Authenticate, Require, the machine routes), once the decision is
	// made and before the request goes on or is answered, with the
	// request's context (a span started from it is a child of the
	// request's) and the decision. Nil costs nothing; set, it reads the
	// clock only for a request that asks Stytch (or its recent answer).
	Decided func(ctx context.Context, d Decision)
}

// Decision is how one request was decided, for Hooks.Decided. It never
// holds a token or a cookie value.
type Decision struct {
	// Start is when the request began asking Stytch (or its recent
	// answer, Upstream.RemoteTTL), and Duration how long that took; both
	// zero for a decision made here, which takes well under a microsecond.
	Start    time.Time
	Duration time.Duration
	// Outcome is "authenticated", "anonymous" (no session where none is
	// required), "refused", or "shed" (answered 503 without asking Stytch:
	// see Hooks.Shed).
	Outcome string
	// Source, when authenticated, is "local" (the JWT alone, or an M2M
	// token), "cached" (Stytch's recent answer, Upstream.RemoteTTL) or
	// "remote" (Stytch asked for this request).
	Source string
	// Code is a refusal's code (stytchguard.Code*), or the reason a request
	// was shed ("budget", "client_budget", "concurrency", "circuit_open").
	Code string
	// Subject is, when authenticated, the user or member id, or the M2M
	// token's client id.
	Subject string
	// Machine reports an M2M access token.
	Machine bool
}

// check returns one error per invalid value of cfg, each naming its field,
// joined; nil when every value is valid.
func (cfg *Config) check() error {
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, fmt.Errorf("middleware: Config.%s: "+format, append([]any{field}, args...)...))
	}
	if cfg.Client == nil {
		bad("Client", "required: the project's session.Client")
	}
	if d := cfg.Sessions.DurationMinutes; d != 0 && (d < 5 || d > 527040) {
		bad("Sessions.DurationMinutes", "%d is outside 5..527040", d)
	}
	for _, d := range []struct {
		field string
		v     time.Duration
	}{
		{"Verification.ClockTolerance", cfg.Verification.ClockTolerance},
		{"Verification.MachineMaxTokenAge", cfg.Verification.MachineMaxTokenAge},
		{"Sessions.RefreshAfter", cfg.Sessions.RefreshAfter},
		{"Upstream.RemoteTTL", cfg.Upstream.RemoteTTL},
		{"Upstream.GoneTTL", cfg.Upstream.GoneTTL},
		{"Upstream.RetryAfter", cfg.Upstream.RetryAfter},
		{"Upstream.SlotWait", cfg.Upstream.SlotWait},
		{"Upstream.BreakerCooldown", cfg.Upstream.BreakerCooldown},
	} {
		if d.v < 0 {
			bad(d.field, "%v is negative", d.v)
		}
	}
	for _, n := range []struct {
		field string
		v     float64
	}{
		{"Upstream.Burst", float64(cfg.Upstream.Burst)},
		{"Upstream.ClientRate", cfg.Upstream.ClientRate},
		{"Upstream.ClientBurst", float64(cfg.Upstream.ClientBurst)},
		{"Upstream.MaxClients", float64(cfg.Upstream.MaxClients)},
		{"Upstream.MaxInFlight", float64(cfg.Upstream.MaxInFlight)},
		{"Logout.AllConcurrency", float64(cfg.Logout.AllConcurrency)},
	} {
		if n.v < 0 {
			bad(n.field, "%v is negative", n.v)
		}
	}
	if cfg.Upstream.RemoteTTL > maxRemoteTTL {
		bad("Upstream.RemoteTTL", "%v exceeds %v, the staleness a local JWT check accepts", cfg.Upstream.RemoteTTL, maxRemoteTTL)
	}
	c := cfg.Cookies
	names := []struct{ field, name string }{
		{"Cookies.JWT", cmp.Or(c.JWT, defaultJWTCookie)},
		{"Cookies.Token", cmp.Or(c.Token, defaultTokenCookie)},
		{"Cookies.Intermediate", cmp.Or(c.Intermediate, defaultIntermediateCookie)},
	}
	if names[0].name == names[1].name {
		bad("Cookies.Token", "%q is also the JWT cookie's name", names[1].name)
	}
	for _, n := range names {
		host, secure := strings.HasPrefix(n.name, hostPrefix), strings.HasPrefix(n.name, securePrefix)
		switch {
		case !validCookieName(n.name):
			bad(n.field, "%q is not a cookie name", n.name)
		case host && c.Domain != "":
			bad(n.field, "a %s cookie takes no Domain, and Cookies.Domain is %q", hostPrefix, c.Domain)
		case (host || secure) && c.Insecure:
			bad(n.field, "a prefixed cookie needs Secure, and Cookies.Insecure drops it "+
				"(browsers take Secure cookies from http://localhost: leave Insecure unset)")
		}
	}
	for i, o := range cfg.CrossOrigin.TrustedOrigins {
		if err := http.NewCrossOriginProtection().AddTrustedOrigin(o); err != nil {
			bad(fmt.Sprintf("CrossOrigin.TrustedOrigins[%d]", i), "%w", err)
		}
	}
	return errors.Join(errs...)
}

// validCookieName reports whether name is an RFC 6265 token, as
// http.Cookie.Valid checks it.
func validCookieName(name string) bool {
	return (&http.Cookie{Name: name}).Valid() == nil
}

// withDefaults returns cfg with every zero field that has a default set,
// the stores built in this process where none were given.
func (cfg Config) withDefaults() Config {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	cfg.Cookies.JWT = cmp.Or(cfg.Cookies.JWT, defaultJWTCookie)
	cfg.Cookies.Token = cmp.Or(cfg.Cookies.Token, defaultTokenCookie)
	cfg.Cookies.Intermediate = cmp.Or(cfg.Cookies.Intermediate, defaultIntermediateCookie)
	cfg.Logout.AllConcurrency = cmp.Or(cfg.Logout.AllConcurrency, defaultLogoutAllConcurrency)
	cfg.Logout.AllRedirect = cmp.Or(cfg.Logout.AllRedirect, cfg.Logout.Redirect)
	cfg.Upstream = cfg.Upstream.withDefaults()
	if cfg.ErrorHandler == nil {
		cfg.ErrorHandler = stytchguard.WriteRefusal
	}
	return cfg
}

// Middleware authenticates requests from Stytch sessions. Build it with New;
// it is safe for concurrent use.
type Middleware struct {
	cfg  Config
	b2b  bool // the client's product line
	line line // what differs between the product lines
	// appHandler is Config.ErrorHandler as the app gave it: nil for the
	// default, which the guards fall back to on their own.
	appHandler   stytchguard.ErrorHandler
	verifier     *jwtlocal.Verifier
	ownsVerifier bool
	extract      extractorFunc
	group        singleflight.Group
	// cop is nil when CrossOrigin.AllowAll.
	cop  *http.CrossOriginProtection
	gate *gate
	// revocationTTL is how long a logout is remembered: as long as a JWT of
	// the session, or an answer about it, could still be taken as valid.
	revocationTTL time.Duration
	// sharedMarks is false when the logouts are shared but the marks are
	// only this process's: WebhookHandler refuses to start then.
	sharedMarks bool
	// Log lines that a flood could repeat are written at most this often.
	shedLog, credentialsLog, answerLog, tossLog, capLog, refusedLog rate.Sometimes
}

// New checks cfg once and returns a Middleware. It fails on a bad Config,
// with one error per invalid value, each naming its field; never because
// Stytch is down.
func New(cfg Config) (*Middleware, error) {
	if err := cfg.check(); err != nil {
		return nil, err
	}
	appHandler := cfg.ErrorHandler
	cfg = cfg.withDefaults()
	st := &cfg.Stores
	_, localLogouts := st.Revocations.(*memstore.List)
	if st.Revocations == nil {
		st.Revocations, localLogouts = memstore.NewList(memstore.Config{Now: cfg.Now, Logger: cfg.Logger}), true
	}
	sharedMarks := true
	if st.Marks == nil {
		if marks, ok := st.Revocations.(Marks); ok {
			st.Marks = marks
		} else {
			st.Marks, sharedMarks = memstore.NewMarks(memstore.Config{Now: cfg.Now, Logger: cfg.Logger}), localLogouts
		}
	}
	if st.RemoteCache == nil {
		st.RemoteCache = newRemoteCache(0, cfg.Now)
	}
	m := &Middleware{
		cfg: cfg, b2b: cfg.Client.IsB2B(), line: lineOf(cfg.Client, cfg.Claims.Decode), appHandler: appHandler, verifier: cfg.Verifier,
		extract:        extractor(cfg.Cookies.JWT, cfg.Cookies.Token),
		gate:           newGate(cfg.Upstream, cfg.Now),
		sharedMarks:    sharedMarks,
		shedLog:        rate.Sometimes{Interval: defaultShedLogEvery},
		credentialsLog: rate.Sometimes{Interval: defaultCredentialsLogEvery},
		answerLog:      rate.Sometimes{Interval: defaultCredentialsLogEvery},
		tossLog:        rate.Sometimes{Interval: defaultCredentialsLogEvery},
		capLog:         rate.Sometimes{Interval: defaultCredentialsLogEvery},
		refusedLog:     rate.Sometimes{Interval: defaultCredentialsLogEvery},
	}
	if !cfg.CrossOrigin.AllowAll {
		m.cop = http.NewCrossOriginProtection()
		for _, o := range cfg.CrossOrigin.TrustedOrigins {
			_ = m.cop.AddTrustedOrigin(o) // checked above
		}
	}
	if m.verifier == nil {
		v, err := jwtlocal.New(jwtlocal.Config{
			Client: cfg.Client, Issuers: cfg.Verification.Issuers, ClockTolerance: cfg.Verification.ClockTolerance,
			MachineMaxTokenAge: cfg.Verification.MachineMaxTokenAge, Claims: cfg.Claims, Now: cfg.Now, Logger: cfg.Logger,
		})
		if err != nil {
			return nil, fmt.Errorf("middleware: Config.Verification: %w", err)
		}
		m.verifier, m.ownsVerifier = v, true
	}
	m.revocationTTL = jwtLifetime + m.verifier.ClockTolerance() + cfg.Upstream.RemoteTTL
	return m, nil
}

// newRemoteCache returns the in-memory RemoteCache, of at most size
// sessions and, apart, size "gone" answers (10,000 each when size <= 0),
// judged by the clock now (time.Now when nil): the default of
// Stores.RemoteCache, and redisstore's local copy.
func newRemoteCache(size int, now func() time.Time) RemoteCache {
	return memstore.NewRemote(size, now,
		func(e *RemoteEntry) time.Time { return e.Until },
		func(e *RemoteEntry) bool { return e.Gone })
}

// Close releases the Verifier New built, if it built one.
func (m *Middleware) Close() {
	if m.ownsVerifier {
		m.verifier.Close()
	}
}
