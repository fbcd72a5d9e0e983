package stytchtest_test

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stytchguard/stytchguard/session"
	"github.com/stytchguard/stytchguard/stytchtest"
	"github.com/stytchguard/stytchguard/webhook"
)

const secret = "whsec_c3R5dGNoZ3VhcmQtd2ViaG9vay10ZXN0LXNlY3JldA=="

// receiver records what the emulator delivers, verifying it as an app
// would, and fails the first failFirst attempts with 500.
type receiver struct {
	mu        sync.Mutex
	v         *webhook.Verifier
	failFirst int
	attempts  int
	ids       []string
	events    []webhook.Event
	errs      []error
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	rc.mu.Lock()
	defer rc.mu.Unlock()
	rc.attempts++
	if rc.attempts <= rc.failFirst {
		w.WriteHeader(http.StatusInternalServerError)
		return
	}
	if err := rc.v.Verify(r.Header, body); err != nil {
		rc.errs = append(rc.errs, err)
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	e, err := webhook.Parse(body)
	if err != nil {
		rc.errs = append(rc.errs, err)
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	rc.ids = append(rc.ids, r.Header.Get("svix-id"))
	rc.events = append(rc.events, e)
	w.WriteHeader(http.StatusNoContent)
}

func (rc *receiver) wait(t *testing.T, events, errs int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		rc.mu.Lock()
		ne, nerr := len(rc.events), len(rc.errs)
		rc.mu.Unlock()
		if ne >= events && nerr >= errs {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d events and %d refusals arrived, want %d and %d", ne, nerr, events, errs)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func newReceiver(t *testing.T, e *stytchtest.Server, failFirst int) (*receiver, string) {
	t.Helper()
	v, err := webhook.New(webhook.Config{Secret: secret, Now: e.Now})
	if err != nil {
		t.Fatal(err)
	}
	rc := &receiver{v: v, failFirst: failFirst}
	ts := httptest.NewServer(rc)
	t.Cleanup(ts.Close)
	return rc, ts.URL
}

func TestWebhooksForDashboardChanges(t *testing.T) {
	e := newEnv(t)
	rc, url := newReceiver(t, e.Server, 0)
	e.SetWebhooks(stytchtest.WebhookConfig{Secret: secret, URLs: []string{url}})
	u := e.CreateUser(stytchtest.UserParams{Email: "a@example.com"})
	tok, _ := e.StartSession(u.UserID, stytchtest.SessionParams{})
	if err := e.SetUserRoles(u.UserID, []string{"editor"}); err != nil {
		t.Fatal(err)
	}
	org := e.CreateOrganization(stytchtest.OrganizationParams{Name: "Acme"})
	m, _ := e.CreateMember(org.OrganizationID, stytchtest.MemberParams{Email: "m@example.com"})
	if err := e.DeleteMember(m.MemberID); err != nil {
		t.Fatal(err)
	}
	if err := e.DeleteUser(u.UserID); err != nil {
		t.Fatal(err)
	}
	rc.wait(t, 5, 0)
	rc.mu.Lock()
	var types []string
	var update webhook.Event
	for _, ev := range rc.events {
		types = append(types, ev.Type())
		if ev.ProjectID != e.ProjectID() {
			t.Errorf("event of project %s", ev.ProjectID)
		}
		if ev.Type() == "dashboard.user.update" {
			update = ev
		}
	}
	rc.mu.Unlock()
	// Like Svix, the emulator does not promise delivery order.
	slices.Sort(types)
	want := []string{"dashboard.member.create", "dashboard.member.delete", "dashboard.user.create", "dashboard.user.delete", "dashboard.user.update"}
	if !slices.Equal(types, want) {
		t.Fatalf("events %v, want %v", types, want)
	}
	if update.User == nil || len(update.User.Roles) != 2 || update.User.Roles[1] != "editor" {
		t.Fatalf("the update does not carry the new roles: %+v", update.User)
	}
	// Deleting a user ends its sessions, as at Stytch.
	_, err := e.client.Consumer.Authenticate(ctx(t), session.AuthenticateParams{SessionToken: tok.SessionToken})
	wantAPIError(t, err, 404, "session_not_found")
	if err := e.DeleteUser(u.UserID); !errors.Is(err, stytchtest.ErrNotFound) {
		t.Fatalf("deleting twice: %v", err)
	}
}

func TestWebhookRetriesAndFaults(t *testing.T) {
	tests := []struct {
		name      string
		failFirst int
		fault     stytchtest.WebhookFault
		events    int
		refusals  int
		sameIDs   bool
	}{
		{"retried after two 500s", 2, stytchtest.WebhookFault{}, 1, 0, false},
		{"bad signature", 0, stytchtest.WebhookFault{BadSignature: true}, 0, 1, false},
		{"stale timestamp", 0, stytchtest.WebhookFault{StaleTimestamp: true}, 0, 1, false},
		{"duplicate", 0, stytchtest.WebhookFault{Duplicate: true}, 2, 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			rc, url := newReceiver(t, e.Server, tt.failFirst)
			e.SetWebhooks(stytchtest.WebhookConfig{Secret: secret, URLs: []string{url}, Fault: tt.fault,
				Retries: []time.Duration{10 * time.Millisecond, 10 * time.Millisecond, 10 * time.Millisecond}})
			e.CreateUser(stytchtest.UserParams{Email: "a@example.com"})
			rc.wait(t, tt.events, tt.refusals)
			rc.mu.Lock()
			defer rc.mu.Unlock()
			if tt.sameIDs && (len(rc.ids) != 2 || rc.ids[0] != rc.ids[1]) {
				t.Fatalf("duplicate deliveries with ids %v", rc.ids)
			}
			if tt.failFirst > 0 && rc.attempts != tt.failFirst+1 {
				t.Fatalf("%d attempts, want %d", rc.attempts, tt.failFirst+1)
			}
			if tt.refusals > 0 && !errors.Is(rc.errs[0], webhook.ErrSignature) && !errors.Is(rc.errs[0], webhook.ErrTimestamp) {
				t.Fatalf("refused with %v", rc.errs[0])
			}
		})
	}
}
