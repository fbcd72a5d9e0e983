// Command chi-app is a B2B app on chi, guarded by stytchguard, with
// organization-scoped routes under /orgs/{organization_id}/. Without
// STYTCH_PROJECT_ID and STYTCH_SECRET it runs Stytch's emulator in its own
// process, with two demo organizations (the second requires MFA), a demo
// policy and a demo sign-in form:
//
//	cd examples && go run ./chi-app [-addr 127.0.0.1:8080] [-admin-addr 127.0.0.1:9464]
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

	"github.com/go-chi/chi/v5"

	"github.com/stytchguard/stytchguard"
	"github.com/stytchguard/stytchguard/authz"
	"github.com/stytchguard/stytchguard/examples/internal/demo"
	"github.com/stytchguard/stytchguard/middleware"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "chi-app:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	fs := flag.NewFlagSet("chi-app", flag.ContinueOnError)
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
	be, err := demo.NewBackend(getenv, true, tel.HTTPClient)
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
	if be.Emulator != nil {
		fmt.Fprintf(stdout, "No STYTCH_PROJECT_ID/STYTCH_SECRET: using the Stytch emulator at %s (project %s)\n", be.Emulator.URL, be.Emulator.ProjectID())
		for _, o := range be.Organizations {
			fmt.Fprintf(stdout, "demo organization %s (%s)\n", o.ID, o.Name)
		}
	}
	admin, err := demo.OpenAdmin(*adminAddr, tel.Metrics, stdout)
	if err != nil {
		return err
	}
	return demo.Serve(ctx, *addr, tel.Handler(a.routes()), admin, be.Listening(getenv, a.webhook != nil, stdout))
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
	a.site = demo.NewSite("Acme Docs", be, &a.docs, true)
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
	r := chi.NewRouter()
	r.Handle("/static/*", demo.Static())
	r.Method(http.MethodGet, "/readyz", a.mw.ReadyHandler(a.az)) // the key set and the RBAC policy are held
	r.Get("/livez", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) })
	r.With(a.mw.Authenticate).Get("/", a.site.Start)
	// The demo's own forms act without a session, so the middleware does not
	// see them: refuse other sites' posts to them here. A POST that a
	// session cookie authenticates, the middleware refuses when another site
	// sent it (Config.CrossOrigin).
	r.Method(http.MethodPost, "/demo/login", demo.SameOrigin(a.be.LoginHandler(true, a.mw.SetSessionCookies)))
	r.Method(http.MethodPost, "/demo/admin", demo.SameOrigin(a.be.AdminHandler(true)))
	// The MFA step of a switch into an organization that requires it: the
	// intermediate session token ExchangeHandler kept is its credential.
	// Only a signed-in member switches, so that requests with made-up
	// intermediate tokens are refused here, without a call to Stytch.
	r.Group(func(r chi.Router) {
		r.Use(a.mw.Require)
		r.Get("/mfa", a.site.MFAPage)
		r.Post("/mfa/send", a.site.SendCode)
		r.Post("/mfa", a.site.CheckCode(a.mw.SetSessionCookies))
	})
	if a.webhook != nil {
		r.Method(http.MethodPost, "/webhooks/stytch", a.webhook) // its signature is its credential
	}
	orgID := authz.PathValue("organization_id")
	r.Route("/orgs/{organization_id}", func(r chi.Router) {
		// Every route here belongs to the organization in the URL: a
		// member of another one is refused before any handler runs.
		r.Use(a.mw.Require, authz.RequireOrganization(orgID))
		r.Get("/", a.site.Home)
		r.With(a.az.RequireIn(orgID, authz.Permission{ResourceID: "documents", Action: "read"})).Get("/documents", a.site.DocumentsPage(a.az, demo.SessionOrganization))
		r.Method(http.MethodPost, "/switch", a.mw.ExchangeHandler())
		r.Method(http.MethodPost, "/logout", a.mw.LogoutHandler())
		r.Method(http.MethodPost, "/logout-all", a.mw.LogoutAllHandler())

		r.Get("/api/me", me)
		r.Method(http.MethodGet, "/api/sessions", a.mw.SessionsHandler())
		r.Method(http.MethodPost, "/api/sessions/end", a.mw.EndSessionHandler())
		r.Method(http.MethodPost, "/api/sessions/others", a.mw.SignOutOthersHandler())
		r.With(a.az.RequireIn(orgID, authz.Permission{ResourceID: "documents", Action: "read"})).Get("/api/documents", a.docs.ListHandler(demo.SessionOrganization))
		r.With(a.az.RequireIn(orgID, authz.Permission{ResourceID: "documents", Action: "write"})).Post("/api/documents", a.docs.AddHandler(demo.SessionOrganization, a.be))
	})
	return r
}

// me answers the member session in the request's context.
func me(w http.ResponseWriter, r *http.Request) {
	s, _ := stytchguard.MemberFromContext(r.Context())
	demo.WriteJSON(w, http.StatusOK, map[string]any{
		"member_id":       s.Session.MemberID,
		"organization_id": s.Session.OrganizationID,
		"session_id":      s.Session.MemberSessionID,
		"roles":           s.Session.Roles,
		"expires_at":      s.Session.ExpiresAt,
		"verified":        s.Source.String(),
	})
}
