// Command chi-app is a B2B app on chi, guarded by stytchguard, with
// organization-scoped routes under /orgs/{organization_id}/. Without
// STYTCH_PROJECT_ID and STYTCH_SECRET it runs Stytch's emulator in its own
// process, with a demo organization, a demo policy and a demo sign-in form:
//
//	cd examples && go run ./chi-app [-addr 127.0.0.1:8080]
package main

import (
	"context"
	"flag"
	"fmt"
	"html/template"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"syscall"

	"github.com/go-chi/chi/v5"

	"github.com/stytchguard/stytchguard/authz"
	"github.com/stytchguard/stytchguard/examples/internal/demo"
	"github.com/stytchguard/stytchguard/middleware"
	"github.com/stytchguard/stytchguard/session"
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
	addr := fs.String("addr", "127.0.0.1:8080", "address to listen on")
	if err := fs.Parse(args); err != nil {
		return err
	}
	be, err := demo.NewBackend(getenv, true)
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
	a, err := newApp(be, stores, logger)
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
		fmt.Fprintf(stdout, "demo organization %s (%s)\n", be.Organization.OrganizationID, be.Organization.OrganizationName)
	}
	return demo.Serve(ctx, *addr, a.routes(), be.Listening(getenv, a.webhook != nil, stdout))
}

type app struct {
	be   *demo.Backend
	mw   *middleware.Middleware
	az   *authz.Authorizer
	docs demo.Documents
	// webhook receives Stytch's webhooks; nil without a secret.
	webhook http.Handler
}

func newApp(be *demo.Backend, stores *demo.Stores, logger *slog.Logger) (*app, error) {
	mw, err := middleware.New(middleware.Config{
		Client:          be.Client,
		Revocations:     stores.Revocations,
		RemoteCache:     stores.Remote,
		Issuers:         be.Issuers,
		Logger:          logger,
		B2B:             true,
		InsecureCookies: true, // served over plain http on this machine; drop behind TLS
		LogoutRedirect:  "/",
		SignInURL:       "/",                         // a signed-out page view goes to the sign-in form
		ErrorHandler:    middleware.HTMLErrorHandler, // refused page views read as pages; API calls keep JSON
	})
	if err != nil {
		return nil, err
	}
	az, err := authz.New(authz.Config{Client: be.Client, B2B: true})
	if err != nil {
		mw.Close()
		return nil, err
	}
	return &app{be: be, mw: mw, az: az}, nil
}

func (a *app) close() {
	a.az.Close()
	a.mw.Close()
}

func (a *app) routes() http.Handler {
	r := chi.NewRouter()
	// Every state-changing route acts on a cookie session: refuse
	// cross-origin POSTs before any of them runs.
	r.Use(a.mw.Protect)
	r.With(a.mw.Authenticate).Get("/", a.page)
	r.Post("/demo/login", a.be.LoginHandler(true, a.mw.SetSessionCookies))
	r.Post("/demo/admin", a.be.AdminHandler(true))
	if a.webhook != nil {
		r.Method(http.MethodPost, "/webhooks/stytch", a.webhook) // its signature is its credential
	}
	org := authz.OrganizationFrom(authz.URLParam("organization_id"))
	r.Route("/orgs/{organization_id}", func(r chi.Router) {
		// Every route here belongs to the organization in the URL: a
		// member of another one is refused before any handler runs.
		r.Use(a.mw.Require, authz.RequireOrganization(authz.URLParam("organization_id")))
		r.Get("/api/me", me)
		r.Method(http.MethodGet, "/api/sessions", a.mw.SessionsHandler())
		r.Method(http.MethodPost, "/api/sessions/end", a.mw.EndSessionHandler())
		r.Method(http.MethodPost, "/api/sessions/others", a.mw.SignOutOthersHandler())
		r.With(a.az.Require("documents", "read", org)).Get("/api/documents", a.docs.ListHandler(demo.SessionOrganization))
		r.With(a.az.Require("documents", "write", org)).Post("/api/documents", a.docs.AddHandler(demo.SessionOrganization, author))
		r.Method(http.MethodPost, "/logout", a.mw.LogoutHandler())
		r.Method(http.MethodPost, "/logout-all", a.mw.LogoutAllHandler())
	})
	return r
}

// me answers the member session in the request's context.
func me(w http.ResponseWriter, r *http.Request) {
	s, _ := session.MemberFromContext(r.Context())
	demo.WriteJSON(w, http.StatusOK, map[string]any{
		"member_id":       s.Session.MemberID,
		"organization_id": s.Session.OrganizationID,
		"session_id":      s.Session.MemberSessionID,
		"roles":           s.Session.Roles,
		"expires_at":      s.Session.ExpiresAt,
		"verified":        s.Source.String(),
	})
}

// author is the id documents are written by.
func author(r *http.Request) string {
	s, _ := session.MemberFromContext(r.Context())
	return s.Session.MemberID
}

type pageData struct {
	Emulator     bool
	Organization session.Organization
	Signed       bool
	Session      session.MemberSession
	Email        string
	Source       string
	Sessions     []session.MemberSession
	Error        string
}

func (a *app) page(w http.ResponseWriter, r *http.Request) {
	d := pageData{Emulator: a.be.Emulator != nil, Organization: a.be.Organization}
	if s, ok := session.MemberFromContext(r.Context()); ok {
		d.Signed, d.Session, d.Source = true, s.Session, s.Source.String()
		if s.Member != nil {
			d.Email = s.Member.EmailAddress
		}
		if list, err := a.be.Client.B2B.List(r.Context(), s.Session.OrganizationID, s.Session.MemberID); err == nil {
			d.Sessions = list.MemberSessions
		} else {
			d.Error = "Sessions cannot be listed right now."
		}
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_ = pageTemplate.Execute(w, d)
}

var pageTemplate = template.Must(template.New("page").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>stytchguard · chi B2B demo</title>
<style>body{font:16px system-ui;margin:2rem auto;max-width:44rem}code{font-size:.85em}</style></head>
<body>
<h1>stytchguard · chi B2B demo</h1>
{{if .Organization.OrganizationID}}<p>Demo organization: <strong>{{.Organization.OrganizationName}}</strong> <code id="org-id">{{.Organization.OrganizationID}}</code></p>{{end}}
{{if .Signed}}
<p id="who">Signed in as member <code id="member-id">{{.Session.MemberID}}</code>{{with .Email}} ({{.}}){{end}} of <code>{{.Session.OrganizationID}}</code>, roles {{range .Session.Roles}}<code>{{.}}</code> {{end}}(verified {{.Source}}).</p>
<h2>Your sessions</h2>
<ul id="sessions">{{range .Sessions}}<li><code>{{.MemberSessionID}}</code>{{if eq .MemberSessionID $.Session.MemberSessionID}} (this one){{end}}, until {{.ExpiresAt.Format "2006-01-02 15:04"}} UTC</li>{{end}}</ul>
{{with .Error}}<p>{{.}}</p>{{end}}
<form method="post" action="/orgs/{{.Session.OrganizationID}}/logout"><button id="logout">Log out</button></form>
<form method="post" action="/orgs/{{.Session.OrganizationID}}/logout-all"><button id="logout-all">Log out everywhere</button></form>
<p>API: <a href="/orgs/{{.Session.OrganizationID}}/api/me">me</a> · <a href="/orgs/{{.Session.OrganizationID}}/api/sessions">sessions</a> · <a href="/orgs/{{.Session.OrganizationID}}/api/documents">documents</a></p>
{{else}}
<p id="signed-out">You are signed out.</p>
{{end}}
{{if .Emulator}}
<h2>Demo sign-in (emulator)</h2>
<form method="post" action="/demo/login">
<label>Email <input id="email" name="email" type="email" value="grace@example.com"></label>
<label>Role <select id="role" name="role"><option>viewer</option><option>editor</option></select></label>
<button id="sign-in">Sign in</button>
</form>
<h2>Demo administration (as in Stytch's dashboard)</h2>
<p>Changes reach every device of that member on its next request, through Stytch's webhook.</p>
<form method="post" action="/demo/admin">
<label>Email <input id="admin-email" name="email" type="email" value="grace@example.com"></label>
<button id="demote" name="action" value="demote">Demote to viewer</button>
<button id="remove" name="action" value="remove">Remove member</button>
</form>
{{end}}
</body></html>
`))
