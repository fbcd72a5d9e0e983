package authz

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	lru "github.com/hashicorp/golang-lru/v2"

	"github.com/stytchguard/stytchguard"
	"github.com/stytchguard/stytchguard/internal/pace"
	"github.com/stytchguard/stytchguard/session"
)

// Defaults for the zero fields of Config.
const (
	defaultTTL          = 5 * time.Minute
	defaultMaxStale     = time.Hour
	defaultOrgCacheSize = 10_000
)

// Errors an authorization ends in, for errors.Is.
var (
	// ErrDenied: no role the session holds grants the permission, or (B2B)
	// the session belongs to another organization. The error is a
	// *stytchguard.Refusal (403) whose Code is Stytch's error type for the
	// refusal, wrapping ErrDenied.
	ErrDenied = errors.New("authz: permission denied")
	// ErrPolicyUnavailable: no policy has been loaded, or the last good one
	// is older than MaxStale, and Stytch cannot be asked now.
	ErrPolicyUnavailable = errors.New("authz: RBAC policy unavailable")
)

// Config configures an Authorizer. Client is required; every other zero
// field takes the default its comment names.
type Config struct {
	// Client fetches the policies. Its product line (session.Config.B2B)
	// says whether member sessions are decided, with tenancy and each
	// organization's custom roles, or consumer sessions.
	Client *session.Client
	// TTL is how long a fetched policy is used before it is refreshed in the
	// background (still deciding with it meanwhile). Zero means defaultTTL.
	TTL time.Duration
	// MaxStale is how long after its fetch a policy may still decide while
	// refreshes fail; past it, decisions wait for a fetch and fail with
	// ErrPolicyUnavailable when it fails. Zero means defaultMaxStale.
	MaxStale time.Duration
	// OrgCacheSize bounds how many organizations' custom roles are kept (B2B).
	// Zero means defaultOrgCacheSize.
	OrgCacheSize int
	// Now is the clock. Nil means time.Now, and a policy's age is then read
	// on the monotonic clock alone.
	Now func() time.Time
	// Logger receives refresh failures and decisions made on a stale policy.
	// Nil means none.
	Logger *slog.Logger
}

// Authorizer answers "may this session do this here?" locally, exactly as
// Stytch's authorization_check would, from a cached and compiled copy of the
// project's RBAC policy. It is safe for concurrent use; Close waits for the
// refreshes it started.
type Authorizer struct {
	cfg     Config
	b2b     bool
	project *entry
	// scopes is the project policy's scopes, each compiled as a role named
	// by the scope, for M2M access tokens; fetched only when one comes.
	scopes *entry
	orgs   *lru.Cache[string, *entry]
	// since is how long ago a policy was loaded: by the monotonic clock
	// alone (blind to wall-clock steps) unless Config.Now is set.
	since func(time.Time) time.Duration
	// timed is set when Config.Now is not: a policy is then marked aged by
	// a timer (see policy.aged).
	timed  bool
	wg     sync.WaitGroup
	ctx    context.Context
	cancel context.CancelFunc
}

// Ready reports whether the project's policy is held: nil when it is, or,
// when none is or it is past MaxStale, after fetching it (one fetch shared
// with any decision waiting for it), what the fetch failed with, up to
// ctx's end. Called before the app serves, with a deadline, it is the
// warm-up; a readiness probe may call it as often as it likes.
func (a *Authorizer) Ready(ctx context.Context) error {
	_, _, err := a.project.index(ctx, a)
	return err
}

// PolicyAge returns how long ago the project's policy was fetched, and
// false while none is held, for a gauge.
func (a *Authorizer) PolicyAge() (time.Duration, bool) {
	p := a.project.held.Load()
	if p == nil {
		return 0, false
	}
	return a.since(p.loadedAt), true
}

// New checks cfg and returns an Authorizer. It fetches nothing yet: the
// first decision does, and every concurrent first decision shares that one
// fetch.
func New(cfg Config) (*Authorizer, error) {
	if cfg.Client == nil {
		return nil, errors.New("authz: Config.Client is required")
	}
	if cfg.TTL < 0 || cfg.MaxStale < 0 || cfg.OrgCacheSize < 0 {
		return nil, errors.New("authz: Config durations and sizes must not be negative")
	}
	if cfg.TTL == 0 {
		cfg.TTL = defaultTTL
	}
	if cfg.MaxStale == 0 {
		cfg.MaxStale = defaultMaxStale
	}
	if cfg.MaxStale < cfg.TTL {
		return nil, fmt.Errorf("authz: MaxStale %v is shorter than TTL %v", cfg.MaxStale, cfg.TTL)
	}
	if cfg.OrgCacheSize == 0 {
		cfg.OrgCacheSize = defaultOrgCacheSize
	}
	since, timed := time.Since, cfg.Now == nil
	if timed {
		cfg.Now = time.Now
	} else {
		now := cfg.Now
		since = func(t time.Time) time.Duration { return now().Sub(t) }
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	a := &Authorizer{cfg: cfg, b2b: cfg.Client.IsB2B(), since: since, timed: timed}
	a.ctx, a.cancel = context.WithCancel(context.Background())
	orgs, err := lru.New[string, *entry](cfg.OrgCacheSize)
	if err != nil {
		return nil, err
	}
	a.orgs = orgs
	// The project's roles and scopes come from one endpoint: one pacer.
	projectPace := a.pacer("RBAC policy")
	a.project = &entry{name: "project policy", fetch: a.fetchProject, pace: projectPace}
	a.scopes = &entry{name: "project policy scopes", fetch: a.fetchScopes, pace: projectPace}
	return a, nil
}

// pacer returns the pacing of fetches of the policy named: after a failure,
// none for 10 s or more (Stytch's Retry-After), each failure logged at most
// once a minute.
func (a *Authorizer) pacer(name string) *pace.Pacer {
	return pace.New(pace.Config{Name: name, RetryAfter: session.RetryAfter, Now: a.cfg.Now, Logger: a.cfg.Logger})
}

// Close stops refreshes and waits for those under way.
func (a *Authorizer) Close() {
	a.cancel()
	a.wg.Wait()
	for _, e := range append(a.orgs.Values(), a.project, a.scopes) {
		e.mu.Lock()
		if p := e.held.Load(); p != nil {
			p.stop()
		}
		e.mu.Unlock()
	}
}

func (a *Authorizer) fetchPolicy(ctx context.Context) (*session.Policy, error) {
	var p *session.Policy
	var err error
	if a.b2b {
		p, err = a.cfg.Client.B2B.Policy(ctx)
	} else {
		p, err = a.cfg.Client.Consumer.Policy(ctx)
	}
	if err == nil && p == nil {
		err = errors.New("authz: policy response without a policy")
	}
	return p, err
}

func (a *Authorizer) fetchProject(ctx context.Context) ([]session.Role, error) {
	p, err := a.fetchPolicy(ctx)
	if err != nil {
		return nil, err
	}
	return p.Roles, nil
}

// fetchScopes returns the policy's scopes as roles named by the scope, so
// that the same index decides for them.
func (a *Authorizer) fetchScopes(ctx context.Context) ([]session.Role, error) {
	p, err := a.fetchPolicy(ctx)
	if err != nil {
		return nil, err
	}
	roles := make([]session.Role, len(p.Scopes))
	for i, sc := range p.Scopes {
		roles[i] = session.Role{RoleID: sc.Scope, Description: sc.Description, Permissions: sc.Permissions}
	}
	return roles, nil
}

func (a *Authorizer) orgEntry(orgID string) *entry {
	if e, ok := a.orgs.Peek(orgID); ok {
		// Peek takes the cache's read lock; Get, which moves the entry to the
		// front, its exclusive one. The front is kept within a second.
		if now := a.cfg.Now().UnixNano(); now-e.touched.Load() > int64(time.Second) {
			e.touched.Store(now)
			a.orgs.Get(orgID)
		}
		return e
	}
	e := &entry{name: "organization policy", attrs: []slog.Attr{slog.String("organization_id", orgID)}, pace: a.pacer("RBAC organization policy"), fetch: func(ctx context.Context) ([]session.Role, error) {
		res, err := a.cfg.Client.B2B.OrgPolicy(ctx, orgID)
		var api *session.APIError
		if errors.As(err, &api) && api.StatusCode == http.StatusNotFound && api.ErrorType == "organization_not_found" {
			return []session.Role{}, nil // no such organization: no custom roles
		}
		if err != nil {
			return nil, err
		}
		return res.Roles, nil
	}}
	if prev, ok, _ := a.orgs.PeekOrAdd(orgID, e); ok {
		return prev
	}
	return e
}

// denied is a refused authorization: 403 with Stytch's error type for it.
func denied(code, message string) *stytchguard.Refusal {
	return &stytchguard.Refusal{Status: http.StatusForbidden, Code: code, Message: message, Err: ErrDenied}
}

// denial gives e the diagnosis of a permission held roles lack: the roles
// (or scopes) that would grant it.
func (ix *index) denial(e *stytchguard.Refusal, held []string, resource, action string) *stytchguard.Refusal {
	granting := make([]string, 0, 4)
	for role := range ix.roles(resource, action) {
		granting = append(granting, role)
	}
	slices.Sort(granting)
	e.Diagnosis = fmt.Sprintf("held: %s; %s:%s is granted by: %s", strings.Join(held, ", "), resource, action, strings.Join(granting, ", "))
	if len(granting) == 0 {
		e.Diagnosis = fmt.Sprintf("held: %s; no role of the policy grants %s:%s", strings.Join(held, ", "), resource, action)
	}
	return e
}

// Check is one authorization question.
type Check struct {
	// Roles are the roles the session holds.
	Roles []string
	// SessionOrganizationID is the member session's organization (B2B).
	SessionOrganizationID string
	// OrganizationID is the organization acted in (B2B); empty means the
	// session's own.
	OrganizationID string
	// ResourceID and Action name the permission.
	ResourceID, Action string
}

// Authorize decides c as Stytch would: for B2B the organization first
// (tenancy), then the roles. It returns the verdict with the granting roles,
// a *stytchguard.Refusal wrapping ErrDenied, or ErrPolicyUnavailable.
func (a *Authorizer) Authorize(ctx context.Context, c Check) (*session.Verdict, error) {
	var v *session.Verdict
	if a.b2b {
		org := c.OrganizationID
		if org == "" {
			org = c.SessionOrganizationID
		}
		if org != c.SessionOrganizationID {
			e := denied(stytchguard.CodeWrongOrganization, "the member session belongs to another organization")
			e.Diagnosis = fmt.Sprintf("the session's organization %q, the request's %q", c.SessionOrganizationID, org)
			return nil, e
		}
		ix, err := a.orgIndex(ctx, org)
		if err != nil {
			return nil, err
		}
		if v = ix.verdict(c.Roles, c.ResourceID, c.Action); v == nil {
			return nil, ix.denial(denied(stytchguard.CodeMemberDenied, "the member is not authorized to perform the requested action"), c.Roles, c.ResourceID, c.Action)
		}
	} else {
		ix, _, err := a.project.index(ctx, a)
		if err != nil {
			return nil, err
		}
		if v = ix.verdict(c.Roles, c.ResourceID, c.Action); v == nil {
			return nil, ix.denial(denied(stytchguard.CodeConsumerDenied, "the user is not authorized to perform the requested action"), c.Roles, c.ResourceID, c.Action)
		}
	}
	return v, nil
}

// AuthorizeMachine decides whether an M2M access token's scopes grant
// action on resource through the project policy's scopes, as Stytch's RBAC
// does: a scope of the policy grants the permissions listed under it. The
// verdict's GrantingRoles are the granting scopes. Refused: a *stytchguard.Refusal
// with Stytch's m2m_authorization_error, wrapping ErrDenied. Machine tokens belong to no
// organization, so there is no tenancy to check: the guards refuse them on
// routes bound to one.
func (a *Authorizer) AuthorizeMachine(ctx context.Context, scopes []string, resource, action string) (*session.Verdict, error) {
	return a.authorizeScopes(ctx, scopes, resource, action, stytchguard.CodeMachineDenied, "the client is not authorized to perform the requested action on that resource")
}

// authorizeScopes decides a permission for held scopes, through the
// policy's scopes (each named scope grants its permissions), refusing with
// code and message.
func (a *Authorizer) authorizeScopes(ctx context.Context, scopes []string, resource, action, code, message string) (*session.Verdict, error) {
	ix, _, err := a.scopes.index(ctx, a)
	if err != nil {
		return nil, err
	}
	v := ix.verdict(scopes, resource, action)
	if v == nil {
		return nil, ix.denial(denied(code, message), scopes, resource, action)
	}
	return v, nil
}

// orgIndex returns the project roles merged with the organization's own,
// compiled, recompiling when either side has changed.
func (a *Authorizer) orgIndex(ctx context.Context, orgID string) (*index, error) {
	_, projectRoles, err := a.project.index(ctx, a)
	if err != nil {
		return nil, err
	}
	e := a.orgEntry(orgID)
	_, orgRoles, err := e.index(ctx, a)
	if err != nil {
		return nil, err
	}
	return e.mergedWith(projectRoles, orgRoles), nil
}
