package session_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stytchguard/stytchguard"
	"github.com/stytchguard/stytchguard/session"
	"github.com/stytchguard/stytchguard/stytchtest"
)

func TestNewValidatesConfig(t *testing.T) {
	tests := []struct {
		name    string
		cfg     session.Config
		base    string
		wantErr string
	}{
		{"test project", session.Config{ProjectID: "project-test-1", Secret: "s"}, "https://test.stytch.com", ""},
		{"live project", session.Config{ProjectID: "project-live-1", Secret: "s"}, "https://api.stytch.com", ""},
		{"custom domain", session.Config{ProjectID: "project-live-1", Secret: "s", BaseURL: "https://login.example.com/"}, "https://login.example.com", ""},
		{"emulator on loopback", session.Config{ProjectID: "p", Secret: "s", BaseURL: "http://127.0.0.1:9010"}, "http://127.0.0.1:9010", ""},
		{"localhost", session.Config{ProjectID: "p", Secret: "s", BaseURL: "http://localhost:9010"}, "http://localhost:9010", ""},
		{"IPv6 loopback", session.Config{ProjectID: "p", Secret: "s", BaseURL: "http://[::1]:9010"}, "http://[::1]:9010", ""},
		{"no project", session.Config{Secret: "s"}, "", "ProjectID"},
		{"no secret", session.Config{ProjectID: "p"}, "", "Secret"},
		{"plain http elsewhere", session.Config{ProjectID: "p", Secret: "s", BaseURL: "http://stytch.example.com"}, "", "https"},
		{"other scheme", session.Config{ProjectID: "p", Secret: "s", BaseURL: "ftp://x"}, "", "scheme"},
		{"query", session.Config{ProjectID: "p", Secret: "s", BaseURL: "https://x?a=b"}, "", "nothing else"},
		{"credentials in URL", session.Config{ProjectID: "p", Secret: "s", BaseURL: "https://u:p@x"}, "", "nothing else"},
		{"no host", session.Config{ProjectID: "p", Secret: "s", BaseURL: "https://"}, "", "nothing else"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := session.New(tt.cfg)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err %v, want one about %s", err, tt.wantErr)
				}
				if tt.cfg.Secret != "" && strings.Contains(err.Error(), "s\"") {
					t.Fatalf("error repeats the secret: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if c.BaseURL() != tt.base {
				t.Fatalf("base URL %s, want %s", c.BaseURL(), tt.base)
			}
		})
	}
}

func TestClassify(t *testing.T) {
	tests := []struct {
		err  error
		want session.Kind
	}{
		{&session.APIError{StatusCode: 404, ErrorType: "session_not_found"}, session.KindSessionGone},
		{&session.APIError{StatusCode: 401, ErrorType: "unauthorized_credentials"}, session.KindCredentials},
		{&session.APIError{StatusCode: 401, ErrorType: "invalid_secret_authentication"}, session.KindCredentials},
		{&session.APIError{StatusCode: 403, ErrorType: "consumer_session_authorization_error"}, session.KindForbidden},
		{&session.APIError{StatusCode: 400, ErrorType: "no_session_arguments"}, session.KindBadRequest},
		{&session.APIError{StatusCode: 409, ErrorType: "conflict"}, session.KindBadRequest},
		{&session.APIError{StatusCode: 429, ErrorType: "too_many_requests"}, session.KindUnavailable},
		{&session.APIError{StatusCode: 500, ErrorType: "internal_server_error"}, session.KindUnavailable},
		{&session.APIError{StatusCode: 503, ErrorType: "unavailable"}, session.KindUnavailable},
		{&session.UnavailableError{Op: "GET /x", Err: context.DeadlineExceeded}, session.KindUnavailable},
		{fmt.Errorf("wrapped: %w", &session.APIError{StatusCode: 404, ErrorType: "session_not_found"}), session.KindSessionGone},
		{errors.New("something else"), session.KindOther},
		{nil, session.KindOther},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.err), func(t *testing.T) {
			if got := session.Classify(tt.err); got != tt.want {
				t.Fatalf("Classify = %v, want %v", got, tt.want)
			}
		})
	}
	err := &session.APIError{StatusCode: 404, ErrorType: "session_not_found", ErrorMessage: "Session could not be found.", RequestID: "request-id-test-1"}
	if got := err.Error(); got != "stytch: 404 session_not_found: Session could not be found. (request_id request-id-test-1)" {
		t.Fatalf("Error() = %q", got)
	}
	if !errors.Is(err, session.ErrSessionGone) || errors.Is(err, session.ErrUnavailable) {
		t.Fatalf("errors.Is mismatch")
	}
}

func TestContextAccessors(t *testing.T) {
	ctx := context.Background()
	if _, ok := stytchguard.ConsumerFromContext(ctx); ok {
		t.Fatal("empty context has a consumer")
	}
	if _, ok := stytchguard.MemberFromContext(ctx); ok {
		t.Fatal("empty context has a member")
	}
	c := &stytchguard.ConsumerAuth{Session: session.Session{SessionID: "s1"}, Source: stytchguard.SourceLocal}
	m := &stytchguard.MemberAuth{Session: session.MemberSession{MemberSessionID: "s2"}, Source: stytchguard.SourceStytch}
	ctx = stytchguard.NewMemberContext(stytchguard.NewConsumerContext(ctx, c), m)
	gotC, ok := stytchguard.ConsumerFromContext(ctx)
	if !ok || gotC.Session.SessionID != "s1" || gotC.Source.String() != "local" {
		t.Fatalf("consumer %+v", gotC)
	}
	gotM, ok := stytchguard.MemberFromContext(ctx)
	if !ok || gotM.Session.MemberSessionID != "s2" || gotM.Source.String() != "stytch" {
		t.Fatalf("member %+v", gotM)
	}
	if _, ok := stytchguard.ConsumerFromContext(stytchguard.NewConsumerContext(context.Background(), nil)); ok {
		t.Fatal("a nil session counts as present")
	}
}

func TestTimeJSON(t *testing.T) {
	tests := []struct {
		in   string
		want time.Time
		err  bool
	}{
		{`"2021-12-29T12:33:09Z"`, time.Date(2021, 12, 29, 12, 33, 9, 0, time.UTC), false},
		{`"2021-12-29T13:33:09.5+01:00"`, time.Date(2021, 12, 29, 12, 33, 9, 5e8, time.UTC), false},
		{`""`, time.Time{}, false},
		{`null`, time.Time{}, false},
		{`"yesterday"`, time.Time{}, true},
		{`12`, time.Time{}, true},
	}
	for _, tt := range tests {
		var got session.Time
		err := got.UnmarshalJSON([]byte(tt.in))
		if (err != nil) != tt.err || !got.Equal(tt.want) {
			t.Errorf("%s: %v, %v", tt.in, got, err)
		}
	}
	b, _ := session.NewTime(time.Date(2021, 12, 29, 13, 33, 9, 999, time.FixedZone("x", 3600))).MarshalJSON()
	if string(b) != `"2021-12-29T12:33:09Z"` {
		t.Fatalf("marshal %s", b)
	}
	if b, _ := (session.Time{}).MarshalJSON(); string(b) != `null` {
		t.Fatalf("zero marshals as %s; Stytch sends null and stytch-go's *time.Time fails on \"\"", b)
	}
}

func TestCheckTellsAWrongSecretFromAnOutage(t *testing.T) {
	srv := stytchtest.NewServer()
	defer srv.Close()
	const secret = "secret-test-wrong-AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
	tests := []struct {
		name   string
		secret string
		fault  *stytchtest.Fault
		want   error // nil: the credentials are good
	}{
		{"good credentials", "", nil, nil},
		{"wrong secret", secret, nil, session.ErrCredentials},
		{"Stytch down", "", &stytchtest.Fault{Status: 503}, session.ErrUnavailable},
		{"Stytch answers garbage", "", &stytchtest.Fault{Malformed: true}, session.ErrUnavailable},
		{"endpoint refuses after authenticating", "", &stytchtest.Fault{Status: 400}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv.ClearFaults()
			if tt.fault != nil {
				srv.InjectFault(stytchtest.Policy, *tt.fault)
			}
			cfg := srv.Config()
			cfg.Retry = &session.RetryPolicy{MaxAttempts: 1}
			if tt.secret != "" {
				cfg.Secret = tt.secret
			}
			c, err := session.New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			err = c.Check(context.Background())
			switch {
			case tt.want == nil && err != nil:
				t.Fatalf("Check = %v, want nil", err)
			case tt.want != nil && !errors.Is(err, tt.want):
				t.Fatalf("Check = %v, want %v", err, tt.want)
			}
			if err != nil && strings.Contains(err.Error(), secret) {
				t.Fatalf("the secret leaked into %q", err)
			}
		})
	}
}

func TestImpersonator(t *testing.T) {
	imp := &session.ImpersonatedFactor{ImpersonatorID: "dashboard-user-1", ImpersonatorEmailAddress: "support@example.com"}
	tests := []struct {
		name    string
		factors []session.AuthenticationFactor
		want    *session.ImpersonatedFactor
	}{
		{"the owner", []session.AuthenticationFactor{{Type: "magic_link", DeliveryMethod: "email"}}, nil},
		{"impersonated", []session.AuthenticationFactor{{Type: "impersonated", DeliveryMethod: "impersonation", ImpersonatedFactor: imp}}, imp},
	}
	for _, tt := range tests {
		s := session.Session{AuthenticationFactors: tt.factors}
		m := session.MemberSession{AuthenticationFactors: tt.factors}
		if got := s.Impersonator(); got != tt.want {
			t.Errorf("%s: consumer %v", tt.name, got)
		}
		if got := m.Impersonator(); got != tt.want {
			t.Errorf("%s: member %v", tt.name, got)
		}
	}
}
