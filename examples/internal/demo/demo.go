package demo

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/stytchguard/stytchguard"
	"github.com/stytchguard/stytchguard/middleware"
	"github.com/stytchguard/stytchguard/session"
	"github.com/stytchguard/stytchguard/stytchtest"
)

// Backend is the Stytch the examples talk to: a real project when
// STYTCH_PROJECT_ID and STYTCH_SECRET are set, else an emulator started in
// the process.
type Backend struct {
	// Client talks to the project.
	Client *session.Client
	// Emulator is the in-process emulator, nil against a real project.
	Emulator *stytchtest.Server
	// Organization is the demo organization (B2B, emulator mode only).
	Organization session.Organization
	// Organizations are the demo's organizations (B2B, emulator mode
	// only): Organization first, then one that requires MFA. Every demo
	// person is a member of each.
	Organizations []Org
	// Issuers are the JWT issuers of a project with a custom domain, from
	// STYTCH_ISSUERS (comma-separated), for middleware.Config.Issuers.
	Issuers []string
	// Warning is why the credentials could not be checked at start (Stytch
	// unreachable), nil when they were; the app starts anyway.
	Warning error

	mu            sync.Mutex
	people        map[string]*person // email -> the demo person
	webhookSecret string             // emulator mode: the secret the emulator signs with
}

// Roles the demo policy defines.
const (
	RoleViewer = "viewer"
	RoleEditor = "editor"
)

// Scopes the demo policy defines, for Connected Apps clients.
const (
	ScopeRead  = "documents:read"
	ScopeWrite = "documents:write"
)

// Policy is the demo RBAC policy: viewers read documents, editors also
// write them. It names none of Stytch's default roles: Stytch (and the
// emulator) add them to every policy.
func Policy() session.Policy {
	p := session.Policy{
		Resources: []session.Resource{{ResourceID: "documents", Description: "Documents", Actions: []string{"read", "write"}}},
		Roles: []session.Role{
			{RoleID: RoleViewer, Description: "Reads documents", Permissions: []session.Permission{{ResourceID: "documents", Actions: []string{"read"}}}},
			{RoleID: RoleEditor, Description: "Reads and writes documents", Permissions: []session.Permission{{ResourceID: "documents", Actions: []string{"read", "write"}}}},
		},
	}
	// Connected Apps scopes: what a person may grant an agent (examples/mcp),
	// each only when their roles hold what it carries.
	p.Scopes = []session.Scope{
		{Scope: ScopeRead, Description: "Read your documents", Permissions: []session.Permission{{ResourceID: "documents", Actions: []string{"read"}}}},
		{Scope: ScopeWrite, Description: "Write documents for you", Permissions: []session.Permission{{ResourceID: "documents", Actions: []string{"write"}}}},
	}
	return p
}

// NewBackend connects to the project named by the environment, or starts
// the emulator with the demo policy (and, for B2B, a demo organization).
// The client sends its requests with hc (nil: its own).
func NewBackend(getenv func(string) string, b2b bool, hc *http.Client) (*Backend, error) {
	id, secret := getenv("STYTCH_PROJECT_ID"), getenv("STYTCH_SECRET")
	if id != "" || secret != "" {
		if id == "" || secret == "" {
			return nil, errors.New("set both STYTCH_PROJECT_ID and STYTCH_SECRET, or neither for the emulator")
		}
		c, err := session.New(session.Config{ProjectID: id, Secret: secret, BaseURL: getenv("STYTCH_BASE_URL"), B2B: b2b, HTTPClient: hc})
		if err != nil {
			return nil, err
		}
		// A wrong secret stops the app here, with a clear message, rather
		// than answering 503 to every request that needs Stytch. An
		// unreachable Stytch does not: it may come back.
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		b := &Backend{Client: c}
		for _, iss := range strings.Split(getenv("STYTCH_ISSUERS"), ",") {
			if iss = strings.TrimSpace(iss); iss != "" {
				b.Issuers = append(b.Issuers, iss)
			}
		}
		if err := c.Check(ctx); errors.Is(err, session.ErrCredentials) {
			return nil, err
		} else if err != nil {
			b.Warning = err
		}
		return b, nil
	}
	// Dynamic Client Registration on (Stytch's is opt-in), and Client ID
	// Metadata Documents fetched from this machine too: MCP clients that
	// run beside the demo register either way, offline.
	emu := stytchtest.NewServer(stytchtest.WithDynamicClientRegistration(),
		stytchtest.WithClientMetadataFetch(stytchtest.ClientMetadataFetch{AllowLoopback: true}))
	cfg := emu.Config()
	cfg.B2B, cfg.HTTPClient = b2b, hc
	c, err := session.New(cfg)
	if err != nil {
		emu.Close()
		return nil, err
	}
	b := &Backend{Client: c, Emulator: emu, people: map[string]*person{}}
	if b2b {
		emu.SetB2BPolicy(Policy())
		for _, p := range []stytchtest.OrganizationParams{
			{Name: "Acme Corp", Slug: "acme"},
			{Name: "Globex", Slug: "globex", MFARequired: true},
		} {
			o := emu.CreateOrganization(p)
			b.Organizations = append(b.Organizations, Org{ID: o.OrganizationID, Name: o.OrganizationName, Slug: o.OrganizationSlug, MFA: p.MFARequired})
		}
		b.Organization = session.Organization{OrganizationID: b.Organizations[0].ID, OrganizationName: b.Organizations[0].Name, OrganizationSlug: b.Organizations[0].Slug}
	} else {
		emu.SetPolicy(Policy())
	}
	return b, nil
}

// Close stops the emulator, if one runs.
func (b *Backend) Close() {
	if b.Emulator != nil {
		b.Emulator.Close()
	}
}

// Org is a demo organization.
type Org struct {
	ID, Name, Slug string
	// MFA: the organization requires a second factor (SMS OTP) to enter.
	MFA bool
}

// person is a demo person: their name, and their user id (consumer) or
// their member id in each demo organization (B2B).
type person struct {
	name    string
	userID  string
	members map[string]string // organization id -> member id
}

// DemoPhone is the MFA phone number of every demo member.
const DemoPhone = "+15555550100"

// Login signs a demo person in (emulator mode): the user (or, for B2B, the
// member of every demo organization) with this email, created on first use,
// with the one role given, and a new 60-minute session (B2B: in the first
// demo organization).
func (b *Backend) Login(email, name, role string, b2b bool) (stytchtest.Tokens, error) {
	if b.Emulator == nil {
		return stytchtest.Tokens{}, errors.New("demo logins exist in emulator mode only")
	}
	if !slices.Contains([]string{RoleViewer, RoleEditor}, role) {
		return stytchtest.Tokens{}, fmt.Errorf("role must be %s or %s", RoleViewer, RoleEditor)
	}
	if email == "" {
		return stytchtest.Tokens{}, errors.New("email is required")
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	emu, roles := b.Emulator, []string{role}
	p := stytchtest.SessionParams{Duration: time.Hour}
	who := b.people[email]
	if who == nil {
		who = &person{members: map[string]string{}}
		b.people[email] = who
	}
	if name != "" {
		who.name = name
	}
	if b2b {
		for _, o := range b.Organizations {
			id, known := who.members[o.ID]
			if !known {
				m, err := emu.CreateMember(o.ID, stytchtest.MemberParams{Email: email, Name: who.name, Roles: roles, MFAPhoneNumber: DemoPhone})
				if err != nil {
					return stytchtest.Tokens{}, err
				}
				who.members[o.ID] = m.MemberID
			} else if err := emu.SetMemberRoles(id, roles); err != nil {
				return stytchtest.Tokens{}, err
			}
		}
		return emu.StartMemberSession(who.members[b.Organizations[0].ID], p)
	}
	if who.userID == "" {
		who.userID = emu.CreateUser(stytchtest.UserParams{Email: email, Name: session.Name{FirstName: who.name}, Roles: roles}).UserID
	} else if err := emu.SetUserRoles(who.userID, roles); err != nil {
		return stytchtest.Tokens{}, err
	}
	return emu.StartSession(who.userID, p)
}

// Name returns the name a demo person signed in with, "" when unknown (and
// always against a real project, where the page shows what Stytch says).
func (b *Backend) Name(email string) string {
	b.mu.Lock()
	defer b.mu.Unlock()
	if p := b.people[email]; p != nil {
		return p.name
	}
	return ""
}

// Org returns the demo organization id, if it is one.
func (b *Backend) Org(id string) (Org, bool) {
	for _, o := range b.Organizations {
		if o.ID == id {
			return o, true
		}
	}
	return Org{}, false
}

// Document is one item of the demo's protected resource.
type Document struct {
	ID         int       `json:"id"`
	Title      string    `json:"title"`
	Author     string    `json:"author"`
	AuthorName string    `json:"author_name"`
	WrittenAt  time.Time `json:"written_at"`
}

// Documents is a demo document store, one list per space: an
// organization's id for B2B, so that no organization sees another's
// documents, or "" for a consumer app's one shared list. Each space holds
// at most MaxDocuments, the newest.
type Documents struct {
	mu    sync.Mutex
	items map[string][]Document
}

// MaxDocuments bounds each space's list.
const MaxDocuments = 200

// List returns the documents of space, newest first.
func (d *Documents) List(space string) []Document {
	d.mu.Lock()
	defer d.mu.Unlock()
	out := slices.Clone(d.items[space])
	slices.Reverse(out)
	return out
}

// Add stores a document in space and returns it.
func (d *Documents) Add(space, title string, author Person) Document {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.items == nil {
		d.items = map[string][]Document{}
	}
	list := d.items[space]
	id := 1
	if len(list) > 0 {
		id = list[len(list)-1].ID + 1
	}
	doc := Document{ID: id, Title: title, Author: author.ID, AuthorName: author.Display(), WrittenAt: time.Now()}
	if len(list) >= MaxDocuments {
		list = slices.Delete(list, 0, 1)
	}
	d.items[space] = append(list, doc)
	return doc
}

// ListHandler answers the documents of the space the request is in, and
// the roles that granted reading them (the verdict a guard put in the
// context).
func (d *Documents) ListHandler(space func(*http.Request) string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		v, _ := stytchguard.VerdictFromContext(r.Context())
		var granting []string
		if v != nil {
			granting = v.GrantingRoles
		}
		WriteJSON(w, http.StatusOK, map[string]any{"documents": d.List(space(r)), "granted_by": granting})
	}
}

// AddHandler stores a document titled by the form value title in the space
// the request is in, written by the person signed in, named as every page
// names them (PersonFrom with be), however their session was verified. A
// form a page submitted is answered with the documents page (303); an API
// call with the document as JSON (201).
func (d *Documents) AddHandler(space func(*http.Request) string, be *Backend) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		title := strings.TrimSpace(r.FormValue("title"))
		if title == "" {
			title = "Untitled"
		}
		if len(title) > 120 {
			title = title[:120]
		}
		p, _ := PersonFrom(r, be)
		doc := d.Add(space(r), title, p)
		if PageRequest(r) {
			http.Redirect(w, r, p.Prefix()+"/documents?added="+url.QueryEscape(doc.Title), http.StatusSeeOther)
			return
		}
		WriteJSON(w, http.StatusCreated, doc)
	}
}

// SessionOrganization is the space of a B2B request: the organization of
// the verified member session, never a value the client chose.
func SessionOrganization(r *http.Request) string {
	m, _ := stytchguard.MemberFromContext(r.Context())
	if m == nil {
		return ""
	}
	return m.Session.OrganizationID
}

// Shared is the space of a consumer app: one list for everyone.
func Shared(*http.Request) string { return "" }

// LoginHandler serves POST /demo/login (emulator mode): it signs the person
// named by the form values email, name and role in, hands the session to
// the browser with signIn (the middleware's SetSessionCookies: the cookies
// it reads, with its attributes), and redirects to the form's return_to, a
// path on this site, or /.
func (b *Backend) LoginHandler(b2b bool, signIn func(http.ResponseWriter, middleware.SignedIn)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		tok, err := b.Login(strings.TrimSpace(r.FormValue("email")), strings.TrimSpace(r.FormValue("name")), r.FormValue("role"), b2b)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		signIn(w, middleware.SignedIn{SessionToken: tok.SessionToken, SessionJWT: tok.SessionJWT, ExpiresAt: tok.ExpiresAt})
		http.Redirect(w, r, middleware.LocalPath(r.FormValue("return_to")), http.StatusSeeOther)
	}
}

// WriteJSON answers v as JSON.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// Serve serves h on addr, and admin's endpoints on its listener unless
// admin is nil, until ctx ends, then shuts both down. It calls ready with
// h's URL once it listens. If one server stops, both do.
func Serve(ctx context.Context, addr string, h http.Handler, admin *Admin, ready func(url string)) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		_ = admin.Close()
		return fmt.Errorf("listen: %w", err)
	}
	ready("http://" + ln.Addr().String())
	lns, hs := []net.Listener{ln}, []http.Handler{h}
	if admin != nil {
		lns, hs = append(lns, admin.ln), append(hs, admin.h)
	}
	return serve(ctx, lns, hs)
}

// ServeListener is Serve on a listener already open, without an admin
// listener: for an app that must know its own URL before it builds its
// handler.
func ServeListener(ctx context.Context, ln net.Listener, h http.Handler) error {
	return serve(ctx, []net.Listener{ln}, []http.Handler{h})
}

// serve serves hs[i] on lns[i] until ctx ends or one server stops, then
// shuts every server down, each within 5 s.
func serve(ctx context.Context, lns []net.Listener, hs []http.Handler) error {
	srvs := make([]*http.Server, len(lns))
	served := make(chan error, len(lns))
	for i := range lns {
		srvs[i] = &http.Server{Handler: boundForms(hs[i], formTimeout), ReadHeaderTimeout: 10 * time.Second, MaxHeaderBytes: 64 << 10}
		go func() { served <- srvs[i].Serve(lns[i]) }()
	}
	var first error
	waiting := len(srvs)
	select {
	case first = <-served:
		waiting--
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var errs []error
	if first != nil {
		errs = append(errs, first)
	}
	for _, srv := range srvs {
		if err := srv.Shutdown(sctx); err != nil {
			errs = append(errs, err)
		}
	}
	for range waiting {
		if err := <-served; !errors.Is(err, http.ErrServerClosed) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// WebhookSecret is the signing secret of the app's webhook endpoint:
// STYTCH_WEBHOOK_SECRET (from the Stytch dashboard's webhook settings), or,
// in emulator mode, a fresh one the emulator will sign with. Empty means no
// webhooks: against a real project without the variable.
func (b *Backend) WebhookSecret(getenv func(string) string) string {
	if s := getenv("STYTCH_WEBHOOK_SECRET"); s != "" {
		return s
	}
	if b.Emulator == nil {
		return ""
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.webhookSecret == "" {
		key := make([]byte, 24)
		_, _ = rand.Read(key)
		b.webhookSecret = "whsec_" + base64.StdEncoding.EncodeToString(key)
	}
	return b.webhookSecret
}

// WireWebhooks points the in-process emulator's webhooks at the app's
// endpoint (emulator mode; a no-op otherwise), as registering the endpoint in
// Stytch's dashboard does.
func (b *Backend) WireWebhooks(url string, getenv func(string) string) {
	if b.Emulator == nil {
		return
	}
	b.Emulator.SetWebhooks(stytchtest.WebhookConfig{Secret: b.WebhookSecret(getenv), URLs: []string{url}})
}

// Webhooks returns the app's handler for POST /webhooks/stytch, built by
// mw with WebhookSecret, and says so on stdout; nil when there is no
// secret.
func (b *Backend) Webhooks(getenv func(string) string, mw *middleware.Middleware, stdout io.Writer) (http.Handler, error) {
	secret := b.WebhookSecret(getenv)
	if secret == "" {
		return nil, nil
	}
	h, err := mw.WebhookHandler(secret)
	if err != nil {
		return nil, err
	}
	fmt.Fprintln(stdout, "Stytch webhooks: POST /webhooks/stytch")
	return h, nil
}

// Listening is Serve's ready function for the examples: it points the
// emulator's webhooks at the app when it has a webhook handler (emulator
// mode: its dashboard changes arrive there), and prints the URL.
func (b *Backend) Listening(getenv func(string) string, webhooks bool, stdout io.Writer) func(url string) {
	return func(url string) {
		if webhooks {
			b.WireWebhooks(url+"/webhooks/stytch", getenv)
		}
		fmt.Fprintf(stdout, "listening on %s\n", url)
	}
}

// AdminHandler serves POST /demo/admin (emulator mode): what an admin would
// do in Stytch's dashboard to the person with the form's email: action
// "demote" leaves them a viewer, "remove" deletes them. The emulator then
// sends the webhook, and the change reaches every signed-in device of that
// person on its next request.
func (b *Backend) AdminHandler(b2b bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if b.Emulator == nil {
			http.Error(w, "demo administration exists in emulator mode only", http.StatusNotFound)
			return
		}
		action := r.FormValue("action")
		if action != "demote" && action != "remove" {
			http.Error(w, "action must be demote or remove", http.StatusBadRequest)
			return
		}
		b.mu.Lock()
		who := b.people[r.FormValue("email")]
		if who != nil && action == "remove" {
			delete(b.people, r.FormValue("email"))
		}
		b.mu.Unlock()
		if who == nil {
			http.Error(w, "no demo person with that email", http.StatusNotFound)
			return
		}
		ids := []string{who.userID}
		if b2b {
			ids = ids[:0]
			for _, id := range who.members {
				ids = append(ids, id)
			}
		}
		for _, id := range ids {
			var err error
			switch {
			case action == "demote" && b2b:
				err = b.Emulator.SetMemberRoles(id, []string{RoleViewer})
			case action == "demote":
				err = b.Emulator.SetUserRoles(id, []string{RoleViewer})
			case b2b:
				err = b.Emulator.DeleteMember(id)
			default:
				err = b.Emulator.DeleteUser(id)
			}
			if err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
		}
		http.Redirect(w, r, "/?admin="+action, http.StatusSeeOther)
	}
}

// SameOrigin refuses cross-origin requests that change state, for the
// demo's forms that no session authenticates (sign-in, the admin panel):
// the middleware guards only what a session cookie authenticates.
func SameOrigin(h http.Handler) http.Handler {
	return http.NewCrossOriginProtection().Handler(h)
}

// formTimeout bounds the time a form's body takes to arrive.
const formTimeout = 10 * time.Second

// boundForms gives a form post's body d to arrive, so that a
// client sending a byte now and then holds no handler for long. The
// server has no ReadTimeout, which would also cut the MCP server's long
// streamed answers; its JSON-RPC bodies are bounded by the guard
// (middleware.MCP.BodyTimeout). The deadline is lifted once the body is
// read.
func boundForms(h http.Handler, d time.Duration) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ct := r.Header.Get("Content-Type")
		if r.Body != nil && r.Body != http.NoBody && (strings.HasPrefix(ct, "application/x-www-form-urlencoded") || strings.HasPrefix(ct, "multipart/form-data")) {
			rc := http.NewResponseController(w)
			if rc.SetReadDeadline(time.Now().Add(d)) == nil {
				r.Body = &liftOnEOF{ReadCloser: r.Body, rc: rc}
			}
		}
		h.ServeHTTP(w, r)
	})
}

// liftOnEOF lifts the connection's read deadline once the body is read.
type liftOnEOF struct {
	io.ReadCloser
	rc *http.ResponseController
}

func (b *liftOnEOF) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err == io.EOF {
		_ = b.rc.SetReadDeadline(time.Time{})
	}
	return n, err
}
