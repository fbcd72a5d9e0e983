// Command nethttp is a consumer app on net/http's ServeMux, guarded by
// stytchguard. Without STYTCH_PROJECT_ID and STYTCH_SECRET it runs Stytch's
// emulator in its own process, with a demo policy and a demo sign-in form:
//
//	cd examples && go run ./nethttp [-addr 127.0.0.1:8080] [-admin-addr 127.0.0.1:9464]
//
// The public listener (-addr) serves the app and the probes a load
// balancer sends, /readyz and /livez. The admin listener (-admin-addr,
// loopback by default; "off" for none) serves /metrics to a scraper: the
// public one answers 404 there.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"syscall"

	"github.com/stytchguard/stytchguard"
	"github.com/stytchguard/stytchguard/authz"
	"github.com/stytchguard/stytchguard/examples/internal/demo"
	"github.com/stytchguard/stytchguard/middleware"
	"github.com/stytchguard/stytchguard/stytchtest"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "nethttp:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	fs := flag.NewFlagSet("nethttp", flag.ContinueOnError)
	addr := fs.String("addr", "127.0.0.1:8080", "address of the public listener (the app, /readyz and /livez)")
	adminAddr := demo.AdminFlag(fs)
	traces := fs.Bool("trace", false, "print every span (the requests', the middleware's decisions, the calls to Stytch) to stdout as JSON")
	if err := fs.Parse(args); err != nil {
		return err
	}
	var traceOut io.Writer
	if *traces {
		traceOut = stdout
	}
	tel, err := demo.NewTelemetry(traceOut)
	if err != nil {
		return err
	}
	defer func() { _ = tel.Close(context.Background()) }()
	be, err := demo.NewBackend(getenv, false, tel.HTTPClient)
	if err != nil {
		return err
	}
	defer be.Close()
	logger := slog.New(slog.NewTextHandler(stdout, nil))
	stores, err := demo.OpenStores(ctx, getenv, be.Client.ProjectID(), logger)
	if err != nil {
		return err
	}
	defer stores.Close()
	a, err := newApp(be, stores, logger, tel)
	if err != nil {
		return err
	}
	defer a.close()
	fmt.Fprintf(stdout, "revocations and Stytch's answers: %s\n", stores.Where)
	if a.webhook, err = be.Webhooks(getenv, a.mw, stdout); err != nil {
		return err
	}
	if be.Warning != nil {
		fmt.Fprintf(stdout, "warning: %v\n", be.Warning)
	}
	listening := be.Listening(getenv, a.webhook != nil, stdout)
	if be.Emulator != nil {
		fmt.Fprintf(stdout, "No STYTCH_PROJECT_ID/STYTCH_SECRET: using the Stytch emulator at %s (project %s)\n", be.Emulator.URL, be.Emulator.ProjectID())
		client, err := be.Emulator.CreateM2MClient(stytchtest.M2MClientParams{ClientName: "Demo reports job", Scopes: []string{"read:reports"}})
		if err != nil {
			return err
		}
		ready := listening
		listening = func(url string) {
			printMachineDemo(stdout, be.Emulator.URL, be.Emulator.ProjectID(), client, url)
			ready(url)
		}
	}
	admin, err := demo.OpenAdmin(*adminAddr, tel.Metrics, stdout)
	if err != nil {
		return err
	}
	return demo.Serve(ctx, *addr, tel.Handler(a.routes()), admin, listening)
}

// printMachineDemo prints the demo M2M client and one curl line that gets
// it a token from the emulator and calls GET /api/reports with it.
func printMachineDemo(w io.Writer, stytchURL, projectID string, c stytchtest.M2MClient, appURL string) {
	fmt.Fprintf(w, "Demo M2M client (scope read:reports): client_id %s, client_secret %s\n", c.ClientID, c.ClientSecret)
	token := fmt.Sprintf("curl -s -d grant_type=client_credentials -d client_id=%s -d client_secret=%s %s/v1/public/%s/oauth2/token", c.ClientID, c.ClientSecret, stytchURL, projectID)
	fmt.Fprintf(w, "Try it: curl -s -H \"Authorization: Bearer $(%s | sed -E 's/.*\"access_token\":\"([^\"]+)\".*/\\1/')\" %s/api/reports\n", token, appURL)
}

type app struct {
	be   *demo.Backend
	mw   *middleware.Middleware
	az   *authz.Authorizer
	docs demo.Documents
	site *demo.Site
	// webhook receives Stytch's webhooks; nil without a secret.
	webhook http.Handler
	tel     *demo.Telemetry
}

func newApp(be *demo.Backend, stores *demo.Stores, logger *slog.Logger, tel *demo.Telemetry) (*app, error) {
	a := &app{be: be, tel: tel}
	a.site = demo.NewSite("Notes", be, &a.docs, false)
	mw, err := middleware.New(middleware.Config{
		Client:       be.Client,
		Logger:       logger,
		Hooks:        tel.Guard.Hooks(middleware.Hooks{}),
		Stores:       middleware.Stores{Revocations: stores.Revocations, RemoteCache: stores.Remote},
		Verification: middleware.Verification{Issuers: be.Issuers},
		Cookies: middleware.Cookies{
			// Served over plain http on this machine: drop behind TLS.
			Insecure: true,
			// No script of this app reads the session cookies (it uses no
			// Stytch frontend SDK), so none may: see docs/configuration.md.
			HTTPOnly: true,
		},
		Logout:       middleware.Logout{Redirect: "/?signed_out=device", AllRedirect: "/?signed_out=everywhere"},
		SignInURL:    "/",              // a signed-out page view goes to the sign-in page
		ErrorHandler: a.site.ErrorPage, // refused page views read as pages; API calls keep JSON
	})
	if err != nil {
		return nil, err
	}
	az, err := authz.New(authz.Config{Client: be.Client, Logger: logger})
	if err != nil {
		mw.Close()
		return nil, err
	}
	a.mw, a.az = mw, az
	if err := tel.Guard.Observe(mw, az); err != nil {
		a.close()
		return nil, err
	}
	return a, nil
}

func (a *app) close() {
	a.az.Close()
	a.mw.Close()
}

func (a *app) routes() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /static/", demo.Static())
	mux.Handle("GET /readyz", a.mw.ReadyHandler(a.az)) // the key set and the RBAC policy are held
	mux.HandleFunc("GET /livez", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) })
	mux.Handle("GET /{$}", a.mw.Authenticate(http.HandlerFunc(a.site.Start)))
	mux.Handle("GET /documents", a.mw.Require(a.az.Require("documents", "read")(a.site.DocumentsPage(a.az, demo.Shared))))
	// The demo's own forms act without a session, so the middleware does not
	// see them: refuse other sites' posts to them here.
	mux.Handle("POST /demo/login", demo.SameOrigin(a.be.LoginHandler(false, a.mw.SetSessionCookies)))
	mux.Handle("POST /demo/admin", demo.SameOrigin(a.be.AdminHandler(false)))
	if a.webhook != nil {
		mux.Handle("POST /webhooks/stytch", a.webhook) // its signature is its credential
	}
	mux.Handle("POST /logout", a.mw.LogoutHandler())
	mux.Handle("POST /logout-all", a.mw.LogoutAllHandler())

	mux.Handle("GET /api/me", a.mw.Require(http.HandlerFunc(me)))
	// For other services, not people: an M2M access token with read:reports.
	mux.Handle("GET /api/reports", a.mw.RequireMachine("read:reports")(http.HandlerFunc(reports)))
	mux.Handle("GET /api/sessions", a.mw.SessionsHandler())
	mux.Handle("POST /api/sessions/end", a.mw.EndSessionHandler())       // form value session_id
	mux.Handle("POST /api/sessions/others", a.mw.SignOutOthersHandler()) // sign out my other devices
	mux.Handle("GET /api/documents", a.mw.Require(a.az.Require("documents", "read")(a.docs.ListHandler(demo.Shared))))
	mux.Handle("POST /api/documents", a.mw.Require(a.az.Require("documents", "write")(a.docs.AddHandler(demo.Shared, a.be))))
	// A POST that a session cookie authenticates is refused by the
	// middleware when another site sent it (Config.CrossOrigin).
	return mux
}

// me answers the session in the request's context.
func me(w http.ResponseWriter, r *http.Request) {
	s, _ := stytchguard.ConsumerFromContext(r.Context())
	demo.WriteJSON(w, http.StatusOK, map[string]any{
		"user_id":    s.Session.UserID,
		"session_id": s.Session.SessionID,
		"roles":      s.Session.Roles,
		"expires_at": s.Session.ExpiresAt,
		"verified":   s.Source.String(),
	})
}

// reports answers a machine client: which one asked, and a report.
func reports(w http.ResponseWriter, r *http.Request) {
	m, _ := stytchguard.MachineFromContext(r.Context())
	demo.WriteJSON(w, http.StatusOK, map[string]any{
		"client_id": m.ClientID,
		"scopes":    m.Scopes,
		"report":    map[string]any{"title": "Sign-ins this week", "sign_ins": 42},
	})
}
