package stytchtest

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	mrand "math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/stytchguard/stytchguard/session"
)

// Emulator is an in-memory Stytch project: its users, organizations, members,
// sessions, signing keys and RBAC policies, served over HTTP by ServeHTTP with
// the same paths, status codes and JSON as Stytch's API. Every method is safe
// for concurrent use, including while requests are being served. Create one
// with New (or NewServer, which also starts it on a loopback port).
type Emulator struct {
	projectID string
	secret    string
	env       string // "test" or "live": the middle of every id
	issuer    string
	handler   http.Handler
	ctx       context.Context // ended by Close: held requests and webhook deliveries stop
	stop      context.CancelFunc

	mu          sync.Mutex
	offset      time.Duration // added to the clock's base: Advance and SetNow move it
	frozenAt    time.Time     // the clock's base when frozen; zero: the wall clock
	rng         *mrand.Rand
	users       map[string]*user
	orgs        map[string]*organization
	members     map[string]*member
	sessions    map[string]*sess
	tokens      map[string]string // opaque session token -> session id
	keys        []*signingKey     // the last one signs
	policy      session.Policy
	b2bPolicy   session.Policy
	orgPolicies map[string][]session.Role
	accessToks  map[string]subjectRef // Connected Apps access token -> subject
	migrations  map[string]subjectRef // external session token -> subject
	trusted     map[string]subjectRef // profile id + "\x00" + token -> subject
	m2m         map[string]*m2mClient // M2M clients by id
	m2mOrder    []string              // M2M client ids in creation order, for search
	m2mTemplate map[string]any        // custom claims template of M2M access tokens
	// Connected Apps (connectedapps.go).
	authorizationURL string                  // the app's consent page; "": none set
	dcr              bool                    // Dynamic Client Registration is on
	dynamicClients   int                     // clients registration created, at most MaxDynamicClients
	cimd             *cimdFetcher            // Client ID Metadata Documents
	caClients        map[string]*caClient    // by client id
	caOrder          []string                // client ids in creation order, for search
	caConsents       map[string][]string     // grantKey -> scopes the user granted
	caCodes          map[[32]byte]*caCode    // digest of an authorization code
	caRefresh        map[[32]byte]*caRefresh // digest of a refresh token
	caRevoked        map[string]time.Time    // grantKey -> when the grant was revoked
	caRevokedJTI     map[string]bool         // access tokens revoked one by one
	pendingMFA       map[string]*pendingMFA  // intermediate session token -> the exchange awaiting MFA
	smsCodes         map[string]*smsCode     // member id -> the SMS OTP last sent to them
	smsSends         map[string][]time.Time  // member id -> when codes were sent within SMSSendWindow
	faults           map[Endpoint][]*faultState
	calls            map[Endpoint]int
	limits           *limiter // nil: no rate limiting
	webhooks         WebhookConfig
	hookQueue        chan delivery // nil until SetWebhooks
	hooksOnce        sync.Once
	hookStats        WebhookStats
}

// subjectRef names a user (consumer) or a member (B2B).
type subjectRef struct {
	id       string
	clientID string
}

// Option configures New and NewServer.
type Option func(*options)

type options struct {
	projectID string
	secret    string
	issuer    string
	start     time.Time
	frozen    bool
	seed      uint64
	seeded    bool
	rateLimit RateLimit
	webhooks  *WebhookConfig
	dcr       bool
	cimd      ClientMetadataFetch
}

// WithProjectID sets the project id. The default is a fresh
// "project-test-<uuid>"; an id starting with "project-live-" makes every id
// the emulator issues a live one.
func WithProjectID(id string) Option { return func(o *options) { o.projectID = id } }

// WithSecret sets the API secret. The default is random.
func WithSecret(secret string) Option { return func(o *options) { o.secret = secret } }

// WithIssuer sets the iss claim of minted JWTs, as Stytch does for projects
// with a custom domain (the base URL, no trailing slash). The default is
// "stytch.com/<project_id>".
func WithIssuer(iss string) Option {
	return func(o *options) { o.issuer = strings.TrimRight(iss, "/") }
}

// WithClock starts the emulator's clock at t; it then runs at wall-clock
// speed, and Advance and SetNow move it. The default is the wall clock.
func WithClock(t time.Time) Option { return func(o *options) { o.start = t } }

// WithFrozenClock starts the emulator's clock at t and stops it there: it
// moves only by Advance and SetNow, so that tests can compare timestamps to
// the second.
func WithFrozenClock(t time.Time) Option {
	return func(o *options) { o.start, o.frozen = t, true }
}

// WithSeed makes the random choices of fractional faults reproducible.
func WithSeed(seed uint64) Option { return func(o *options) { o.seed, o.seeded = seed, true } }

// New returns an emulator for one project, with one signing key, and the
// policies of a new Stytch project: a consumer policy holding the stytch_user
// role and a B2B policy holding stytch_member and stytch_admin, which every
// policy set later keeps. It serves nothing until its ServeHTTP is used; see
// NewServer.
func New(opts ...Option) *Emulator {
	o := options{}
	for _, opt := range opts {
		opt(&o)
	}
	env := "test"
	if strings.HasPrefix(o.projectID, "project-live-") {
		env = "live"
	}
	if o.projectID == "" {
		o.projectID = "project-test-" + newUUID()
	}
	if o.secret == "" {
		o.secret = "secret-" + env + "-" + randomToken(24)
	}
	if o.issuer == "" {
		o.issuer = "stytch.com/" + o.projectID
	}
	if !o.seeded {
		o.seed = mrand.Uint64()
	}
	e := &Emulator{
		projectID:    o.projectID,
		secret:       o.secret,
		env:          env,
		issuer:       o.issuer,
		rng:          mrand.New(mrand.NewPCG(o.seed, o.seed^0x9e3779b97f4a7c15)),
		users:        map[string]*user{},
		orgs:         map[string]*organization{},
		members:      map[string]*member{},
		sessions:     map[string]*sess{},
		tokens:       map[string]string{},
		orgPolicies:  map[string][]session.Role{},
		accessToks:   map[string]subjectRef{},
		migrations:   map[string]subjectRef{},
		trusted:      map[string]subjectRef{},
		m2m:          map[string]*m2mClient{},
		caClients:    map[string]*caClient{},
		caConsents:   map[string][]string{},
		caCodes:      map[[32]byte]*caCode{},
		caRefresh:    map[[32]byte]*caRefresh{},
		caRevoked:    map[string]time.Time{},
		caRevokedJTI: map[string]bool{},
		pendingMFA:   map[string]*pendingMFA{},
		smsCodes:     map[string]*smsCode{},
		smsSends:     map[string][]time.Time{},
		faults:       map[Endpoint][]*faultState{},
		calls:        map[Endpoint]int{},
		policy:       defaultConsumerPolicy(),
		b2bPolicy:    defaultB2BPolicy(),
		dcr:          o.dcr,
		cimd:         newCIMDFetcher(o.cimd),
	}
	e.ctx, e.stop = context.WithCancel(context.Background())
	switch {
	case o.frozen:
		e.frozenAt = o.start
	case !o.start.IsZero():
		e.offset = time.Until(o.start)
	}
	e.SetRateLimit(o.rateLimit)
	if o.webhooks != nil {
		e.SetWebhooks(*o.webhooks)
	}
	e.keys = append(e.keys, e.newSigningKey())
	e.handler = e.routes()
	return e
}

// ProjectID returns the project id the emulator answers for.
func (e *Emulator) ProjectID() string { return e.projectID }

// Secret returns the project's API secret.
func (e *Emulator) Secret() string { return e.secret }

// Issuer returns the iss claim of the JWTs the emulator mints.
func (e *Emulator) Issuer() string { return e.issuer }

// ServeHTTP serves Stytch's Sessions and RBAC API and the emulator's admin API
// under /_emulator/.
func (e *Emulator) ServeHTTP(w http.ResponseWriter, r *http.Request) { e.handler.ServeHTTP(w, r) }

// Close wakes every request held by an injected latency, so that a server
// serving the emulator can shut down at once, and stops webhook
// deliveries. The emulator's state stays readable.
func (e *Emulator) Close() { e.stop() }

// Now returns the emulator's current time.
func (e *Emulator) Now() time.Time {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.now()
}

// Advance moves the emulator's clock forward by d (backward if d < 0).
// Sessions expire, JWTs age and overlapping keys retire by this clock.
func (e *Emulator) Advance(d time.Duration) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.offset += d
}

// SetNow sets the emulator's clock to t; it keeps running from there.
func (e *Emulator) SetNow(t time.Time) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.offset = t.Sub(e.base())
}

// base is the clock before the offset: the frozen instant or the wall clock.
func (e *Emulator) base() time.Time {
	if !e.frozenAt.IsZero() {
		return e.frozenAt
	}
	return time.Now()
}

// now is Now for callers that hold e.mu. Timestamps have second precision,
// as Stytch's do.
func (e *Emulator) now() time.Time {
	return e.clock().UTC().Truncate(time.Second)
}

// clock is the emulator's time at full precision, for what counts time
// finer than Stytch's timestamps (the rate limits). The caller holds e.mu.
func (e *Emulator) clock() time.Time {
	return e.base().Add(e.offset)
}

// id returns a new Stytch-shaped id such as "user-test-<uuid>".
func (e *Emulator) id(kind string) string {
	return kind + "-" + e.env + "-" + newUUID()
}

func newUUID() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(fmt.Sprintf("stytchtest: crypto/rand: %v", err))
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

// randomToken returns n random bytes in URL-safe base64 without padding.
func randomToken(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(fmt.Sprintf("stytchtest: crypto/rand: %v", err))
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// newSessionToken returns an opaque session token: 44 characters of the
// URL-safe base64 alphabet, like Stytch's.
func newSessionToken() string { return randomToken(33) }
