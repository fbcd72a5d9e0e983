package session

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Base URLs Stytch serves its API from. A project id that starts with
// "project-live-" uses liveBaseURL, any other testBaseURL.
const (
	liveBaseURL = "https://api.stytch.com"
	testBaseURL = "https://test.stytch.com"
)

// Defaults for the zero fields of Config and RetryPolicy.
const (
	defaultTimeout          = 5 * time.Second
	defaultMaxResponseBytes = 1 << 20
	defaultUserAgent        = "stytchguard-go/1"
	defaultMaxAttempts      = 3
	defaultRetryBaseDelay   = 100 * time.Millisecond
	defaultRetryMaxDelay    = 2 * time.Second
	// defaultMaxConnsPerHost bounds the connections the default HTTP client
	// opens to Stytch, so that a slow Stytch cannot make the app open one
	// socket per waiting request.
	defaultMaxConnsPerHost = 64
)

// Config configures a Client. ProjectID and Secret are required; every other
// zero field takes the default its comment names.
type Config struct {
	// ProjectID is the Stytch project id, "project-test-..." or "project-live-...".
	ProjectID string
	// B2B says the project is a B2B one (organizations, members): the
	// middleware, the guards and the JWT verifier built from this client
	// then authenticate member sessions. False means a consumer project
	// (users). This is the one place the product line is set.
	B2B bool
	// Secret is the project's API secret. It is sent only as HTTP Basic
	// credentials and never appears in an error or log line.
	Secret string
	// BaseURL overrides the API's location: a custom domain, or the emulator
	// (stytchtest). Empty means https://api.stytch.com for live project ids
	// and https://test.stytch.com otherwise. It must be https, except on a loopback host.
	BaseURL string
	// HTTPClient sends the requests. Nil means a client of this package's own
	// with keep-alive connections, at most 64 of them to
	// Stytch at once (more calls wait for one); its Timeout, if any, applies
	// per attempt. The client is copied, and the copy follows no redirect:
	// a 3xx is an unavailable Stytch, whatever CheckRedirect says.
	HTTPClient *http.Client
	// Timeout bounds each call, retries and waits included, on top of the
	// caller's context. Zero means 5 s; negative means no bound
	// beyond the context.
	Timeout time.Duration
	// Retry is the retry policy. Nil means 3 attempts with backoff
	// from 100 ms to 2 s.
	Retry *RetryPolicy
	// UserAgent is sent on every request. Empty means "stytchguard-go/1".
	UserAgent string
	// MaxResponseBytes caps the size of a response body; a larger answer is
	// treated as unavailable. Zero means 1 MiB.
	MaxResponseBytes int64
}

// RetryPolicy says when and how a failed call is tried again. Retries happen
// on network errors, 429 (after the server's Retry-After when it sends one),
// and 502, 503 and 504; never on other statuses, and never past the call's
// deadline. Calls that are not idempotent (exchange, migrate, attest,
// exchange_access_token) are retried only on 429, which Stytch answers before
// doing anything.
type RetryPolicy struct {
	// MaxAttempts is the number of requests at most, the first included. Zero
	// means 3; 1 means no retries.
	MaxAttempts int
	// BaseDelay is the wait before the first retry; each further retry waits
	// twice as long, with random jitter taking up to half of it away. Zero
	// means 100 ms.
	BaseDelay time.Duration
	// MaxDelay caps every wait, a server's Retry-After included: when Stytch
	// asks for a longer pause, the call fails at once and reports it. Zero
	// means 2 s.
	MaxDelay time.Duration
}

// Client calls Stytch's Sessions and RBAC APIs. Consumer and B2B hold the two
// product lines' endpoints. A Client is safe for concurrent use and holds no
// state between calls but its HTTP connections.
type Client struct {
	// Consumer holds the consumer Sessions and RBAC endpoints.
	Consumer *ConsumerClient
	// B2B holds the B2B Sessions and RBAC endpoints.
	B2B *B2BClient

	t *transport
}

type transport struct {
	projectID   string
	b2b         bool
	baseURL     string
	auth        string
	http        *http.Client
	timeout     time.Duration
	retry       RetryPolicy
	userAgent   string
	maxResponse int64
}

// New checks cfg and returns a Client.
func New(cfg Config) (*Client, error) {
	if cfg.ProjectID == "" {
		return nil, errors.New("session: Config.ProjectID is required")
	}
	if cfg.Secret == "" {
		return nil, errors.New("session: Config.Secret is required")
	}
	base, err := resolveBaseURL(cfg.ProjectID, cfg.BaseURL)
	if err != nil {
		return nil, err
	}
	t := &transport{
		projectID:   cfg.ProjectID,
		b2b:         cfg.B2B,
		baseURL:     base,
		auth:        "Basic " + basicAuth(cfg.ProjectID, cfg.Secret),
		http:        cfg.HTTPClient,
		timeout:     cfg.Timeout,
		userAgent:   cfg.UserAgent,
		maxResponse: cfg.MaxResponseBytes,
	}
	if t.http == nil {
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.MaxIdleConnsPerHost = defaultMaxConnsPerHost
		tr.MaxConnsPerHost = defaultMaxConnsPerHost
		t.http = &http.Client{Transport: tr}
	} else {
		c := *t.http // a copy: the caller's client keeps its own rule
		t.http = &c
	}
	// No redirect is followed: Stytch's API never answers one, and following
	// it would send the secret (same host, another port or scheme) or a
	// session token (a 307 re-posts its body) to whoever the answer names.
	t.http.CheckRedirect = refuseRedirect
	if t.timeout == 0 {
		t.timeout = defaultTimeout
	}
	if cfg.Retry != nil {
		t.retry = *cfg.Retry
	}
	if t.retry.MaxAttempts <= 0 {
		t.retry.MaxAttempts = defaultMaxAttempts
	}
	if t.retry.BaseDelay <= 0 {
		t.retry.BaseDelay = defaultRetryBaseDelay
	}
	if t.retry.MaxDelay <= 0 {
		t.retry.MaxDelay = defaultRetryMaxDelay
	}
	if t.userAgent == "" {
		t.userAgent = defaultUserAgent
	}
	if t.maxResponse <= 0 {
		t.maxResponse = defaultMaxResponseBytes
	}
	return &Client{Consumer: &ConsumerClient{t: t}, B2B: &B2BClient{t: t}, t: t}, nil
}

// ProjectID returns the project the client speaks for.
func (c *Client) ProjectID() string { return c.t.projectID }

// IsB2B reports whether the project is a B2B one (Config.B2B).
func (c *Client) IsB2B() bool { return c.t.b2b }

// BaseURL returns the API's base URL, without a trailing slash.
func (c *Client) BaseURL() string { return c.t.baseURL }

func resolveBaseURL(projectID, override string) (string, error) {
	if override == "" {
		if strings.HasPrefix(projectID, "project-live-") {
			return liveBaseURL, nil
		}
		return testBaseURL, nil
	}
	u, err := url.Parse(strings.TrimRight(override, "/"))
	if err != nil {
		return "", fmt.Errorf("session: Config.BaseURL: %w", err)
	}
	if u.Host == "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return "", errors.New("session: Config.BaseURL must be scheme://host[:port][/path] with nothing else")
	}
	switch u.Scheme {
	case "https":
	case "http":
		if !isLoopback(u.Hostname()) {
			return "", errors.New("session: Config.BaseURL must use https unless the host is loopback")
		}
	default:
		return "", fmt.Errorf("session: Config.BaseURL has unsupported scheme %q", u.Scheme)
	}
	return u.String(), nil
}

// refuseRedirect is every client's CheckRedirect: the 3xx itself is the
// answer, and attempt reports it as unavailable.
func refuseRedirect(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func basicAuth(user, pass string) string {
	return base64.StdEncoding.EncodeToString([]byte(user + ":" + pass))
}

// call is one API operation.
type call struct {
	method string
	path   string
	query  url.Values
	body   any
	// form, when set, is the body instead, form-encoded (OAuth2's
	// endpoints).
	form       url.Values
	idempotent bool
	noAuth     bool
}

func (c call) op() string { return c.method + " " + c.path }

// do runs c with retries and decodes a success into out.
func (t *transport) do(ctx context.Context, c call, out any) error {
	var payload []byte
	if c.form != nil {
		payload = []byte(c.form.Encode())
	} else if c.body != nil {
		var err error
		if payload, err = json.Marshal(c.body); err != nil {
			return fmt.Errorf("session: encoding %s request: %w", c.op(), err)
		}
	}
	if t.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, t.timeout)
		defer cancel()
	}
	target := t.baseURL + c.path
	if len(c.query) > 0 {
		target += "?" + c.query.Encode()
	}
	unavailable := &unavailableError{Op: c.op()}
	for attempt := 1; ; attempt++ {
		unavailable.Attempts = attempt
		status, retryAfter, err := t.attempt(ctx, c, target, payload, out)
		if err == nil {
			return nil
		}
		var api *APIError
		if errors.As(err, &api) {
			unavailable.StatusCode, unavailable.RetryAfter = api.StatusCode, api.RetryAfter
		} else if status != 0 {
			unavailable.StatusCode = status
			unavailable.RetryAfter = retryAfter
		}
		if !t.retryable(c, status, err) || attempt >= t.retry.MaxAttempts || ctx.Err() != nil {
			return t.final(unavailable, err)
		}
		wait := t.backoff(attempt)
		if retryAfter > 0 {
			if retryAfter > t.retry.MaxDelay {
				return t.final(unavailable, err)
			}
			wait = retryAfter
		}
		if deadline, ok := ctx.Deadline(); ok && time.Until(deadline) <= wait {
			return t.final(unavailable, err)
		}
		timer := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			timer.Stop()
			return t.final(unavailable, err)
		case <-timer.C:
		}
	}
}

// final shapes the last error of a call: Stytch's own error answers stay
// *APIError (429 and 5xx ones included, which classify as unavailable); the
// rest become *unavailableError.
func (t *transport) final(u *unavailableError, err error) error {
	var api *APIError
	if errors.As(err, &api) {
		return api
	}
	u.Err = err
	return u
}

func (t *transport) retryable(c call, status int, err error) bool {
	var api *APIError
	isAPI := errors.As(err, &api)
	switch {
	case status == http.StatusTooManyRequests:
		return true
	case !c.idempotent:
		return false
	case status == http.StatusBadGateway, status == http.StatusServiceUnavailable, status == http.StatusGatewayTimeout:
		return true
	case status == 0 && !isAPI:
		var netErr errNetwork
		return errors.As(err, &netErr)
	default:
		return false
	}
}

// backoff returns the wait before retry number n (1-based): BaseDelay·2ⁿ⁻¹
// capped at MaxDelay, less up to half of it at random.
func (t *transport) backoff(n int) time.Duration {
	d := t.retry.BaseDelay << (n - 1)
	if d <= 0 || d > t.retry.MaxDelay {
		d = t.retry.MaxDelay
	}
	half := int64(d / 2)
	return time.Duration(half + rand.Int64N(half+1))
}

// errNetwork marks a failure to exchange a request and response at all.
type errNetwork struct{ err error }

func (e errNetwork) Error() string { return "network: " + e.err.Error() }
func (e errNetwork) Unwrap() error { return e.err }

// attempt sends one request. It returns the HTTP status (0 when none came
// back), the Retry-After asked for, and the error, if any.
func (t *transport) attempt(ctx context.Context, c call, target string, payload []byte, out any) (int, time.Duration, error) {
	var body io.Reader
	if payload != nil {
		body = bytes.NewReader(payload)
	}
	req, err := http.NewRequestWithContext(ctx, c.method, target, body)
	if err != nil {
		return 0, 0, fmt.Errorf("session: building %s request: %w", c.op(), err)
	}
	switch {
	case c.form != nil:
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	case payload != nil:
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", t.userAgent)
	if !c.noAuth {
		req.Header.Set("Authorization", t.auth)
	}
	resp, err := t.http.Do(req)
	if err != nil {
		return 0, 0, errNetwork{err: stripURL(err)}
	}
	defer resp.Body.Close()
	retryAfter := parseRetryAfter(resp.Header.Get("Retry-After"), time.Now())
	raw, err := io.ReadAll(io.LimitReader(resp.Body, t.maxResponse+1))
	if err != nil {
		return resp.StatusCode, retryAfter, errNetwork{err: fmt.Errorf("reading response: %w", stripURL(err))}
	}
	if int64(len(raw)) > t.maxResponse {
		return resp.StatusCode, retryAfter, fmt.Errorf("response body over %d bytes", t.maxResponse)
	}
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		if out == nil {
			return resp.StatusCode, 0, nil
		}
		if err := json.Unmarshal(raw, out); err != nil {
			return resp.StatusCode, 0, fmt.Errorf("malformed %d response: %w", resp.StatusCode, err)
		}
		if a, ok := out.(answer); ok {
			if p := a.problem(); p != "" {
				return resp.StatusCode, 0, invalidAnswer(p)
			}
		}
		return resp.StatusCode, 0, nil
	}
	if resp.StatusCode >= 300 && resp.StatusCode < 400 {
		// Stytch never redirects its API, and the client follows no
		// redirect: whoever answered is not Stytch.
		return resp.StatusCode, retryAfter, fmt.Errorf("status %d: a redirect, which Stytch's API never answers", resp.StatusCode)
	}
	api, err := decodeAPIError(raw)
	if err != nil || api.ErrorType == "" {
		// Not Stytch's error JSON (a proxy's page, an empty body): it says
		// nothing about the session, whatever the status.
		return resp.StatusCode, retryAfter, fmt.Errorf("status %d without a Stytch error body", resp.StatusCode)
	}
	api.StatusCode = resp.StatusCode
	api.RetryAfter = retryAfter
	return resp.StatusCode, retryAfter, api
}

// decodeAPIError reads Stytch's error JSON, or the OAuth2 shape its token
// endpoint answers in (error, error_description, error_uri), into an
// APIError: callers match one type whichever endpoint failed.
func decodeAPIError(raw []byte) (*APIError, error) {
	var body struct {
		APIError
		OAuthError       string `json:"error"`
		OAuthDescription string `json:"error_description"`
		OAuthURI         string `json:"error_uri"`
	}
	if err := json.Unmarshal(raw, &body); err != nil {
		return nil, err
	}
	api := body.APIError
	if api.ErrorType == "" {
		api.ErrorType, api.ErrorMessage, api.ErrorURL = body.OAuthError, body.OAuthDescription, body.OAuthURI
	}
	return &api, nil
}

// stripURL removes the request URL from a *url.Error: the URL carries no
// secret, but ids in query strings are still not worth repeating in logs.
func stripURL(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// parseRetryAfter reads a Retry-After header: delay seconds or an HTTP date.
func parseRetryAfter(v string, now time.Time) time.Duration {
	if v == "" {
		return 0
	}
	if secs, err := strconv.Atoi(strings.TrimSpace(v)); err == nil {
		if secs < 0 {
			return 0
		}
		return time.Duration(secs) * time.Second
	}
	if at, err := http.ParseTime(v); err == nil && at.After(now) {
		return at.Sub(now)
	}
	return 0
}

// doJSON runs c and returns its decoded answer, or nil and the error.
func doJSON[T any](ctx context.Context, t *transport, c call) (*T, error) {
	out := new(T)
	if err := t.do(ctx, c, out); err != nil {
		return nil, err
	}
	return out, nil
}

// Check makes one authenticated request to Stytch (the project's RBAC
// policy) to tell, when an app starts, a wrong project id or secret from an
// unreachable Stytch. It returns nil when Stytch accepted the credentials
// (any answer past authentication counts, whatever the project's product
// line); an error matching ErrCredentials when it refused them; an error
// matching ErrUnavailable when Stytch could not be asked. The error never
// holds the secret.
func (c *Client) Check(ctx context.Context) error {
	_, err := c.Consumer.Policy(ctx)
	if err == nil {
		return nil
	}
	switch classify(err) {
	case kindOther:
		return fmt.Errorf("session: checking credentials: %w", err)
	case kindCredentials:
		return fmt.Errorf("session: Stytch refused the credentials of project %s: check the project id and secret (and that both are of the same environment): %w", c.t.projectID, err)
	case kindUnavailable:
		return fmt.Errorf("session: Stytch at %s could not be asked whether the credentials are good: %w", c.t.baseURL, err)
	default:
		return nil // authenticated; the endpoint's own refusal says nothing about the credentials
	}
}
