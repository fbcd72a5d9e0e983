package webhook_test

import (
	"errors"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/stytchguard/stytchguard/webhook"
)

// Svix's documented example delivery.
const (
	svixSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	svixID     = "msg_p5jXN8AQM9LWM0D4loKWxJek"
	svixTS     = 1614265330
	svixBody   = `{"test": 2432232314}`
	svixSig    = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
)

func headers(id string, ts int64, sig string) http.Header {
	h := http.Header{}
	h.Set("svix-id", id)
	h.Set("svix-timestamp", strconv.FormatInt(ts, 10))
	h.Set("svix-signature", sig)
	return h
}

func TestVerifyAgainstSvixsExample(t *testing.T) {
	at := time.Unix(svixTS, 0)
	v, err := webhook.New(webhook.Config{Secret: svixSecret, Now: func() time.Time { return at.Add(time.Minute) }})
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := webhook.Sign(svixSecret, svixID, at, []byte(svixBody)); got != svixSig {
		t.Fatalf("Sign = %s, want Svix's %s", got, svixSig)
	}
	tests := []struct {
		name string
		h    http.Header
		body string
		want error
	}{
		{"Svix's example", headers(svixID, svixTS, svixSig), svixBody, nil},
		{"one good among several", headers(svixID, svixTS, "v1,AAAA v2,xyz "+svixSig), svixBody, nil},
		{"body changed", headers(svixID, svixTS, svixSig), `{"test": 2432232315}`, webhook.ErrSignature},
		{"id changed", headers("msg_other", svixTS, svixSig), svixBody, webhook.ErrSignature},
		{"another version only", headers(svixID, svixTS, "v2,"+svixSig[3:]), svixBody, webhook.ErrSignature},
		{"stale", headers(svixID, svixTS-6*60, svixSig), svixBody, webhook.ErrTimestamp},
		{"from the future", headers(svixID, svixTS+7*60, svixSig), svixBody, webhook.ErrTimestamp},
		{"no signature", headers(svixID, svixTS, ""), svixBody, webhook.ErrMalformed},
		{"timestamp not a number", http.Header{"Svix-Id": {svixID}, "Svix-Timestamp": {"soon"}, "Svix-Signature": {svixSig}}, svixBody, webhook.ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := v.Verify(tt.h, []byte(tt.body)); !errors.Is(err, tt.want) {
				t.Fatalf("Verify = %v, want %v", err, tt.want)
			}
		})
	}
	// Accepted once, a delivery id is a replay after.
	h := headers(svixID, svixTS, svixSig)
	v.Accept(h)
	if err := v.Verify(h, []byte(svixBody)); !errors.Is(err, webhook.ErrReplay) {
		t.Fatalf("replay: %v", err)
	}
}

func TestSecretMustBeSvixs(t *testing.T) {
	for _, s := range []string{"", "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "whsec_", "whsec_not base64!"} {
		if _, err := webhook.New(webhook.Config{Secret: s}); err == nil {
			t.Errorf("secret %q accepted", s)
		}
	}
}

func TestParse(t *testing.T) {
	body := `{"action":"UPDATE","event_id":"webhook-event-test-1","id":"member-test-1","member":{"member_id":"member-test-1","organization_id":"organization-test-1","status":"active","roles":[{"role_id":"stytch_member","sources":[]}],"external_id":null,"lock_created_at":null},"object_type":"member","project_id":"project-test-1","source":"DASHBOARD","timestamp":"2024-01-02T03:04:05.678901Z","vertical":"B2B"}`
	e, err := webhook.Parse([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	if e.Type() != "dashboard.member.update" || e.Member == nil || e.Member.MemberID != "member-test-1" || e.Timestamp.IsZero() {
		t.Fatalf("%+v", e)
	}
	event := func(objectType, id string) string {
		return `{"action":"UPDATE","event_id":"e","id":"` + id + `","object_type":"` + objectType + `","project_id":"project-test-1","source":"DASHBOARD"}`
	}
	tests := []struct {
		name, body string
		ok         bool
	}{
		{"not JSON", `{`, false},
		{"fields missing", `{"action":"UPDATE"}`, false},
		{"an array", `[]`, false},
		{"trailing data", body + `{"id":"user-test-2"}`, false},
		{"trailing garbage", body + `x`, false},
		{"trailing whitespace", body + " \n", true},
		{"a user", event("user", "user-live-2b1c-42"), true},
		{"an organization", event("organization", "organization-test-1"), true},
		{"a user id on a member", event("member", "user-test-1"), false},
		{"the everyone mark", event("user", "*"), false},
		{"no environment", event("user", "user-1"), false},
		{"odd characters", event("member", "member-test-1/../x"), false},
		{"another object's id is its own", event("sso_connection", "saml-connection-test-1"), true},
	}
	for _, tt := range tests {
		_, err := webhook.Parse([]byte(tt.body))
		if tt.ok && err != nil {
			t.Errorf("%s: %v", tt.name, err)
		}
		if !tt.ok && !errors.Is(err, webhook.ErrMalformed) {
			t.Errorf("%s: err %v, want ErrMalformed", tt.name, err)
		}
	}
}
