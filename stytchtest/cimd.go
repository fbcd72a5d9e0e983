package stytchtest

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sync/singleflight"
)

// Client ID Metadata Documents (draft-ietf-oauth-client-id-metadata-document-00,
// the MCP 2026-07-28 authorization spec's SHOULD): a client_id that is an
// https URL names a JSON document of the client's metadata, which the
// authorization server fetches instead of a registration. Fetching a URL a
// stranger chose is a server-side request forgery waiting to happen, so the
// fetch is bounded in size and time, follows no redirect, uses no proxy,
// and dials only public addresses: the address checked is the one dialed,
// after name resolution, so that a name resolving to a private address (DNS
// rebinding) is refused as the address itself would be.

// Defaults of ClientMetadataFetch.
const (
	// DefaultClientMetadataTimeout bounds one fetch: connection, TLS,
	// headers and body.
	DefaultClientMetadataTimeout = 5 * time.Second
	// DefaultClientMetadataMaxBytes bounds a document: the draft's
	// recommended maximum (section 6.6), 5 KiB.
	DefaultClientMetadataMaxBytes = 5 << 10
	// DefaultClientMetadataCacheSize bounds the documents kept at once.
	DefaultClientMetadataCacheSize = 1000
)

const (
	// clientMetadataMaxAge caps how long a document is kept, whatever its
	// Cache-Control says (the draft, 4.4, allows an upper bound).
	clientMetadataMaxAge = 24 * time.Hour
	// clientMetadataHeuristicAge is how long a document without explicit
	// freshness (no max-age, no Expires) is kept (RFC 9111, 4.2.2).
	clientMetadataHeuristicAge = 5 * time.Minute
	// maxURILength bounds every URI the emulator takes from a client: a
	// client_id URL, redirect URIs, client_uri, logo_uri, resources.
	maxURILength = 2048
	// clientMetadataFetches bounds the fetches under way at once: past
	// it, a client_id URL not cached is refused at once, so that strangers
	// cannot turn the emulator into a crowd of requests to a host of
	// their choosing.
	clientMetadataFetches = 16
	// clientMetadataFailedAge is how long a failed fetch stands: the same
	// URL asked again meanwhile fails at once, without a fetch.
	clientMetadataFailedAge = 10 * time.Second
)

// CreationClientIDMetadataDocument is the creation_method of a client known
// by its Client ID Metadata Document. (Stytch's name for it is not
// published; this one is assumed.)
const CreationClientIDMetadataDocument = "CLIENT_ID_METADATA_DOCUMENT"

// ClientMetadataFetch says how the emulator fetches Client ID Metadata
// Documents. The zero value fetches from public addresses only, over https,
// with the defaults above.
type ClientMetadataFetch struct {
	// AllowLoopback lets documents be fetched from loopback addresses
	// (127.0.0.0/8, ::1), over https or, there only, http: a client that a
	// test or the examples serve on this machine, offline. Without
	// RootCAs, an https document on a loopback host is taken whatever its
	// certificate, as http is there. Private, link-local and other
	// non-public addresses stay refused.
	AllowLoopback bool
	// RootCAs are the certificate authorities https fetches trust; nil
	// means the system's. A test serving its document with
	// httptest.NewTLSServer passes the server's certificate here.
	RootCAs *x509.CertPool
	// Timeout bounds one fetch; zero means DefaultClientMetadataTimeout.
	Timeout time.Duration
	// MaxBytes bounds a document; zero means DefaultClientMetadataMaxBytes.
	MaxBytes int
	// CacheSize bounds the documents kept at once; zero means
	// DefaultClientMetadataCacheSize. Past it, the one that would expire
	// first is dropped.
	CacheSize int
}

// WithClientMetadataFetch sets how Client ID Metadata Documents are
// fetched. Without it, only public https addresses are fetched from.
func WithClientMetadataFetch(f ClientMetadataFetch) Option {
	return func(o *options) { o.cimd = f }
}

// ErrClientMetadata is what every failure to use a Client ID Metadata
// Document wraps: the fetch, its answer or the document.
var ErrClientMetadata = errors.New("client ID metadata document")

// cimdFetcher fetches and caches Client ID Metadata Documents. It is safe
// for concurrent use; its cache has its own lock, so that no fetch is made
// while the emulator's is held.
type cimdFetcher struct {
	cfg         ClientMetadataFetch
	https, http *http.Client // http: loopback only, with AllowLoopback
	group       singleflight.Group

	// slots holds a token for each fetch under way.
	slots chan struct{}

	mu     sync.Mutex
	cache  map[string]cimdEntry
	failed map[string]cimdFailure
}

// cimdFailure is a failed fetch, standing until expires.
type cimdFailure struct {
	err     error
	expires time.Time
}

// cimdEntry is a valid document, turned into a client, kept until expires.
type cimdEntry struct {
	client  *caClient
	expires time.Time
}

func newCIMDFetcher(cfg ClientMetadataFetch) *cimdFetcher {
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultClientMetadataTimeout
	}
	if cfg.MaxBytes <= 0 {
		cfg.MaxBytes = DefaultClientMetadataMaxBytes
	}
	if cfg.CacheSize <= 0 {
		cfg.CacheSize = DefaultClientMetadataCacheSize
	}
	f := &cimdFetcher{cfg: cfg, cache: map[string]cimdEntry{}, failed: map[string]cimdFailure{}, slots: make(chan struct{}, clientMetadataFetches)}
	f.https = f.newClient(func(ip netip.Addr) string { return refusedAddr(ip, cfg.AllowLoopback) })
	f.http = f.newClient(func(ip netip.Addr) string {
		if !ip.Unmap().IsLoopback() {
			return "not a loopback address (http is fetched from loopback only)"
		}
		return ""
	})
	// It dials loopback only, where http is fetched anyway: with
	// AllowLoopback and no RootCAs, it takes https documents there too
	// whatever their certificate (an MCP client on this machine, such as
	// the MCP Go SDK's, which serves its document over https only).
	f.http.Transport.(*http.Transport).TLSClientConfig.InsecureSkipVerify = true
	return f
}

// newClient is an HTTP client whose every connection goes to an address
// refuse finds nothing wrong with. It follows no redirect, uses no proxy
// (the proxy's address would be the one checked), keeps no idle connection.
func (f *cimdFetcher) newClient(refuse func(netip.Addr) string) *http.Client {
	dialer := &net.Dialer{
		Timeout: f.cfg.Timeout,
		// Control runs once the address is resolved and before the
		// connection is made: the address checked is the one dialed.
		Control: func(_, address string, _ syscall.RawConn) error {
			host, _, err := net.SplitHostPort(address)
			if err != nil {
				return err
			}
			ip, err := netip.ParseAddr(host)
			if err != nil {
				return fmt.Errorf("dialing %s: not an IP address", host)
			}
			if why := refuse(ip); why != "" {
				return &refusedAddrError{ip: ip, why: why}
			}
			return nil
		},
	}
	return &http.Client{
		Timeout: f.cfg.Timeout,
		Transport: &http.Transport{
			Proxy:                  nil,
			DialContext:            dialer.DialContext,
			TLSClientConfig:        &tls.Config{RootCAs: f.cfg.RootCAs, MinVersion: tls.VersionTLS12},
			TLSHandshakeTimeout:    f.cfg.Timeout,
			ResponseHeaderTimeout:  f.cfg.Timeout,
			MaxResponseHeaderBytes: 16 << 10,
			DisableKeepAlives:      true,
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// refusedAddrError is a dial to an address the fetch may not reach.
type refusedAddrError struct {
	ip  netip.Addr
	why string
}

// Error names the address; fetch tells clients less.
func (e *refusedAddrError) Error() string {
	return fmt.Sprintf("address %s is %s", e.ip, e.why)
}

// refusedAddr says why ip may not be fetched from, "" if it may: only
// public unicast addresses, and loopback ones when allowLoopback.
func refusedAddr(ip netip.Addr, allowLoopback bool) string {
	ip = ip.Unmap()
	switch {
	case ip.IsLoopback():
		if allowLoopback {
			return ""
		}
		return "a loopback address"
	case ip.IsPrivate():
		return "a private address"
	case ip.IsLinkLocalUnicast(), ip.IsLinkLocalMulticast():
		return "a link-local address"
	case ip.IsUnspecified(), ip.IsMulticast(), ip.IsInterfaceLocalMulticast():
		return "not a unicast address"
	}
	// Special-purpose ranges (RFC 6890 and its updates) that are not
	// public hosts, or that embed an IPv4 address a check on the IPv6 one
	// would miss (NAT64, 6to4, Teredo).
	for _, p := range []string{
		"0.0.0.0/8", "100.64.0.0/10", "192.0.0.0/24", "192.0.2.0/24", "198.18.0.0/15", "198.51.100.0/24",
		"203.0.113.0/24", "240.0.0.0/4",
		"::/96", "64:ff9b::/96", "64:ff9b:1::/48", "100::/64", "2001::/32", "2001:db8::/32", "2002::/16", "fec0::/10",
	} {
		if netip.MustParsePrefix(p).Contains(ip) {
			return "in the special-purpose range " + p
		}
	}
	return ""
}

// loopbackHint says where loopback documents may come from, when they may
// not.
func (f *cimdFetcher) loopbackHint() string {
	if f.cfg.AllowLoopback {
		return ""
	}
	return " (loopback ones are fetched with AllowLoopback: cmd/stytch-emulator's -cimd-loopback)"
}

// isClientIDURL reports whether a client_id is a URL, to be resolved as a
// Client ID Metadata Document rather than looked up among the clients.
func isClientIDURL(id string) bool {
	l := strings.ToLower(id)
	return strings.HasPrefix(l, "https:") || strings.HasPrefix(l, "http:")
}

// checkClientIDURL says what is wrong with a client_id URL (section 3 of
// the draft), "" if nothing: https, a host, a path other than "/", no
// dot segments, no fragment, no user or password. http only with
// AllowLoopback, to a loopback host.
func (f *cimdFetcher) checkClientIDURL(raw string) string {
	if len(raw) > maxURILength {
		return fmt.Sprintf("the client_id URL is longer than %d characters", maxURILength)
	}
	u, err := url.Parse(raw)
	switch {
	case err != nil || u.Opaque != "" || u.Host == "":
		return "the client_id is not an absolute URL with a host"
	case u.Scheme == "http":
		if !f.cfg.AllowLoopback {
			return "the client_id URL must use https"
		}
		if h := u.Hostname(); h != "localhost" && !isLoopbackIP(h) {
			return "the client_id URL uses http to a host other than the loopback one"
		}
	case u.Scheme != "https":
		return "the client_id URL must use https"
	}
	switch {
	case u.User != nil:
		return "the client_id URL has a user or password"
	case u.Fragment != "" || strings.Contains(raw, "#"):
		return "the client_id URL has a fragment"
	case u.Path == "" || u.Path == "/":
		return "the client_id URL has no path"
	}
	for _, seg := range strings.Split(u.EscapedPath(), "/") {
		switch strings.ToLower(seg) {
		case ".", "..", "%2e", "%2e%2e", ".%2e", "%2e.":
			return "the client_id URL has a dot segment"
		}
	}
	return ""
}

// client returns the client a Client ID Metadata Document describes, from
// the cache while fresh at now, else fetched and checked. ctx bounds the
// wait; the fetch itself is bounded by the configured timeout and shared
// by every caller asking for the same URL at once. Every error wraps
// ErrClientMetadata.
func (f *cimdFetcher) client(ctx, life context.Context, id string, now time.Time) (*caClient, error) {
	if msg := f.checkClientIDURL(id); msg != "" {
		return nil, fmt.Errorf("%w: %s", ErrClientMetadata, msg)
	}
	f.mu.Lock()
	entry, ok := f.cache[id]
	failed, failedOK := f.failed[id]
	f.mu.Unlock()
	if ok && now.Before(entry.expires) {
		return entry.client, nil
	}
	if failedOK && now.Before(failed.expires) {
		return nil, failed.err
	}
	ch := f.group.DoChan(id, func() (any, error) {
		select {
		case f.slots <- struct{}{}:
			defer func() { <-f.slots }()
		default:
			return nil, fmt.Errorf("%w: not fetched: %d documents are being fetched already; try again shortly", ErrClientMetadata, clientMetadataFetches)
		}
		// Not the caller's context: the fetch is shared, and bounded
		// by its own timeout and the emulator's life.
		fctx, cancel := context.WithTimeout(life, f.cfg.Timeout)
		defer cancel()
		c, err := f.fetch(fctx, id, now)
		var nf notFetched
		if errors.As(err, &nf) && life.Err() == nil {
			// No answer came: asked again at once, the same URL would
			// tie up a fetch again. A document that came and was wrong
			// is fetched again when asked, so that its fix is seen.
			f.remember(id, cimdFailure{err: err, expires: now.Add(clientMetadataFailedAge)}, now)
		}
		return c, err
	})
	select {
	case <-ctx.Done():
		return nil, fmt.Errorf("%w: %w", ErrClientMetadata, ctx.Err())
	case res := <-ch:
		if res.Err != nil {
			return nil, res.Err
		}
		return res.Val.(*caClient), nil
	}
}

// fetch gets, checks and caches the document at id.
func (f *cimdFetcher) fetch(ctx context.Context, id string, now time.Time) (*caClient, error) {
	fail := func(format string, args ...any) (*caClient, error) {
		return nil, fmt.Errorf("%w: "+format, append([]any{ErrClientMetadata}, args...)...)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, id, nil)
	if err != nil {
		return fail("%v", err)
	}
	req.Header.Set("Accept", "application/json")
	hc := f.https
	if h := req.URL.Hostname(); req.URL.Scheme == "http" ||
		f.cfg.AllowLoopback && f.cfg.RootCAs == nil && (h == "localhost" || isLoopbackIP(h)) {
		hc = f.http
	}
	resp, err := hc.Do(req)
	if err != nil {
		var refused *refusedAddrError
		switch {
		case errors.As(err, &refused):
			// Not the address: a stranger would learn what the
			// emulator's resolver says of names.
			return fail("not fetched: its address is %s%s", refused.why, f.loopbackHint())
		case errors.Is(err, context.DeadlineExceeded) || isTimeout(err):
			return nil, notFetched{fmt.Errorf("%w: not fetched within %v", ErrClientMetadata, f.cfg.Timeout)}
		}
		// Not the dial error's text: it names resolvers and addresses.
		return nil, notFetched{fmt.Errorf("%w: not fetched: no connection to its host", ErrClientMetadata)}
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode >= 300 && resp.StatusCode < 400:
		return fail("the URL answered a redirect (%d), which is not followed", resp.StatusCode)
	case resp.StatusCode != http.StatusOK:
		return fail("the URL answered %d, not 200", resp.StatusCode)
	case !isJSONMediaType(resp.Header.Get("Content-Type")):
		return fail("the document's content type is %q, not application/json", resp.Header.Get("Content-Type"))
	case resp.ContentLength > int64(f.cfg.MaxBytes):
		return fail("the document is larger than %d bytes", f.cfg.MaxBytes)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, int64(f.cfg.MaxBytes)+1))
	switch {
	case err != nil && (errors.Is(err, context.DeadlineExceeded) || isTimeout(err)):
		return fail("not read within %v", f.cfg.Timeout)
	case err != nil:
		return fail("the document could not be read")
	case len(body) > f.cfg.MaxBytes:
		return fail("the document is larger than %d bytes", f.cfg.MaxBytes)
	}
	c, msg := clientFromDocument(id, body, now)
	if msg != "" {
		return fail("%s", msg)
	}
	if life, ok := freshness(resp.Header); ok {
		f.store(id, cimdEntry{client: c, expires: now.Add(life)}, now)
	}
	return c, nil
}

// store caches an entry, dropping the expired ones, then the one that
// expires first, to stay within the cache size.
func (f *cimdFetcher) store(id string, entry cimdEntry, now time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.cache[id]; !ok && len(f.cache) >= f.cfg.CacheSize {
		var first string
		for k, v := range f.cache {
			if !now.Before(v.expires) {
				delete(f.cache, k)
			} else if first == "" || v.expires.Before(f.cache[first].expires) {
				first = k
			}
		}
		if len(f.cache) >= f.cfg.CacheSize {
			delete(f.cache, first)
		}
	}
	f.cache[id] = entry
}

// notFetched is a fetch that got no answer: no connection, or none in
// time.
type notFetched struct{ error }

func (e notFetched) Unwrap() error { return e.error }

// remember keeps a failed fetch, unless as many are kept as documents
// may be: then the expired ones are dropped, and if none was, this one is
// not kept (the bound on fetches at once still holds).
func (f *cimdFetcher) remember(id string, failure cimdFailure, now time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.failed) >= f.cfg.CacheSize {
		for k, v := range f.failed {
			if !now.Before(v.expires) {
				delete(f.failed, k)
			}
		}
		if len(f.failed) >= f.cfg.CacheSize {
			return
		}
	}
	f.failed[id] = failure
}

// cached reports whether a fresh document for id is held.
func (f *cimdFetcher) cached(id string, now time.Time) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	e, ok := f.cache[id]
	return ok && now.Before(e.expires)
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// isJSONMediaType: application/json, or application/<x>+json (the draft,
// 4.1).
func isJSONMediaType(ct string) bool {
	mt, _, err := mime.ParseMediaType(ct)
	return err == nil && (mt == "application/json" || strings.HasPrefix(mt, "application/") && strings.HasSuffix(mt, "+json"))
}

// freshness is how long a document may be kept by its caching headers
// (RFC 9111), within clientMetadataMaxAge; false when it may not be kept.
func freshness(h http.Header) (time.Duration, bool) {
	maxAge := -1
	for _, cc := range h.Values("Cache-Control") {
		for _, d := range strings.Split(cc, ",") {
			name, value, _ := strings.Cut(strings.TrimSpace(d), "=")
			switch strings.ToLower(name) {
			case "no-store", "no-cache":
				return 0, false
			case "max-age":
				n, err := strconv.Atoi(strings.Trim(value, `"`))
				if err != nil || n < 0 {
					return 0, false // a directive the cache cannot read: keep nothing
				}
				maxAge = n
			}
		}
	}
	life := clientMetadataHeuristicAge
	switch {
	case maxAge >= 0:
		life = time.Duration(maxAge) * time.Second
	case h.Get("Expires") != "":
		exp, err := http.ParseTime(h.Get("Expires"))
		date, derr := http.ParseTime(h.Get("Date"))
		if err != nil || derr != nil {
			return 0, false // an invalid Expires means already expired (RFC 9111, 5.3)
		}
		life = exp.Sub(date)
	}
	if life <= 0 {
		return 0, false
	}
	return min(life, clientMetadataMaxAge), true
}

// clientMetadataDoc is a Client ID Metadata Document: RFC 7591 client
// metadata, its client_id, and the fields the draft forbids in it.
type clientMetadataDoc struct {
	registration
	ClientID              string          `json:"client_id"`
	ClientSecret          json.RawMessage `json:"client_secret"`
	ClientSecretExpiresAt json.RawMessage `json:"client_secret_expires_at"`
	JWKSURI               string          `json:"jwks_uri"`
}

// clientFromDocument checks a document fetched from id and returns the
// client it describes, or what is wrong with it. The MCP spec requires
// client_id, client_name and redirect_uris; the draft requires client_id
// to equal the URL exactly, and forbids shared secrets.
func clientFromDocument(id string, body []byte, now time.Time) (*caClient, string) {
	var doc clientMetadataDoc
	trimmed := strings.TrimLeft(string(body), " \t\r\n")
	if !strings.HasPrefix(trimmed, "{") {
		return nil, "the document is not a JSON object"
	}
	if err := json.Unmarshal(body, &doc); err != nil {
		return nil, "the document is not valid JSON client metadata"
	}
	switch method := doc.TokenEndpointAuthMethod; {
	case doc.ClientID != id:
		return nil, "the document's client_id is not its URL"
	case strings.TrimSpace(doc.ClientName) == "":
		return nil, "the document has no client_name"
	case doc.ClientSecret != nil || doc.ClientSecretExpiresAt != nil:
		return nil, "the document holds a client_secret, which a metadata document must not"
	case method == "client_secret_basic" || method == "client_secret_post" || method == "client_secret_jwt":
		return nil, fmt.Sprintf("token_endpoint_auth_method %q rests on a shared secret, which a metadata document cannot have", method)
	case method != "" && method != "none":
		return nil, fmt.Sprintf("token_endpoint_auth_method %q is not supported: none is", method)
	}
	if _, msg := doc.registration.check(); msg != "" {
		return nil, msg
	}
	return &caClient{
		id: id, name: doc.ClientName, uri: doc.ClientURI, logo: doc.LogoURI, clientType: ClientThirdPartyPublic,
		creationMethod: CreationClientIDMetadataDocument, redirectURIs: doc.RedirectURIs, createdAt: now, metadataURL: id,
	}, ""
}
