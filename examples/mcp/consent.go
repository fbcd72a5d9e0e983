package main

import (
	"errors"
	"html/template"
	"net/http"
	"net/url"
	"strings"

	"github.com/stytchguard/stytchguard"
	"github.com/stytchguard/stytchguard/examples/internal/demo"
	"github.com/stytchguard/stytchguard/session"
)

// consentPage is the authorization endpoint Stytch's metadata names: the
// page an agent sends the person's browser to. Signed out, it shows the
// sign-in; signed in, it asks Stytch whether the request is good (the
// client and its redirect URI) and what the person may grant, and shows
// who asks for what, to approve or deny. Nothing about the request is
// trusted before Stytch has checked it: a bad one gets an error page, never
// a redirect.
func (a *app) consentPage(w http.ResponseWriter, r *http.Request) {
	req := requestOf(r.URL.Query())
	u, signedIn := stytchguard.ConsumerFromContext(r.Context())
	if !signedIn {
		a.render(w, http.StatusOK, page{Title: "Sign in", SignIn: true, Emulator: a.be.Emulator != nil, Return: r.URL.RequestURI()})
		return
	}
	if m := r.URL.Query().Get("code_challenge_method"); req.CodeChallenge == "" || m != "" && m != "S256" {
		a.render(w, http.StatusBadRequest, page{Title: "Not a valid request", Error: "The client must use PKCE with S256."})
		return
	}
	req.UserID = u.Session.UserID
	start, err := a.be.Client.Consumer.AuthorizeStart(r.Context(), req)
	if err != nil {
		a.failed(w, err, "Stytch did not accept this authorization request: the client, its redirect URI or the scopes are not valid.")
		return
	}
	if !start.ConsentRequired {
		a.finish(w, r, req, true) // granted before, these very scopes
		return
	}
	p, _ := demo.PersonFrom(r, a.be)
	back := req.RedirectURI // the client's, as Stytch checked it: show where it leads
	if u, err := url.Parse(back); err == nil {
		back = u.Scheme + "://" + u.Host
	}
	a.render(w, http.StatusOK, page{Title: "Allow access?", Person: p.Display(), Client: start.Client.ClientName, ClientID: start.Client.ClientID,
		Scopes: start.ScopeResults, Request: req, Scope: strings.Join(req.Scopes, " "), ReturnsTo: back})
}

// decide is the consent form's target: the person's answer goes to Stytch,
// whose answer says where to send the browser back to the agent.
func (a *app) decide(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		http.Error(w, "bad form", http.StatusBadRequest)
		return
	}
	a.finish(w, r, requestOf(r.PostForm), r.PostForm.Get("decision") == "approve")
}

// finish tells Stytch the person's decision and redirects to the client.
func (a *app) finish(w http.ResponseWriter, r *http.Request, req session.AuthorizeParams, approved bool) {
	u, _ := stytchguard.ConsumerFromContext(r.Context())
	req.UserID, req.ConsentGranted = u.Session.UserID, approved
	done, err := a.be.Client.Consumer.Authorize(r.Context(), req)
	if err != nil {
		a.failed(w, err, "Stytch did not accept this authorization: try again from the app that asked.")
		return
	}
	http.Redirect(w, r, done.RedirectURI, http.StatusSeeOther) // the client's, as Stytch checked it
}

// failed answers a consent call that failed: Stytch could not be asked
// (or something else answered for it), 503; Stytch refused, 400 with why.
// Either way the browser is sent nowhere.
func (a *app) failed(w http.ResponseWriter, err error, refused string) {
	if errors.Is(err, session.ErrUnavailable) {
		w.Header().Set("Retry-After", "5")
		a.render(w, http.StatusServiceUnavailable, page{Title: "Try again shortly", Error: "Stytch cannot be reached right now; nothing was granted. Try again in a moment."})
		return
	}
	a.render(w, http.StatusBadRequest, page{Title: "Not a valid request", Error: refused})
}

// requestOf reads an authorization request from the query, or the consent
// form that carries it on.
func requestOf(v map[string][]string) session.AuthorizeParams {
	get := func(k string) string {
		if s := v[k]; len(s) > 0 {
			return s[0]
		}
		return ""
	}
	p := session.AuthorizeParams{
		ClientID: get("client_id"), RedirectURI: get("redirect_uri"), ResponseType: get("response_type"),
		Scopes: strings.Fields(get("scope")), State: get("state"), Nonce: get("nonce"), CodeChallenge: get("code_challenge"), Prompt: get("prompt"),
	}
	if res := get("resource"); res != "" {
		p.Resources = []string{res}
	}
	return p
}

// page is what the consent template reads.
type page struct {
	Title            string
	SignIn, Emulator bool
	Return           string
	Error            string
	Person, Client   string
	ClientID         string
	Scopes           []session.ScopeResult
	Request          session.AuthorizeParams
	Scope            string
	// ReturnsTo is the scheme and host the decision sends the browser to:
	// a client's name is its own to choose, its redirect is not.
	ReturnsTo string
}

func (a *app) render(w http.ResponseWriter, status int, p page) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Content-Security-Policy", "default-src 'self'; frame-ancestors 'none'")
	w.Header().Set("X-Frame-Options", "DENY") // no clickjacking of the Allow button
	w.WriteHeader(status)
	_ = consentTemplate.Execute(w, p)
}

var consentTemplate = template.Must(template.New("consent").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Title}} · Documents</title><link rel="stylesheet" href="/static/demo.css"></head>
<body><header><div class="bar"><span class="brand">Documents <small>stytchguard demo</small></span>
{{with .Person}}<div class="who" id="who"><strong>{{.}}</strong></div>{{end}}</div></header>
<main>
{{if .SignIn}}
<h1>Sign in to continue</h1>
{{if .Emulator}}<div class="card"><p class="muted">An app asks for access to your documents. Sign in first (Stytch's emulator: pick anyone, no password).</p>
<form method="post" action="/demo/login"><input type="hidden" name="return_to" value="{{.Return}}">
<label>Email <input id="email" name="email" type="email" required value="ada@example.com"></label>
<label>Name <input id="name" name="name" value="Ada"></label>
<label>Role <select id="role" name="role"><option value="editor">Editor: reads and writes documents</option><option value="viewer">Viewer: reads documents</option></select></label>
<button id="sign-in">Sign in</button></form></div>
{{else}}<div class="card"><p>Sign in to this app with Stytch, then open this page again.</p></div>{{end}}
{{else if .Error}}
<h1>{{.Title}}</h1><p class="alert" id="alert" role="alert">{{.Error}}</p>
{{else}}
<h1 id="consent">{{.Client}} asks for access</h1>
<div class="card">
<p><strong id="client-name">{{.Client}}</strong> <span class="muted">({{.ClientID}})</span> would act for you with:</p>
<ul id="scopes">{{range .Scopes}}<li>{{if .IsGrantable}}<strong>{{.Scope}}</strong>{{else}}<s>{{.Scope}}</s> <span class="muted">(your roles do not allow it: not granted)</span>{{end}}{{with .Description}}: {{.}}{{end}}</li>{{end}}</ul>
<p class="muted">Either way, you then go back to <strong id="returns-to">{{.ReturnsTo}}</strong>. Allow only an app you started yourself.</p>
<form method="post" action="/oauth/authorize" class="row">
{{with .Request}}<input type="hidden" name="client_id" value="{{.ClientID}}"><input type="hidden" name="redirect_uri" value="{{.RedirectURI}}">
<input type="hidden" name="response_type" value="{{.ResponseType}}"><input type="hidden" name="state" value="{{.State}}"><input type="hidden" name="nonce" value="{{.Nonce}}">
<input type="hidden" name="code_challenge" value="{{.CodeChallenge}}">{{range .Resources}}<input type="hidden" name="resource" value="{{.}}">{{end}}{{end}}
<input type="hidden" name="scope" value="{{.Scope}}">
<button name="decision" value="approve" id="approve">Allow</button>
<button name="decision" value="deny" id="deny" class="secondary">Deny</button>
</form></div>
{{end}}
</main></body></html>`))
