// Command stytch-emulator serves the stytchtest emulator of Stytch's Sessions
// and RBAC API as a standalone server, for apps that are not Go tests: point
// a Stytch SDK or stytchguard at the base_url it prints.
//
// Usage:
//
//	stytch-emulator [-addr 127.0.0.1:9010] [-project-id project-test-...] [-secret ...]
//	                [-issuer https://login.example.com]
//	                [-rate-limit 100] [-rate-burst 0] [-failed-auth-share 0.5] [-failed-auth-min 100]
//	                [-webhook-url http://127.0.0.1:8080/webhooks/stytch -webhook-secret whsec_...]
//	                [-demo-roles editor] [-policy policy.json]
//	                [-authorization-url http://127.0.0.1:8080/oauth/authorize]
//	                [-dcr] [-cimd-loopback]
//
// The project's RBAC policy (consumer and B2B alike) is a demo one unless
// -policy names a JSON file of Stytch's policy shape ({"roles": [...],
// "resources": [...]}): a resource "documents" with the actions read and
// write, a role "viewer" that may read and a role "editor" that may read
// and write. The demo user and member hold the roles -demo-roles lists
// (comma-separated; default editor), so that a quickstart's guarded
// POST /documents answers 2xx for them; -demo-roles viewer shows the 403.
// Whatever the policy, both policies hold Stytch's default roles, as every
// real project's does: stytch_user in the consumer one, stytch_member and
// stytch_admin (with Stytch's permissions on its stytch.* resources) in the
// B2B one; a policy that defines one adds its permissions to Stytch's
// (docs/emulator.md, "Default roles").
//
// -webhook-url (repeatable) and -webhook-secret make it deliver Stytch's
// webhooks, signed as Svix signs them, for the user and member changes its
// admin API makes: what Stytch sends for changes made in its dashboard.
//
// -issuer makes the emulator mint JWTs as a project with a custom domain
// does, with that URL as iss; stytchguard then needs it in Issuers to verify
// them locally.
//
// Unlike the Go API's emulator, this one limits its project as Stytch does:
// 100 calls a second by default (429 too_many_requests with Retry-After; 0
// turns it off), and 429 too_few_tokens_authenticated while more than half
// of at least 100 authenticate calls in the last 10 seconds failed (0 turns
// it off). PUT /_emulator/rate_limit changes both at run time. -h prints the
// flags and exits.
//
// It serves Stytch's M2M API too: M2M clients under /v1/m2m/clients (the
// project's credentials) and the OAuth2 token endpoint
// /v1/public/<project-id>/oauth2/token (a client's own id and secret).
//
// Once listening it prints one JSON line to stdout: the base URL, the project
// id and secret, a demo consumer session and B2B member session (each
// living 60 minutes) ready to use, and a demo M2M client (scopes
// read:reports and write:reports) with its secret. Then, for people, the
// same as shell lines to copy into the terminal an app runs in:
//
//	export STYTCH_PROJECT_ID=... STYTCH_SECRET=... STYTCH_BASE_URL=...
//	export DEMO_SESSION_TOKEN=... DEMO_MEMBER_SESSION_TOKEN=...
//
// It is a Connected Apps authorization server too, its own origin playing
// the project's domain: discovery at /.well-known/oauth-authorization-server
// (and openid-configuration), the token endpoint /v1/oauth2/token
// (authorization code with PKCE, refresh tokens, RFC 8707 resources),
// introspection and revocation, and the backend's
// /v1/idp/oauth/authorize/start and /v1/idp/oauth/authorize for the app's
// consent page, whose URL -authorization-url gives (the
// authorization_endpoint of the metadata, as the dashboard sets it). The
// authorization response carries iss (RFC 9207). The demo policy's scopes
// are documents:read and documents:write.
//
// Clients identify themselves by a Client ID Metadata Document: a
// client_id that is the https URL of their metadata, fetched from public
// addresses only, unless -cimd-loopback also allows loopback ones (over
// http there too), for an MCP client that serves its document on this
// machine. Dynamic Client Registration (/v1/oauth2/register, at most 1000
// clients, 64 KiB each) is off, as in a Stytch project until its Connected
// Apps settings enable it: -dcr turns it on.
//
// It serves until SIGINT or SIGTERM, then shuts down cleanly.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/stytchguard/stytchguard/session"
	"github.com/stytchguard/stytchguard/stytchtest"
	"github.com/stytchguard/stytchguard/webhook"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "stytch-emulator:", err)
		os.Exit(1)
	}
}

// banner is the JSON line printed once the server listens.
type banner struct {
	BaseURL   string `json:"base_url"`
	ProjectID string `json:"project_id"`
	Secret    string `json:"secret"`
	Demo      struct {
		Consumer consumerDemo `json:"consumer"`
		B2B      b2bDemo      `json:"b2b"`
		M2M      m2mDemo      `json:"m2m"`
	} `json:"demo"`
}

type m2mDemo struct {
	ClientID     string   `json:"client_id"`
	ClientSecret string   `json:"client_secret"`
	Scopes       []string `json:"scopes"`
}

type consumerDemo struct {
	UserID       string `json:"user_id"`
	SessionID    string `json:"session_id"`
	SessionToken string `json:"session_token"`
	SessionJWT   string `json:"session_jwt"`
}

type b2bDemo struct {
	OrganizationID  string `json:"organization_id"`
	MemberID        string `json:"member_id"`
	MemberSessionID string `json:"member_session_id"`
	SessionToken    string `json:"session_token"`
	SessionJWT      string `json:"session_jwt"`
}

// run serves until ctx ends.
func run(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("stytch-emulator", flag.ContinueOnError)
	addr := fs.String("addr", "127.0.0.1:9010", "address to listen on (:0 picks a free port)")
	projectID := fs.String("project-id", "", "project id (default: a new project-test-<uuid>)")
	secret := fs.String("secret", "", "API secret (default: generated)")
	issuer := fs.String("issuer", "", `iss of minted JWTs, as a project with a custom domain issues them (default: "stytch.com/<project-id>")`)
	perSecond := fs.Float64("rate-limit", 100, "API calls a second the project may make, as Stytch limits it (0: no limit)")
	burst := fs.Int("rate-burst", 0, "calls that may come at once above -rate-limit (0: the rate)")
	failedShare := fs.Float64("failed-auth-share", 0.5, "refuse authenticate with 429 too_few_tokens_authenticated while more than this share of recent calls failed (0: off)")
	failedMin := fs.Int("failed-auth-min", 100, "authenticate calls in the last 10 s before -failed-auth-share applies")
	var hookURLs urlList
	fs.Var(&hookURLs, "webhook-url", "deliver Stytch's webhooks for user and member changes here (repeatable)")
	hookSecret := fs.String("webhook-secret", "", "sign webhooks with this endpoint secret (whsec_...); required with -webhook-url")
	demoRoles := fs.String("demo-roles", "editor", "roles of the demo user and member, comma-separated (the demo policy has viewer and editor)")
	policyFile := fs.String("policy", "", "a JSON file of the RBAC policy, in Stytch's shape (default: the demo policy)")
	authorizationURL := fs.String("authorization-url", "", "the app's consent page, advertised as the Connected Apps authorization_endpoint")
	dcr := fs.Bool("dcr", false, "allow Dynamic Client Registration at /v1/oauth2/register, as a project's Connected Apps settings can (Stytch: off until enabled)")
	cimdLoopback := fs.Bool("cimd-loopback", false, "fetch Client ID Metadata Documents from loopback addresses too, over http there (clients on this machine); private addresses stay refused")
	fs.SetOutput(io.Discard)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fs.SetOutput(stdout)
			fmt.Fprintln(stdout, "Usage: stytch-emulator [flags]")
			fs.PrintDefaults()
			return nil
		}
		return fmt.Errorf("%w (-h lists the flags)", err)
	}
	if *perSecond < 0 || *burst < 0 || *failedShare < 0 || *failedShare > 1 || *failedMin < 0 {
		return errors.New("rates and counts must not be negative, and -failed-auth-share is at most 1")
	}
	if len(hookURLs) > 0 {
		if _, err := webhook.New(webhook.Config{Secret: *hookSecret}); err != nil {
			return fmt.Errorf("-webhook-secret: %w", err)
		}
	}
	opts := []stytchtest.Option{
		stytchtest.WithProjectID(*projectID), stytchtest.WithSecret(*secret),
		stytchtest.WithRateLimit(stytchtest.RateLimit{PerSecond: *perSecond, Burst: *burst, FailedShare: *failedShare, MinCalls: *failedMin}),
	}
	if *issuer != "" {
		opts = append(opts, stytchtest.WithIssuer(*issuer))
	}
	if *dcr {
		opts = append(opts, stytchtest.WithDynamicClientRegistration())
	}
	if *cimdLoopback {
		opts = append(opts, stytchtest.WithClientMetadataFetch(stytchtest.ClientMetadataFetch{AllowLoopback: true}))
	}
	if len(hookURLs) > 0 {
		opts = append(opts, stytchtest.WithWebhooks(stytchtest.WebhookConfig{Secret: *hookSecret, URLs: hookURLs}))
	}
	policy, err := loadPolicy(*policyFile)
	if err != nil {
		return err
	}
	emu := stytchtest.New(opts...)
	defer emu.Close()
	emu.SetPolicy(policy)
	emu.SetB2BPolicy(policy)
	emu.SetAuthorizationURL(*authorizationURL)
	b, err := demo(emu, splitRoles(*demoRoles))
	if err != nil {
		return err
	}

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	b.BaseURL = "http://" + dialable(ln.Addr().(*net.TCPAddr))
	line, err := json.Marshal(b)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: emu, ReadHeaderTimeout: 10 * time.Second}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	if _, err := fmt.Fprintf(stdout, "%s\n", line); err != nil {
		return err
	}
	if _, err := fmt.Fprint(stdout, envLines(b)); err != nil {
		return err
	}

	select {
	case err := <-served:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	emu.Close() // wake requests held by injected latency
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-served; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// urlList is a repeatable flag.
type urlList []string

func (u *urlList) String() string { return strings.Join(*u, ",") }

func (u *urlList) Set(v string) error {
	*u = append(*u, v)
	return nil
}

// dialable turns a listening address into one a client on this machine can
// dial: an unspecified host (":0") becomes 127.0.0.1.
func dialable(a *net.TCPAddr) string {
	ip := a.IP
	if ip == nil || ip.IsUnspecified() {
		ip = net.IPv4(127, 0, 0, 1)
	}
	return net.JoinHostPort(ip.String(), fmt.Sprint(a.Port))
}

// demoPolicy is the RBAC policy a quickstart's guards decide with: viewers
// read documents, editors read and write them; and the Connected Apps
// scopes documents:read and documents:write, which a person may grant an
// agent only when their roles hold what the scope carries.
func demoPolicy() session.Policy {
	return session.Policy{
		Resources: []session.Resource{{ResourceID: "documents", Description: "the demo's documents", Actions: []string{"read", "write"}}},
		Roles: []session.Role{
			{RoleID: "viewer", Description: "reads documents", Permissions: []session.Permission{{ResourceID: "documents", Actions: []string{"read"}}}},
			{RoleID: "editor", Description: "reads and writes documents", Permissions: []session.Permission{{ResourceID: "documents", Actions: []string{"read", "write"}}}},
		},
		Scopes: []session.Scope{
			{Scope: "documents:read", Description: "read your documents", Permissions: []session.Permission{{ResourceID: "documents", Actions: []string{"read"}}}},
			{Scope: "documents:write", Description: "write documents for you", Permissions: []session.Permission{{ResourceID: "documents", Actions: []string{"write"}}}},
		},
	}
}

// loadPolicy reads a policy file, or returns the demo policy for "".
func loadPolicy(path string) (session.Policy, error) {
	if path == "" {
		return demoPolicy(), nil
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		return session.Policy{}, fmt.Errorf("-policy: %w", err)
	}
	var p session.Policy
	if err := json.Unmarshal(raw, &p); err != nil {
		return session.Policy{}, fmt.Errorf("-policy %s: %w", path, err)
	}
	if len(p.Roles) == 0 {
		return session.Policy{}, fmt.Errorf("-policy %s: no roles", path)
	}
	return p, nil
}

// splitRoles splits a comma-separated list, dropping empty entries.
func splitRoles(s string) []string {
	var out []string
	for _, r := range strings.Split(s, ",") {
		if r = strings.TrimSpace(r); r != "" {
			out = append(out, r)
		}
	}
	return out
}

// envLines is the banner as shell lines, for people: what an app's
// terminal exports to use this emulator, and the demo sessions to try.
func envLines(b banner) string {
	return "# For an app to use this emulator, in its terminal:\n" +
		"export STYTCH_PROJECT_ID=" + b.ProjectID + " STYTCH_SECRET=" + b.Secret + " STYTCH_BASE_URL=" + b.BaseURL + "\n" +
		"# The demo user's and member's sessions (Authorization: Bearer ...):\n" +
		"export DEMO_SESSION_TOKEN=" + b.Demo.Consumer.SessionToken + " DEMO_MEMBER_SESSION_TOKEN=" + b.Demo.B2B.SessionToken + "\n"
}

// demo creates a demo user and member, each with a 60-minute session and
// roles.
func demo(emu *stytchtest.Emulator, roles []string) (banner, error) {
	var b banner
	b.ProjectID, b.Secret = emu.ProjectID(), emu.Secret()
	p := stytchtest.SessionParams{Duration: 60 * time.Minute}

	u := emu.CreateUser(stytchtest.UserParams{Email: "demo@example.com", Roles: roles})
	ct, err := emu.StartSession(u.UserID, p)
	if err != nil {
		return b, err
	}
	b.Demo.Consumer = consumerDemo{UserID: u.UserID, SessionID: ct.SessionID, SessionToken: ct.SessionToken, SessionJWT: ct.SessionJWT}

	org := emu.CreateOrganization(stytchtest.OrganizationParams{Name: "Demo Organization"})
	m, err := emu.CreateMember(org.OrganizationID, stytchtest.MemberParams{Email: "demo@example.com", Name: "Demo Member", Roles: roles})
	if err != nil {
		return b, err
	}
	mt, err := emu.StartMemberSession(m.MemberID, p)
	if err != nil {
		return b, err
	}
	b.Demo.B2B = b2bDemo{OrganizationID: org.OrganizationID, MemberID: m.MemberID, MemberSessionID: mt.SessionID, SessionToken: mt.SessionToken, SessionJWT: mt.SessionJWT}

	mc, err := emu.CreateM2MClient(stytchtest.M2MClientParams{ClientName: "Demo client", Scopes: []string{"read:reports", "write:reports"}})
	if err != nil {
		return b, err
	}
	b.Demo.M2M = m2mDemo{ClientID: mc.ClientID, ClientSecret: mc.ClientSecret, Scopes: mc.Scopes}
	return b, nil
}
