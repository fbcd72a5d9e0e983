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
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/stytchguard/stytchguard/authz"
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
	// Issuers are the JWT issuers of a project with a custom domain, from
	// STYTCH_ISSUERS (comma-separated), for middleware.Config.Issuers.
	Issuers []string
	// Warning is why the credentials could not be checked at start (Stytch
	// unreachable), nil when they were; the app starts anyway.
	Warning error

	mu            sync.Mutex
	users         map[string]string // email -> user or member id, for demo logins
	webhookSecret string            // emulator mode: the secret the emulator signs with
}

// Roles the demo policy defines.
const (
	RoleViewer = "viewer"
	RoleEditor = "editor"
)

// Policy is the demo RBAC policy: viewers read documents, editors also
// write them.
func Policy(predefined ...string) session.Policy {
	p := session.Policy{
		Resources: []session.Resource{{ResourceID: "documents", Description: "Documents", Actions: []string{"read", "write"}}},
		Roles: []session.Role{
			{RoleID: RoleViewer, Description: "Reads documents", Permissions: []session.Permission{{ResourceID: "documents", Actions: []string{"read"}}}},
			{RoleID: RoleEditor, Description: "Reads and writes documents", Permissions: []session.Permission{{ResourceID: "documents", Actions: []string{"read", "write"}}}},
		},
	}
	for _, r := range predefined {
		p.Roles = append(p.Roles, session.Role{RoleID: r, Description: "Predefined", Permissions: []session.Permission{}})
	}
	return p
}

// NewBackend connects to the project named by the environment, or starts
// the emulator with the demo policy (and, for B2B, a demo organization).
func NewBackend(getenv func(string) string, b2b bool) (*Backend, error) {
	id, secret := getenv("STYTCH_PROJECT_ID"), getenv("STYTCH_SECRET")
	if id != "" || secret != "" {
		if id == "" || secret == "" {
			return nil, errors.New("set both STYTCH_PROJECT_ID and STYTCH_SECRET, or neither for the emulator")
		}
		c, err := session.New(session.Config{ProjectID: id, Secret: secret, BaseURL: getenv("STYTCH_BASE_URL")})
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
	emu := stytchtest.NewServer()
	b := &Backend{Client: emu.Client(), Emulator: emu, users: map[string]string{}}
	if b2b {
		emu.SetB2BPolicy(Policy(session.RoleStytchMember, session.RoleStytchAdmin))
		b.Organization = emu.CreateOrganization(stytchtest.OrganizationParams{Name: "Demo Organization", Slug: "demo"})
	} else {
		emu.SetPolicy(Policy(session.RoleStytchUser))
	}
	return b, nil
}

// Close stops the emulator, if one runs.
func (b *Backend) Close() {
	if b.Emulator != nil {
		b.Emulator.Close()
	}
}

// Login signs a demo person in (emulator mode): the user (or, for B2B, the
// member of the demo organization) with this email, created on first use,
// with the one role given, and a new 60-minute session.
func (b *Backend) Login(email, role string, b2b bool) (stytchtest.Tokens, error) {
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
	id, known := b.users[email]
	if b2b {
		if !known {
			m, err := emu.CreateMember(b.Organization.OrganizationID, stytchtest.MemberParams{Email: email, Name: email, Roles: roles})
			if err != nil {
				return stytchtest.Tokens{}, err
			}
			id = m.MemberID
		} else if err := emu.SetMemberRoles(id, roles); err != nil {
			return stytchtest.Tokens{}, err
		}
		b.users[email] = id
		return emu.StartMemberSession(id, p)
	}
	if !known {
		id = emu.CreateUser(stytchtest.UserParams{Email: email, Roles: roles}).UserID
	} else if err := emu.SetUserRoles(id, roles); err != nil {
		return stytchtest.Tokens{}, err
	}
	b.users[email] = id
	return emu.StartSession(id, p)
}

// Document is one item of the demo's protected resource.
type Document struct {
	ID     int    `json:"id"`
	Title  string `json:"title"`
	Author string `json:"author"`
}

// Documents is a demo document store, one list per space: an
// organization's id for B2B, so that no organization sees another's
// documents, or "" for a consumer app's one shared list.
type Documents struct {
	mu    sync.Mutex
	items map[string][]Document
}

// List returns the documents of space.
func (d *Documents) List(space string) []Document {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]Document{{ID: 0, Title: "Welcome", Author: "stytchguard"}}, d.items[space]...)
}

// Add stores a document in space and returns it.
func (d *Documents) Add(space, title, author string) Document {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.items == nil {
		d.items = map[string][]Document{}
	}
	doc := Document{ID: len(d.items[space]) + 1, Title: title, Author: author}
	d.items[space] = append(d.items[space], doc)
	return doc
}

// ListHandler answers the documents of the space the request is in, and
// the roles that granted reading them (the verdict a guard put in the
// context).
func (d *Documents) ListHandler(space func(*http.Request) string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		v, _ := authz.VerdictFromContext(r.Context())
		var granting []string
		if v != nil {
			granting = v.GrantingRoles
		}
		WriteJSON(w, http.StatusOK, map[string]any{"documents": d.List(space(r)), "granted_by": granting})
	}
}

// AddHandler stores a document titled by the form value title in the space
// the request is in, written by the id author reads from the request.
func (d *Documents) AddHandler(space, author func(*http.Request) string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		title := r.FormValue("title")
		if title == "" {
			title = "Untitled"
		}
		WriteJSON(w, http.StatusCreated, d.Add(space(r), title, author(r)))
	}
}

// SessionOrganization is the space of a B2B request: the organization of
// the verified member session, never a value the client chose.
func SessionOrganization(r *http.Request) string {
	m, _ := session.MemberFromContext(r.Context())
	if m == nil {
		return ""
	}
	return m.Session.OrganizationID
}

// Shared is the space of a consumer app: one list for everyone.
func Shared(*http.Request) string { return "" }

// LoginHandler serves POST /demo/login (emulator mode): it signs the person
// named by the form values email and role in, hands the session to the
// browser with signIn (the middleware's SetSessionCookies: the cookies it
// reads, with its attributes), and redirects to /.
func (b *Backend) LoginHandler(b2b bool, signIn func(http.ResponseWriter, middleware.SignedIn)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		tok, err := b.Login(r.FormValue("email"), r.FormValue("role"), b2b)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		signIn(w, middleware.SignedIn{SessionToken: tok.SessionToken, SessionJWT: tok.SessionJWT, ExpiresAt: tok.ExpiresAt})
		http.Redirect(w, r, "/", http.StatusSeeOther)
	}
}

// WriteJSON answers v as JSON.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// Serve serves h on addr until ctx ends, then shuts down. It calls ready
// with the URL once it listens.
func Serve(ctx context.Context, addr string, h http.Handler, ready func(url string)) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, MaxHeaderBytes: 64 << 10}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	ready("http://" + ln.Addr().String())
	select {
	case err := <-served:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return err
	}
	<-served
	return nil
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
		b.mu.Lock()
		id, ok := b.users[r.FormValue("email")]
		if ok && r.FormValue("action") == "remove" {
			delete(b.users, r.FormValue("email"))
		}
		b.mu.Unlock()
		if !ok {
			http.Error(w, "no demo person with that email", http.StatusNotFound)
			return
		}
		var err error
		switch action := r.FormValue("action"); {
		case action == "demote" && b2b:
			err = b.Emulator.SetMemberRoles(id, []string{RoleViewer})
		case action == "demote":
			err = b.Emulator.SetUserRoles(id, []string{RoleViewer})
		case action == "remove" && b2b:
			err = b.Emulator.DeleteMember(id)
		case action == "remove":
			err = b.Emulator.DeleteUser(id)
		default:
			err = errors.New("action must be demote or remove")
		}
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		http.Redirect(w, r, "/", http.StatusSeeOther)
	}
}
