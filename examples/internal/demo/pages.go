package demo

import (
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/stytchguard/stytchguard"
	"github.com/stytchguard/stytchguard/authz"
	"github.com/stytchguard/stytchguard/middleware"
	"github.com/stytchguard/stytchguard/session"
)

//go:embed web
var web embed.FS

// Person is the signed-in person as the pages show them, from the session
// the middleware put in the request's context.
type Person struct {
	// ID is the user id (consumer) or member id (B2B).
	ID        string
	SessionID string
	Email     string
	Name      string
	Roles     []string
	// OrganizationID and OrganizationName are the member's organization
	// (B2B).
	OrganizationID   string
	OrganizationName string
	Source           stytchguard.Source
}

// Viewer reports whether the person's only role of the demo's is viewer:
// the dashboard card then offers no "make me a viewer".
func (p Person) Viewer() bool {
	return slices.Contains(p.Roles, RoleViewer) && !slices.Contains(p.Roles, RoleEditor)
}

// PersonFrom reads the person from r's context: a consumer session or a
// member session. be, when not nil, fills in what a locally verified JWT
// does not carry (the demo person's name, the organization's name).
func PersonFrom(r *http.Request, be *Backend) (Person, bool) {
	var p Person
	if c, ok := stytchguard.ConsumerFromContext(r.Context()); ok {
		p = Person{ID: c.Session.UserID, SessionID: c.Session.SessionID, Roles: c.Session.Roles, Source: c.Source, Email: emailOf(c.Session.AuthenticationFactors)}
		if c.User != nil {
			p.Name = strings.TrimSpace(c.User.Name.FirstName + " " + c.User.Name.LastName)
		}
	} else if m, ok := stytchguard.MemberFromContext(r.Context()); ok {
		p = Person{ID: m.Session.MemberID, SessionID: m.Session.MemberSessionID, Roles: m.Session.Roles, Source: m.Source,
			Email: emailOf(m.Session.AuthenticationFactors), OrganizationID: m.Session.OrganizationID, OrganizationName: m.Session.OrganizationSlug}
		if m.Member != nil {
			p.Name, p.Email = m.Member.Name, m.Member.EmailAddress
		}
		if m.Organization != nil {
			p.OrganizationName = m.Organization.OrganizationName
		}
	} else {
		return Person{}, false
	}
	if be != nil {
		if n := be.Name(p.Email); n != "" {
			p.Name = n
		}
		if o, ok := be.Org(p.OrganizationID); ok {
			p.OrganizationName = o.Name
		}
	}
	return p, true
}

// emailOf is the address of the session's email factor: a JWT carries no
// user record, but its factors say which email signed in.
func emailOf(fs []session.AuthenticationFactor) string {
	for _, f := range fs {
		if f.EmailFactor != nil {
			return f.EmailFactor.EmailAddress
		}
	}
	return ""
}

// Display is the person's name, else their email, else their id.
func (p Person) Display() string {
	switch {
	case p.Name != "":
		return p.Name
	case p.Email != "":
		return p.Email
	}
	return p.ID
}

// RoleNames lists the app's roles the person holds, without Stytch's
// implicit ones.
func (p Person) RoleNames() string {
	var out []string
	for _, r := range p.Roles {
		if !strings.HasPrefix(r, "stytch_") {
			out = append(out, r)
		}
	}
	if len(out) == 0 {
		return "member"
	}
	return strings.Join(out, ", ")
}

// Checked says how this request's session was verified.
func (p Person) Checked() string {
	if p.Source == stytchguard.SourceLocal {
		return "locally, from the session JWT: no call to Stytch"
	}
	return "with Stytch"
}

// Prefix is where the person's pages live: /orgs/<id> for a member, "" for
// a consumer.
func (p Person) Prefix() string {
	if p.OrganizationID == "" {
		return ""
	}
	return "/orgs/" + url.PathEscape(p.OrganizationID)
}

// PageRequest reports whether r is a browser showing a page: a navigation,
// or a form a page submitted. It is answered with pages; API calls with
// JSON.
func PageRequest(r *http.Request) bool {
	return stytchguard.Navigation(r) || r.Header.Get("Sec-Fetch-Mode") == "navigate"
}

// Site is the demos' pages: the sign-in page, home, documents, the MFA step
// of an organization switch, and readable refusals.
type Site struct {
	be   *Backend
	docs *Documents
	b2b  bool
	name string
	tmpl *template.Template
	now  func() time.Time
}

// NewSite returns the pages of the app named name, listing docs.
func NewSite(name string, be *Backend, docs *Documents, b2b bool) *Site {
	return &Site{be: be, docs: docs, b2b: b2b, name: name, now: time.Now,
		tmpl: template.Must(template.New("").ParseFS(web, "web/pages.html"))}
}

// Static serves the stylesheet and the script under /static/.
func Static() http.Handler {
	sub, _ := fs.Sub(web, "web")
	files := http.FileServerFS(sub)
	return http.StripPrefix("/static/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasSuffix(r.URL.Path, ".css") && !strings.HasSuffix(r.URL.Path, ".js") {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Cache-Control", "public, max-age=300")
		files.ServeHTTP(w, r)
	}))
}

// view is what a page template reads.
type view struct {
	AppName, Page, Heading string
	Person                 *Person
	Prefix                 string
	Notice, Alert          string
	Emulator               bool
	Return                 string
	DemoEmail, DemoName    string
	DemoRole               string
	Orgs                   []orgChoice
	Sessions               []sessionView
	SessionsErr            string
	Docs                   []docView
	CanWrite               bool
	WriteReason            string
	MFA                    *mfaView
	Refusal                *refusalView
}

type orgChoice struct {
	Org
	Current bool
}

type sessionView struct {
	ID                       string
	Current                  bool
	Started, Active, Expires string
}

type docView struct {
	Title, AuthorName, Written string
}

type mfaView struct {
	OrganizationID, MemberID, Organization, Phone string
	Sent                                          bool
	DemoCode                                      string
}

type refusalView struct {
	Title, Message, Back, BackLabel string
}

func (s *Site) view(r *http.Request, page, heading string) view {
	v := view{AppName: s.name, Page: page, Heading: heading, Emulator: s.be.Emulator != nil}
	if p, ok := PersonFrom(r, s.be); ok {
		v.Person, v.Prefix = &p, p.Prefix()
	}
	return v
}

func (s *Site) render(w http.ResponseWriter, status int, v view) {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = s.tmpl.ExecuteTemplate(w, "layout", v)
}

// Start serves GET / behind Authenticate: the sign-in page when signed out
// (with what just happened: signed out here, everywhere, removed), home when
// signed in (B2B: the organization's home).
func (s *Site) Start(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if p, ok := PersonFrom(r, s.be); ok {
		if s.b2b {
			to := p.Prefix() + "/"
			if len(q) > 0 {
				to += "?" + q.Encode()
			}
			http.Redirect(w, r, to, http.StatusSeeOther)
			return
		}
		s.Home(w, r)
		return
	}
	v := s.view(r, "signin", "Sign in")
	switch q.Get("signed_out") {
	case "device":
		v.Notice = "You signed out on this device. Your other devices stay signed in."
	case "everywhere":
		v.Notice = "You signed out everywhere: every device must sign in again."
	}
	if q.Get("admin") == "remove" {
		v.Notice = "The person was deleted, as in Stytch's dashboard: each of their devices is signed out on its next request."
	}
	if q.Get("return_to") != "" {
		v.Alert = "Sign in to see that page."
	}
	v.Return = middleware.LocalPath(q.Get("return_to"))
	v.DemoEmail, v.DemoName, v.DemoRole = "ada@example.com", "Ada Lovelace", RoleViewer
	s.render(w, http.StatusOK, v)
}

// Home serves the signed-in person's home page: who they are, where they
// are signed in, the organizations they can switch to.
func (s *Site) Home(w http.ResponseWriter, r *http.Request) {
	v := s.view(r, "home", "Home")
	if v.Person == nil {
		s.refuse(w, r, http.StatusUnauthorized, "unauthenticated", "")
		return
	}
	p := *v.Person
	switch q := r.URL.Query(); {
	case q.Get("switched") != "":
		v.Notice = "You switched to " + p.OrganizationName + "."
	case q.Get("admin") == "demote":
		v.Notice = "You are a viewer now, as an admin would make you in Stytch's dashboard. Every device of yours sees it on its next request."
	}
	list, err := s.sessions(r, p)
	if err != nil {
		v.SessionsErr = "Your sessions cannot be listed right now: Stytch did not answer. Try again in a few seconds."
	}
	now := s.now()
	for _, x := range list {
		x.Started, x.Active, x.Expires = when(now, x.started), when(now, x.active), when(now, x.expires)
		v.Sessions = append(v.Sessions, x.sessionView)
	}
	if s.b2b && s.be.Emulator != nil {
		for _, o := range s.be.Organizations {
			v.Orgs = append(v.Orgs, orgChoice{Org: o, Current: o.ID == p.OrganizationID})
		}
	}
	s.render(w, http.StatusOK, v)
}

type listed struct {
	sessionView
	started, active, expires time.Time
}

// sessions lists p's active sessions, this one first.
func (s *Site) sessions(r *http.Request, p Person) ([]listed, error) {
	var out []listed
	if s.b2b {
		res, err := s.be.Client.B2B.List(r.Context(), p.OrganizationID, p.ID)
		if err != nil {
			return nil, err
		}
		for _, x := range res.MemberSessions {
			out = append(out, listed{sessionView{ID: x.MemberSessionID, Current: x.MemberSessionID == p.SessionID}, x.StartedAt.Time, x.LastAccessedAt.Time, x.ExpiresAt.Time})
		}
	} else {
		res, err := s.be.Client.Consumer.List(r.Context(), p.ID)
		if err != nil {
			return nil, err
		}
		for _, x := range res.Sessions {
			out = append(out, listed{sessionView{ID: x.SessionID, Current: x.SessionID == p.SessionID}, x.StartedAt.Time, x.LastAccessedAt.Time, x.ExpiresAt.Time})
		}
	}
	slices.SortStableFunc(out, func(a, b listed) int {
		switch {
		case a.Current == b.Current:
			return b.started.Compare(a.started)
		case a.Current:
			return -1
		}
		return 1
	})
	return out, nil
}

// when says t relative to now, as people do: "just now", "5 minutes ago",
// "in 2 hours".
func when(now, t time.Time) string {
	d := t.Sub(now)
	future := d > 0
	if d < 0 {
		d = -d
	}
	var n int
	var unit string
	switch {
	case d < time.Minute:
		return "just now"
	case d < time.Hour:
		n, unit = int(d/time.Minute), "minute"
	case d < 48*time.Hour:
		n, unit = int(d/time.Hour), "hour"
	default:
		n, unit = int(d/(24*time.Hour)), "day"
	}
	if n != 1 {
		unit += "s"
	}
	if future {
		return fmt.Sprintf("in %d %s", n, unit)
	}
	return fmt.Sprintf("%d %s ago", n, unit)
}

// DocumentsPage serves the documents of the person's space (space reads it
// from the request), with the form to write one: disabled, with the
// reason, for a person whose role az says may not write.
func (s *Site) DocumentsPage(az *authz.Authorizer, space func(*http.Request) string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		v := s.view(r, "documents", "Documents")
		if v.Person == nil {
			s.refuse(w, r, http.StatusUnauthorized, "unauthenticated", "")
			return
		}
		p := *v.Person
		now := s.now()
		for _, d := range s.docs.List(space(r)) {
			v.Docs = append(v.Docs, docView{Title: d.Title, AuthorName: d.AuthorName, Written: when(now, d.WrittenAt)})
		}
		if t := r.URL.Query().Get("added"); t != "" {
			v.Notice = "Saved “" + t + "”."
		}
		_, err := az.Authorize(r.Context(), authz.Check{Roles: p.Roles, SessionOrganizationID: p.OrganizationID, ResourceID: "documents", Action: "write"})
		switch {
		case err == nil:
			v.CanWrite = true
		case errors.Is(err, authz.ErrDenied):
			v.WriteReason = "You can read these documents, but writing needs the editor role: you are a " + p.RoleNames() + "."
		default:
			v.WriteReason = "Whether you may write cannot be checked right now: Stytch's RBAC policy did not load. Try again in a few seconds."
		}
		s.render(w, http.StatusOK, v)
	}
}

// ErrorPage is the examples' stytchguard.ErrorHandler, for the middleware and
// the guards behind it alike: a refused page view,
// or form, gets a readable page (a signed-out page view was already sent to
// sign in, by SignInURL); API calls keep the JSON of stytchguard.WriteRefusal.
func (s *Site) ErrorPage(w http.ResponseWriter, r *http.Request, e *stytchguard.Refusal) {
	if !PageRequest(r) {
		stytchguard.WriteRefusal(w, r, e)
		return
	}
	e.SetHeaders(w.Header())
	s.refuse(w, r, e.Status, e.Code, e.Message)
}

// refuse renders a refusal as a page a person can act on.
func (s *Site) refuse(w http.ResponseWriter, r *http.Request, status int, code, message string) {
	v := s.view(r, "refused", "")
	rv := &refusalView{Back: "/", BackLabel: "Back to the start page"}
	switch code {
	case stytchguard.CodeWrongOrganization:
		rv.Title, rv.Message = "That belongs to another organization", "This page belongs to an organization you are not signed in to."
		if v.Person != nil && v.Person.OrganizationName != "" {
			rv.Message += " You are signed in to " + v.Person.OrganizationName + ": switch organization from your home page to go there."
		}
	case stytchguard.CodeMemberDenied, stytchguard.CodeConsumerDenied:
		rv.Title, rv.Message = "Your role does not allow this", "Viewers read documents; writing them needs the editor role. Nothing was saved."
		if v.Person != nil {
			rv.Message = "You are a " + v.Person.RoleNames() + ": viewers read documents, writing them needs the editor role. Nothing was saved."
			rv.Back, rv.BackLabel = v.Prefix+"/documents", "Back to the documents"
		}
	case stytchguard.CodeUnauthenticated, stytchguard.CodeInvalidToken:
		rv.Title, rv.Message, rv.BackLabel = "Please sign in", "Your session has ended, or this device was signed out. Sign in to continue.", "Sign in"
	case stytchguard.CodeUnavailable, "policy_unavailable":
		rv.Title, rv.Message = "Try again in a few seconds", "Stytch cannot be reached right now, so your session cannot be checked. Nothing changed; reload the page shortly."
	case "mfa_expired":
		rv.Title, rv.Message = "This switch has expired", "The code step of an organization switch lasts 10 minutes. Switch organization again from your home page."
	case stytchguard.CodeForbidden:
		rv.Title, rv.Message = "Refused: sent from another site", "This form did not come from this site's own pages, so it was refused. Nothing changed."
	default:
		rv.Title, rv.Message = http.StatusText(status), message
	}
	v.Heading, v.Refusal = rv.Title, rv
	s.render(w, status, v)
}
