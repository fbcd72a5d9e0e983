package middleware

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	lru "github.com/hashicorp/golang-lru/v2"
	"golang.org/x/time/rate"

	"github.com/stytchguard/stytchguard"
	"github.com/stytchguard/stytchguard/internal/pace"
	"github.com/stytchguard/stytchguard/jwtlocal"
	"github.com/stytchguard/stytchguard/session"
)

// ProtectedResource describes an API or MCP server that takes Connected
// Apps access tokens: the resource an OAuth client asks Stytch, the
// authorization server, for access to. See Middleware.Resource.
type ProtectedResource struct {
	// URL identifies the resource (RFC 9728's resource): the absolute
	// https URL its clients call, "https://notes.example.com/mcp"; http
	// only for localhost. Required.
	URL string
	// AuthorizationServers are the issuers of its access tokens: the
	// project's domain ("https://<noun>-<verb>-<n>.customers.stytch.dev")
	// or custom domain, each accepted by the middleware's Verifier
	// (Verification.Issuers). Empty means the Client's BaseURL, when it is
	// not Stytch's own API host (the emulator plays the domain).
	AuthorizationServers []string
	// Scopes are the scopes the resource knows, advertised as
	// scopes_supported; a client asks for them. Leave offline_access out:
	// MCP servers should not advertise it (2026-07-28); a client finds it
	// in the authorization server's metadata.
	Scopes []string
	// Name is a name for people (resource_name). Optional.
	Name string
	// Audiences make a token this resource's own: one of them must be in
	// its aud. Name URL to take the tokens clients requested for this
	// resource with RFC 8707's resource parameter (MCP clients send it),
	// or the access_token_custom_audience of the Connected Apps clients
	// made for it. Empty means no audience is required. Whatever is set, a
	// token whose aud names anything besides the project id, its own
	// client_id, URL and these (another resource, another client's custom
	// audience) is refused.
	Audiences []string
	// ClientIDs, when set, are the only Connected Apps clients whose
	// tokens are taken (client_id). Empty means any client of the project.
	//
	// With neither Audiences nor ClientIDs, every Connected Apps access
	// token of the project that names no other resource is taken, whoever
	// it was issued to; Resource logs so when built.
	ClientIDs []string
	// Introspection, when set, lets the resource ask Stytch about tokens
	// (RFC 7662), as the Connected Apps client it names. Nil means tokens
	// are only ever verified locally: valid until their exp, even after
	// their grant is revoked, and refused with 503 while no key set is
	// held.
	Introspection *Introspection
}

// Introspection is the Connected Apps client a protected resource asks
// Stytch's introspection endpoint as: one created for the resource server
// in the dashboard (a confidential client: its id and secret).
//
// What it costs Stytch is bounded three ways: each token at most once per
// Upstream.RemoteTTL (1 min); all tokens together at most Rate calls a
// second (1) on average; and after a failed call, none for 10 s at least
// (jittered up to 12.5 s), or Stytch's Retry-After when longer. A token
// that is not asked about for one of these reasons keeps its last verdict:
// one found inactive stays refused, one that verifies locally and was
// never found inactive goes on.
type Introspection struct {
	ClientID, ClientSecret string
	// After is how old (since its iat) a token that verifies locally may
	// get before it is introspected, once per Upstream.RemoteTTL: how long
	// a revoked grant's tokens keep working here. Zero means 5 minutes,
	// as for session JWTs. Tokens are introspected too, within the
	// Upstream budget, while no key set is held.
	After time.Duration
	// Rate is the ceiling on introspections of tokens that verify locally,
	// in calls per second for all of them together, with bursts of up to
	// ten seconds' worth. Past it, each token keeps its last verdict until
	// its turn comes. Zero means 1: 3,600 calls an hour at most, however
	// many tokens are in use.
	Rate float64
}

// Defaults of Introspection's zero fields.
const (
	defaultIntrospectAfter = 5 * time.Minute
	defaultIntrospectRate  = 1.0
)

// Resource guards a protected resource's routes with Connected Apps access
// tokens and serves its metadata (RFC 9728). Build one with
// Middleware.Resource.
type Resource struct {
	m           *Middleware
	cfg         ProtectedResource
	project     string // the project id, in every token's aud
	metadataURL string
	metadataAt  string // metadataURL's path
	metadata    []byte
	// answers are Stytch's introspection answers, by the token's digest:
	// fresh for Upstream.RemoteTTL, and the token's last verdict after,
	// while no call may be made; nil without Introspection.
	answers *lru.Cache[[32]byte, *introspected]
	// pace holds introspections back after a failed one; ceiling bounds
	// the rate of those of tokens that verify locally.
	pace    *pace.Pacer
	ceiling *rate.Limiter
}

// introspected is one introspection answer: the token when it is active,
// nil when it is not; fresh until until, by Config.Now.
type introspected struct {
	token *stytchguard.AccessTokenAuth
	until time.Time
}

// notAsked is an introspection not made: held back after a failure
// (paused), or past the ceiling.
type notAsked struct {
	paused *pace.PausedError // nil: the ceiling
}

func (n notAsked) Error() string {
	if n.paused != nil {
		return n.paused.Error()
	}
	return "introspection: over the ceiling (Introspection.Rate)"
}

// maxIntrospected bounds the introspection answers kept.
const maxIntrospected = 10_000

// Resource returns the guard and metadata of a protected resource: an API
// or MCP server that third-party apps and AI agents call with access
// tokens Stytch issued through Connected Apps, acting for one of the
// project's users with the scopes the user granted. The tokens are
// verified locally, with the same key set, cache and rules as session
// JWTs: a token seen before costs a cache lookup, and a forged one, or one
// signed by a key not in the set, costs no call to Stytch.
func (m *Middleware) Resource(cfg ProtectedResource) (*Resource, error) {
	u, err := url.Parse(cfg.URL)
	switch {
	case cfg.URL == "":
		return nil, errors.New("middleware: ProtectedResource.URL: required: the URL clients call")
	case err != nil || !u.IsAbs() || u.Host == "" || u.Fragment != "" || u.RawQuery != "":
		return nil, fmt.Errorf("middleware: ProtectedResource.URL: %q is not an absolute URL without query or fragment", cfg.URL)
	case u.Scheme != "https" && !(u.Scheme == "http" && (u.Hostname() == "localhost" || u.Hostname() == "127.0.0.1" || u.Hostname() == "::1")):
		return nil, fmt.Errorf("middleware: ProtectedResource.URL: %q: https is required, but on localhost", cfg.URL)
	}
	cfg.AuthorizationServers = slices.Clone(cfg.AuthorizationServers)
	if len(cfg.AuthorizationServers) == 0 {
		base := m.cfg.Client.BaseURL()
		if base == "https://api.stytch.com" || base == "https://test.stytch.com" {
			return nil, errors.New("middleware: ProtectedResource.AuthorizationServers: required with Stytch's API host: the project's domain, from the dashboard's Project overview")
		}
		cfg.AuthorizationServers = []string{base}
	}
	for i, s := range cfg.AuthorizationServers {
		cfg.AuthorizationServers[i] = strings.TrimRight(s, "/")
		if !m.verifier.AcceptsIssuer(cfg.AuthorizationServers[i]) {
			return nil, fmt.Errorf("middleware: ProtectedResource.AuthorizationServers[%d]: %q is not an issuer the Verifier accepts: add it to Verification.Issuers", i, s)
		}
	}
	cfg.Scopes = slices.Clone(cfg.Scopes)
	project := m.cfg.Client.ProjectID()
	cfg.Audiences = slices.Clone(cfg.Audiences)
	for i, a := range cfg.Audiences {
		switch {
		case a == "":
			return nil, fmt.Errorf("middleware: ProtectedResource.Audiences[%d]: empty", i)
		case a == project:
			return nil, fmt.Errorf("middleware: ProtectedResource.Audiences[%d]: %q is the project id, in every token of the project: name the resource's URL or a custom audience", i, a)
		}
	}
	cfg.ClientIDs = slices.Clone(cfg.ClientIDs)
	if i := slices.Index(cfg.ClientIDs, ""); i >= 0 {
		return nil, fmt.Errorf("middleware: ProtectedResource.ClientIDs[%d]: empty", i)
	}
	r := &Resource{m: m, cfg: cfg, project: project}
	if in := cfg.Introspection; in != nil {
		c := *in
		switch {
		case c.ClientID == "":
			return nil, errors.New("middleware: ProtectedResource.Introspection.ClientID: required: the resource's Connected Apps client")
		case c.After < 0:
			return nil, fmt.Errorf("middleware: ProtectedResource.Introspection.After: %v is negative", c.After)
		case c.Rate < 0:
			return nil, fmt.Errorf("middleware: ProtectedResource.Introspection.Rate: %v is negative", c.Rate)
		}
		c.After = cmp.Or(c.After, defaultIntrospectAfter)
		c.Rate = cmp.Or(c.Rate, defaultIntrospectRate)
		r.cfg.Introspection = &c
		r.answers, _ = lru.New[[32]byte, *introspected](maxIntrospected) // a positive size: no error
		r.pace = pace.New(pace.Config{Name: "introspection", RetryAfter: session.RetryAfter, Now: m.cfg.Now, Logger: m.cfg.Logger})
		r.ceiling = rate.NewLimiter(rate.Limit(c.Rate), max(1, int(10*c.Rate)))
	}
	// RFC 9728 3.1: the well-known path goes between the host and the
	// resource's own path.
	r.metadataAt = "/.well-known/oauth-protected-resource" + strings.TrimRight(u.EscapedPath(), "/")
	r.metadataURL = u.Scheme + "://" + u.Host + r.metadataAt
	r.metadata, err = json.Marshal(struct {
		Resource               string   `json:"resource"`
		AuthorizationServers   []string `json:"authorization_servers"`
		ScopesSupported        []string `json:"scopes_supported,omitempty"`
		BearerMethodsSupported []string `json:"bearer_methods_supported"`
		ResourceName           string   `json:"resource_name,omitempty"`
	}{cfg.URL, cfg.AuthorizationServers, cfg.Scopes, []string{"header"}, cfg.Name})
	if err != nil {
		return nil, fmt.Errorf("middleware: ProtectedResource: %w", err)
	}
	if len(cfg.Audiences) == 0 && len(cfg.ClientIDs) == 0 {
		m.cfg.Logger.LogAttrs(context.Background(), slog.LevelWarn, "stytchguard: this protected resource takes any Connected Apps access token of the project, "+
			"whichever client it was issued to and whether or not it was requested for this resource, as Stytch puts the project id in every token's aud: "+
			"set ProtectedResource.Audiences (its URL, for tokens requested with RFC 8707's resource; or the clients' access_token_custom_audience) "+
			"or ProtectedResource.ClientIDs to take only its own",
			slog.String("resource", cfg.URL), slog.String("project_id", project))
	}
	if slices.Contains(cfg.Scopes, "offline_access") {
		m.cfg.Logger.LogAttrs(context.Background(), slog.LevelWarn, "stytchguard: this protected resource advertises offline_access in scopes_supported, "+
			"which the MCP authorization spec says a resource should not: clients that want refresh tokens find it in the authorization server's metadata; "+
			"drop it from ProtectedResource.Scopes", slog.String("resource", cfg.URL))
	}
	return r, nil
}

// Authenticate is Middleware.Authenticate for routes that people and the
// resource's clients share: a person's session (and an M2M access token)
// goes on as Middleware.Authenticate takes it, and a Connected Apps access
// token, as a Bearer credential, only when Require would take it (its own,
// by AuthorizationServers, Audiences and ClientIDs; still active past
// Introspection.After), into stytchguard.AccessTokenFromContext. A token
// that is not is refused with 401 invalid_token, whose challenge names
// the metadata. No scope is asked for here: put the authz guards after it,
// which decide a person by their roles and a token by its scopes, or
// check stytchguard.AccessTokenAuth.HasScopes in the handler. While no key
// set is held, an access token here is a 503 (Require introspects it, with
// Introspection).
//
// On routes behind Middleware.Authenticate or Middleware.Require, and the
// guards built on them, a Connected Apps access token is refused with 401:
// this is how a route opts in.
func (r *Resource) Authenticate(next http.Handler) http.Handler {
	return r.m.handler(next, false, nil, r)
}

// MetadataURL is where the resource's metadata is served, as the
// refusals' challenges name it (resource_metadata): the resource's host,
// then /.well-known/oauth-protected-resource, then the resource's path.
func (r *Resource) MetadataURL() string { return r.metadataURL }

// MetadataPath is MetadataURL's path, to route MetadataHandler at.
func (r *Resource) MetadataPath() string { return r.metadataAt }

// MetadataHandler serves the resource's metadata (RFC 9728): its URL, the
// authorization servers, the scopes and the bearer method, to any origin
// (clients discover it from browsers too). Route it at MetadataPath.
func (r *Resource) MetadataHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		h := w.Header()
		h.Set("Access-Control-Allow-Origin", "*")
		switch req.Method {
		case http.MethodGet, http.MethodHead:
		case http.MethodOptions:
			h.Set("Access-Control-Allow-Methods", "GET, HEAD")
			w.WriteHeader(http.StatusNoContent)
			return
		default:
			h.Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		h.Set("Content-Type", "application/json")
		h.Set("Cache-Control", "public, max-age=3600")
		_, _ = w.Write(r.metadata)
	})
}

// Require returns a guard for the resource's routes: the request must carry,
// as "Authorization: Bearer", a Connected Apps access token of the project,
// from one of the AuthorizationServers, that is the resource's own (its aud
// names no other resource, and one of Audiences when they are set; its
// client is one of ClientIDs when they are set), granting every one of
// scopes (by name: stytchguard.AccessTokenAuth.HasScopes). The token is put
// in the context (stytchguard.AccessTokenFromContext). Refusals carry RFC
// 6750 challenges naming the metadata (resource_metadata) and the scopes:
//   - no credential: 401, from which a client discovers the authorization
//     server;
//   - a token that is not a valid access token (forged, expired, another
//     project's, a session JWT, an M2M token, an opaque token, a cookie):
//     401 invalid_token, decided here without asking Stytch;
//   - a valid access token that is not the resource's own (another
//     resource's, or not requested for this one, or another client's):
//     401 invalid_token, decided here without asking Stytch;
//   - a valid token without the scopes: 403 insufficient_scope;
//   - no key set held yet to verify with: 503, with Retry-After.
//
// With ProtectedResource.Introspection, a token past Introspection.After
// is also asked about (refused with 401 invalid_token if its grant was
// revoked), and while no key set is held tokens are introspected rather
// than refused.
//
// With no scopes, any valid access token will do. Permissions beyond scopes
// are the app's: a token acts for its subject with at most what the
// subject's roles allow, since Stytch lets a person grant only the scopes
// whose permissions their roles hold (scope_results' is_grantable), but a
// role taken away later stays in an issued token's scopes until its exp.
func (r *Resource) Require(scopes ...string) func(http.Handler) http.Handler {
	scopes = slices.Clone(scopes)
	m := r.m
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
			if m.preflight(w, req, next) {
				return
			}
			// The token's auth is written here, on this stack: the
			// request's one context value is its only copy on the heap.
			var local auth
			a, e := r.resolve(req, scopes, &local)
			if m.cfg.Hooks.Decided != nil {
				m.decided(req.Context(), time.Time{}, a, e) // no clock read: the usual decision is local
			}
			if e != nil {
				m.refuse(w, req, e)
				return
			}
			next.ServeHTTP(w, req.WithContext(m.context(req.Context(), a)))
		})
	}
}

// resolve is the pipeline for the resource's routes: only an access token
// of the resource's own (token) that verifies locally (or, with
// Introspection and no key set, that Stytch says is active), as a Bearer
// credential, with scopes, is let through, written to dst. Stytch is asked
// only with Introspection.
func (r *Resource) resolve(req *http.Request, scopes []string, dst *auth) (*auth, *stytchguard.Refusal) {
	cred, e := r.m.extract(req)
	switch {
	case e != nil:
		return nil, r.pointing(e)
	case cred.Empty():
		return nil, r.refusal(scopes, http.StatusUnauthorized, stytchguard.CodeUnauthenticated, "an access token is required",
			"no Authorization: Bearer header", nil)
	case cred.From != fromHeader:
		return nil, r.refusal(scopes, http.StatusUnauthorized, stytchguard.CodeUnauthenticated, "an access token is required",
			"a session cookie came; an access token comes as Authorization: Bearer", nil)
	case cred.JWT == "":
		return nil, r.refusal(scopes, http.StatusUnauthorized, stytchguard.CodeInvalidToken, "the access token is not valid",
			"an opaque token came; Connected Apps access tokens are JWTs", nil)
	}
	j := r.m.judge(req.Context(), cred)
	if a, e, ok := r.token(req, cred, &j, scopes, dst); ok {
		return a, e
	}
	switch {
	case j.outcome == jwtlocal.ErrKeyUnknown:
		return nil, r.pointing(r.m.errNoKeys(j.err))
	case j.machine():
		return nil, r.refusal(scopes, http.StatusUnauthorized, stytchguard.CodeInvalidToken, "the access token is not valid",
			"an M2M access token came; this resource takes a Connected App's access token, acting for a person", nil)
	case j.session():
		return nil, r.refusal(scopes, http.StatusUnauthorized, stytchguard.CodeInvalidToken, "the access token is not valid",
			"a session JWT came; this resource takes a Connected App's access token", nil)
	}
	return nil, r.refusal(scopes, http.StatusUnauthorized, stytchguard.CodeInvalidToken, "the access token is not valid", errString(j.err), j.err)
}

// token decides a Bearer JWT judged j that is, or (no key set held, with
// Introspection) may be, a Connected Apps access token, and reports
// whether it was one: let through, written to dst, when it is the
// resource's own (own), still active past Introspection.After, and grants
// scopes. Resource.Require and Resource.Authenticate decide access tokens
// here, and nowhere else.
func (r *Resource) token(req *http.Request, cred credential, j *judgment, scopes []string, dst *auth) (*auth, *stytchguard.Refusal, bool) {
	switch {
	case j.accessToken() && j.outcome == nil:
		a := j.verified.AccessToken
		if msg, why := r.own(a); why != "" {
			// Another resource's, or not this one's: refused, and never
			// introspected.
			return nil, r.refusal(scopes, http.StatusUnauthorized, stytchguard.CodeInvalidToken, msg, why, nil), true
		}
		if in := r.cfg.Introspection; in != nil && !r.m.cfg.Now().Before(a.IssuedAt.Add(in.After)) {
			// Old enough to ask whether its grant still stands. If Stytch
			// cannot say, what the key set proved stands.
			if asked, e := r.introspect(req, cred.JWT, false); e == nil && asked == nil {
				return nil, r.refusal(scopes, http.StatusUnauthorized, stytchguard.CodeInvalidToken, "the access token is no longer active",
					"Stytch's introspection: not active (its grant was revoked, or it was)", nil), true
			}
		} else if r.m.cfg.Hooks.Local != nil {
			r.m.cfg.Hooks.Local()
		}
		got, e := r.grant(a, scopes, dst)
		return got, e, true
	case j.outcome == jwtlocal.ErrKeyUnknown && r.cfg.Introspection != nil:
		// No key set to verify with: Stytch's word, within the budget, as
		// nothing ties the token to the project yet.
		a, e := r.introspect(req, cred.JWT, true)
		switch {
		case e != nil:
			return nil, r.pointing(e), true
		case a == nil:
			return nil, r.refusal(scopes, http.StatusUnauthorized, stytchguard.CodeInvalidToken, "the access token is not valid", "Stytch's introspection: not active", nil), true
		case !r.m.cfg.Now().Before(a.ExpiresAt):
			return nil, r.refusal(scopes, http.StatusUnauthorized, stytchguard.CodeInvalidToken, "the access token is expired or not valid yet",
				"expired at "+a.ExpiresAt.UTC().Format(time.RFC3339), nil), true
		}
		if msg, why := r.own(a); why != "" {
			return nil, r.refusal(scopes, http.StatusUnauthorized, stytchguard.CodeInvalidToken, msg, why, nil), true
		}
		got, e := r.grant(a, scopes, dst)
		return got, e, true
	case j.accessToken() && j.outcome == jwtlocal.ErrIssuerUnknown:
		return nil, r.refusal(scopes, http.StatusUnauthorized, stytchguard.CodeInvalidToken, "the access token is not valid", j.err.Error(), j.err), true
	case j.accessToken():
		return nil, r.refusal(scopes, http.StatusUnauthorized, stytchguard.CodeInvalidToken, "the access token is expired or not valid yet", j.err.Error(), j.err), true
	}
	return nil, nil, false
}

// refusal is a refusal of the resource's: its challenge names the
// metadata, and scopes.
func (r *Resource) refusal(scopes []string, status int, code, msg, why string, err error) *stytchguard.Refusal {
	return &stytchguard.Refusal{Status: status, Code: code, Message: msg, Diagnosis: why, Err: err,
		TokenPresented: code != stytchguard.CodeUnauthenticated, Scopes: scopes, ResourceMetadata: r.metadataURL}
}

// pointing returns a copy of e that names the resource's metadata: e may
// be shared, by every request that shared one call to Stytch.
func (r *Resource) pointing(e *stytchguard.Refusal) *stytchguard.Refusal {
	c := *e
	c.ResourceMetadata = r.metadataURL
	return &c
}

// own says why a valid access token is not the resource's own (a refusal's
// message, and its diagnosis), "" when it is: it comes from one of the
// AuthorizationServers; its aud names nothing
// but the project id, the token's own client (Stytch's access token page
// calls aud "the audience (client_id)", though its example holds only the
// project id), URL and Audiences, and, when Audiences are set, one of
// them; and, when ClientIDs are set, it was issued to one of them. On a
// cache hit it costs a few comparisons of short strings, and allocates
// nothing unless it refuses.
func (r *Resource) own(a *stytchguard.AccessTokenAuth) (msg, why string) {
	msg = "the access token is not for this resource"
	if !slices.Contains(r.cfg.AuthorizationServers, a.Issuer) {
		return "the access token comes from an authorization server this resource does not name", fmt.Sprintf("issuer %q is not an authorization server of this resource (%s)", a.Issuer, strings.Join(r.cfg.AuthorizationServers, ", "))
	}
	named := len(r.cfg.Audiences) == 0
	for _, aud := range a.Audience {
		switch {
		case aud == r.project, aud == a.ClientID:
		case slices.Contains(r.cfg.Audiences, aud):
			named = true
		case aud == r.cfg.URL:
		default:
			return msg, fmt.Sprintf("aud names %q, which is neither the project id, nor its client, nor this resource (%s): the token is another resource's", aud, r.names())
		}
	}
	if !named {
		return msg, fmt.Sprintf("aud %q names none of ProtectedResource.Audiences (%s): the token was not requested for this resource "+
			"(RFC 8707 resource=%s), nor issued with a custom audience of its own", a.Audience, strings.Join(r.cfg.Audiences, ", "), r.cfg.URL)
	}
	if len(r.cfg.ClientIDs) > 0 && !slices.Contains(r.cfg.ClientIDs, a.ClientID) {
		return msg, fmt.Sprintf("client %q is not one of ProtectedResource.ClientIDs", a.ClientID)
	}
	return "", ""
}

// names lists what the resource's tokens may name in aud besides the
// project id: URL, and Audiences.
func (r *Resource) names() string {
	return strings.Join(append([]string{r.cfg.URL}, r.cfg.Audiences...), ", ")
}

// grant lets a token of the resource's own through, written to dst, when
// it grants scopes.
func (r *Resource) grant(a *stytchguard.AccessTokenAuth, scopes []string, dst *auth) (*auth, *stytchguard.Refusal) {
	if !a.HasScopes(scopes...) {
		return nil, r.refusal(scopes, http.StatusForbidden, stytchguard.CodeInsufficientScope, "the access token lacks scope "+strings.Join(scopes, " and "),
			"the token of client "+a.ClientID+" grants "+strings.Join(a.Scopes, " "), nil)
	}
	*dst = auth{access: a, expires: a.ExpiresAt}
	return dst, nil
}

// introspect asks Stytch about token, or its recent answer: the token when
// it is active, nil when it is not, or the refusal when Stytch could not be
// asked (503). When spends, the call is paid from the upstream budget (a
// token no key set ties to the project); otherwise it is a token that
// verifies locally, and the call is paid from the ceiling
// (Introspection.Rate). A token not asked about, past the ceiling or while
// calls are held back after a failure, keeps its last verdict when it has
// one; so it does when the call fails. Identical concurrent asks share one
// call.
func (r *Resource) introspect(req *http.Request, token string, spends bool) (*stytchguard.AccessTokenAuth, *stytchguard.Refusal) {
	m, ctx := r.m, req.Context()
	key := sha256.Sum256([]byte(token))
	last, known := r.answers.Get(key)
	if known && m.cfg.Now().Before(last.until) {
		if m.cfg.Hooks.Reused != nil {
			m.cfg.Hooks.Reused()
		}
		return last.token, nil
	}
	ch := m.group.DoChan("introspect\x00"+string(key[:]), func() (any, error) {
		if err := r.pace.Allow(); err != nil {
			return nil, notAsked{paused: err.(*pace.PausedError)}
		}
		if spends { // once for all the requests that share the call
			if reason := m.gate.spend(req); reason != "" {
				return nil, reason
			}
		} else if !r.ceiling.AllowN(m.cfg.Now(), 1) {
			return nil, notAsked{}
		}
		var got *session.Introspection
		err := m.gated(context.WithoutCancel(ctx), func(ctx context.Context) (err error) {
			got, err = m.cfg.Client.IntrospectAccessToken(ctx, session.IntrospectParams{
				Token: token, ClientID: r.cfg.Introspection.ClientID, ClientSecret: r.cfg.Introspection.ClientSecret})
			return err
		})
		var shed shedError
		if errors.As(err, &shed) {
			return nil, err
		}
		if m.cfg.Hooks.Remote != nil {
			m.cfg.Hooks.Remote(err)
		}
		if err != nil {
			return nil, r.introspectionError(ctx, err)
		}
		r.pace.Succeeded()
		answer := &introspected{until: m.cfg.Now().Add(m.cfg.Upstream.RemoteTTL)}
		if got.Active {
			answer.token = &stytchguard.AccessTokenAuth{Subject: got.Subject, ClientID: got.ClientID, Scopes: strings.Fields(got.Scope),
				TokenID: got.TokenID, Issuer: got.Issuer, Audience: got.Audience, CustomClaims: map[string]any{}, Source: stytchguard.SourceStytch,
				IssuedAt: time.Unix(got.IssuedAt, 0), ExpiresAt: time.Unix(got.ExpiresAt, 0)}
		}
		r.answers.Add(key, answer)
		return answer, nil
	})
	select {
	case res := <-ch:
		var shed shedError
		var skipped notAsked
		switch {
		case res.Err == nil:
			return res.Val.(*introspected).token, nil
		case known:
			return last.token, nil // the last verdict stands
		case errors.As(res.Err, &shed):
			return nil, m.shed(ctx, shed)
		case errors.As(res.Err, &skipped):
			retry := m.cfg.Upstream.RetryAfter
			if skipped.paused != nil {
				retry = max(time.Second, skipped.paused.Until.Sub(m.cfg.Now()))
			}
			return nil, &stytchguard.Refusal{Status: http.StatusServiceUnavailable, Code: stytchguard.CodeUnavailable,
				Message: "Stytch is unavailable; try again later", RetryAfter: retry, Err: skipped}
		}
		return nil, res.Err.(*stytchguard.Refusal)
	case <-ctx.Done():
		return nil, &stytchguard.Refusal{Status: http.StatusServiceUnavailable, Code: stytchguard.CodeUnavailable, Message: "the request ended before Stytch answered", RetryAfter: m.cfg.Upstream.RetryAfter, Err: ctx.Err()}
	}
}

// introspectionError answers a failed introspection: 503, never a sign-out,
// as the token itself was not found wanting; and holds introspections back
// (r.pace), logging the failure at most once a minute. Stytch refusing the
// request (the client's credentials, say) is logged as the
// misconfiguration it is.
func (r *Resource) introspectionError(ctx context.Context, err error) *stytchguard.Refusal {
	var api *session.APIError
	requestID := ""
	if errors.As(err, &api) {
		requestID = api.RequestID
	}
	attrs := []slog.Attr{slog.String("client_id", r.cfg.Introspection.ClientID), slog.String("stytch_request_id", requestID)}
	pause := r.pace.Failed(ctx, err, slog.LevelWarn, "stytchguard: Stytch's introspection failed; tokens that verify locally keep their last verdict, "+
		"others answer 503 until it answers: if it lasts, check that base_url (STYTCH_BASE_URL) is Stytch's, or the emulator's",
		append(attrs, slog.String("base_url", r.m.cfg.Client.BaseURL()))...)
	if api != nil && api.StatusCode >= 400 && api.StatusCode < 500 && api.StatusCode != http.StatusTooManyRequests {
		r.m.credentialsLog.Do(func() {
			r.m.cfg.Logger.LogAttrs(ctx, slog.LevelError, "stytchguard: Stytch refused the protected resource's introspection request; "+
				"tokens that need it answer 503: check ProtectedResource.Introspection's client id and secret",
				append(attrs, slog.String("error_type", api.ErrorType))...)
		})
	}
	return &stytchguard.Refusal{Status: http.StatusServiceUnavailable, Code: stytchguard.CodeUnavailable, Message: "Stytch is unavailable; try again later",
		RetryAfter: pause, RequestID: requestID, Err: err}
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// accessToken answers a Connected Apps access token on the session routes:
// res, when set (Resource.Authenticate), decides it as its guard does,
// without scopes, when it comes as a Bearer credential. Otherwise it is
// refused with 401: a token is taken only by the resource it is for, and
// only a Resource can tell (issuer, audience, client, introspection past
// its age); the diagnosis says how a route takes one.
func (m *Middleware) accessToken(r *http.Request, cred credential, j *judgment, res *Resource, dst *auth) (*auth, *stytchguard.Refusal) {
	if res != nil && cred.From == fromHeader {
		a, e, _ := res.token(r, cred, j, nil, dst)
		return a, e
	}
	why := "a Connected App's access token came, on a route for people's sessions: a route takes one only through the protected resource it is for, " +
		"which checks that it is its own: guard it with Resource.Require (then the authz guards), or Resource.Authenticate for routes people and agents share"
	if cred.From != fromHeader {
		why = "a Connected App's access token came as a cookie: it is taken only as Authorization: Bearer, by a protected resource's guards"
	}
	return nil, &stytchguard.Refusal{Status: http.StatusUnauthorized, Code: stytchguard.CodeInvalidToken, Message: "the access token is not taken here",
		Diagnosis: why, TokenPresented: true, Err: j.err}
}
