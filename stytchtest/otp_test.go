package stytchtest_test

import (
	"testing"
	"time"

	"github.com/stytchguard/stytchguard/session"
	"github.com/stytchguard/stytchguard/stytchtest"
)

// mfaSetup signs grace in at Home and exchanges her session into Strict,
// which requires MFA: the intermediate session token and her member there.
func mfaSetup(t *testing.T, e *env, phone string) (string, session.Member, session.Organization) {
	t.Helper()
	_, _, tok := e.b2b(t, stytchtest.OrganizationParams{Name: "Home"})
	strict := e.CreateOrganization(stytchtest.OrganizationParams{Name: "Strict", MFARequired: true})
	m, err := e.CreateMember(strict.OrganizationID, stytchtest.MemberParams{Email: "grace@example.com", MFAPhoneNumber: phone})
	if err != nil {
		t.Fatal(err)
	}
	x, err := e.client.B2B.Exchange(ctx(t), session.B2BExchangeParams{OrganizationID: strict.OrganizationID, SessionToken: tok.SessionToken})
	if err != nil || x.IntermediateSessionToken == "" {
		t.Fatalf("exchange: %v %+v", err, x)
	}
	return x.IntermediateSessionToken, m, strict
}

// TestSMSOTPCompletesTheExchange: the code sent completes the MFA step once,
// with the factors carried over plus the SMS OTP, in a session Stytch then
// authenticates; the intermediate token and the code are spent.
func TestSMSOTPCompletesTheExchange(t *testing.T) {
	e := newEnv(t)
	ist, m, org := mfaSetup(t, e, "+15555550100")
	status, sent := e.do(t, "POST", "/v1/b2b/otps/sms/send", map[string]any{"organization_id": org.OrganizationID, "member_id": m.MemberID, "intermediate_session_token": ist}, true)
	if status != 200 || sent["member_id"] != m.MemberID {
		t.Fatalf("send: %d %v", status, sent)
	}
	code, ok := e.SMSCode(m.MemberID)
	if !ok || len(code) != 6 {
		t.Fatalf("SMSCode = %q %v", code, ok)
	}
	res, err := e.client.B2B.AuthenticateSMSOTP(ctx(t), session.SMSOTPAuthenticateParams{OrganizationID: org.OrganizationID, MemberID: m.MemberID, Code: code, IntermediateSessionToken: ist})
	if err != nil {
		t.Fatal(err)
	}
	var types []string
	for _, f := range res.MemberSession.AuthenticationFactors {
		types = append(types, f.Type+"/"+f.DeliveryMethod)
	}
	if res.MemberSession.OrganizationID != org.OrganizationID || len(types) != 2 || types[0] != "magic_link/email" || types[1] != "otp/sms" {
		t.Fatalf("session %s with factors %v", res.MemberSession.OrganizationID, types)
	}
	if a, err := e.client.B2B.Authenticate(ctx(t), session.B2BAuthenticateParams{SessionJWT: res.SessionJWT}); err != nil || a.MemberSession.MemberID != m.MemberID {
		t.Fatalf("the new session: %v", err)
	}
	_, err = e.client.B2B.AuthenticateSMSOTP(ctx(t), session.SMSOTPAuthenticateParams{OrganizationID: org.OrganizationID, MemberID: m.MemberID, Code: code, IntermediateSessionToken: ist})
	wantAPIError(t, err, 404, "intermediate_session_not_found")
}

// TestSMSOTPRefusals: each way the MFA step can be wrong, and what it
// answers.
func TestSMSOTPRefusals(t *testing.T) {
	tests := []struct {
		name       string
		phone      string // the member's MFA phone number
		send       func(p *session.SMSOTPSendParams)
		auth       func(p *session.SMSOTPAuthenticateParams, code string)
		advance    time.Duration // between send and authenticate
		wantStatus int
		wantType   string
		sendFails  bool
	}{
		{name: "wrong code", phone: "+15555550100", auth: func(p *session.SMSOTPAuthenticateParams, code string) { p.Code = wrong(code) }, wantStatus: 404, wantType: "otp_code_not_found"},
		{name: "expired code", phone: "+15555550100", advance: stytchtest.SMSOTPLifetime, wantStatus: 404, wantType: "otp_code_not_found"},
		{name: "expired intermediate session", phone: "+15555550100", advance: stytchtest.IntermediateSessionLifetime, wantStatus: 404, wantType: "intermediate_session_not_found"},
		{name: "another member", phone: "+15555550100", auth: func(p *session.SMSOTPAuthenticateParams, _ string) {
			p.MemberID = "member-test-00000000-0000-4000-8000-000000000000"
		}, wantStatus: 404, wantType: "member_not_found"},
		{name: "no session argument", phone: "+15555550100", auth: func(p *session.SMSOTPAuthenticateParams, _ string) { p.IntermediateSessionToken = "" }, wantStatus: 400, wantType: "bad_request"},
		{name: "no phone to send to", send: func(*session.SMSOTPSendParams) {}, sendFails: true, wantStatus: 400, wantType: "mfa_phone_number_required"},
		{name: "not a phone number", send: func(p *session.SMSOTPSendParams) { p.MFAPhoneNumber = "555-0100" }, sendFails: true, wantStatus: 400, wantType: "invalid_phone_number"},
		{name: "another phone number", phone: "+15555550100", send: func(p *session.SMSOTPSendParams) { p.MFAPhoneNumber = "+15555550199" }, sendFails: true, wantStatus: 400, wantType: "member_phone_number_already_set"},
		{name: "forged intermediate token", phone: "+15555550100", send: func(p *session.SMSOTPSendParams) { p.IntermediateSessionToken = "forged" }, sendFails: true, wantStatus: 404, wantType: "intermediate_session_not_found"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			ist, m, org := mfaSetup(t, e, tt.phone)
			sp := session.SMSOTPSendParams{OrganizationID: org.OrganizationID, MemberID: m.MemberID, IntermediateSessionToken: ist}
			if tt.send != nil {
				tt.send(&sp)
			}
			err := e.client.B2B.SendSMSOTP(ctx(t), sp)
			if tt.sendFails {
				wantAPIError(t, err, tt.wantStatus, tt.wantType)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			code, _ := e.SMSCode(m.MemberID)
			e.Advance(tt.advance)
			ap := session.SMSOTPAuthenticateParams{OrganizationID: org.OrganizationID, MemberID: m.MemberID, Code: code, IntermediateSessionToken: ist}
			if tt.auth != nil {
				tt.auth(&ap, code)
			}
			_, err = e.client.B2B.AuthenticateSMSOTP(ctx(t), ap)
			wantAPIError(t, err, tt.wantStatus, tt.wantType)
		})
	}
}

// TestSMSOTPGuessesAreBounded: after SMSOTPAttempts wrong codes the code
// sent is discarded, so that even the right one no longer works.
func TestSMSOTPGuessesAreBounded(t *testing.T) {
	e := newEnv(t)
	ist, m, org := mfaSetup(t, e, "+15555550100")
	if err := e.client.B2B.SendSMSOTP(ctx(t), session.SMSOTPSendParams{OrganizationID: org.OrganizationID, MemberID: m.MemberID, IntermediateSessionToken: ist}); err != nil {
		t.Fatal(err)
	}
	code, _ := e.SMSCode(m.MemberID)
	p := session.SMSOTPAuthenticateParams{OrganizationID: org.OrganizationID, MemberID: m.MemberID, Code: wrong(code), IntermediateSessionToken: ist}
	for range stytchtest.SMSOTPAttempts {
		_, err := e.client.B2B.AuthenticateSMSOTP(ctx(t), p)
		wantAPIError(t, err, 404, "otp_code_not_found")
	}
	p.Code = code
	_, err := e.client.B2B.AuthenticateSMSOTP(ctx(t), p)
	wantAPIError(t, err, 404, "otp_code_not_found")
	if _, ok := e.SMSCode(m.MemberID); ok {
		t.Fatal("the code survived its guesses")
	}
}

// TestSMSOTPEnrollsANewNumber: a member without an MFA phone number gets the
// code at the number given, and has that number afterwards.
func TestSMSOTPEnrollsANewNumber(t *testing.T) {
	e := newEnv(t)
	ist, m, org := mfaSetup(t, e, "")
	if err := e.client.B2B.SendSMSOTP(ctx(t), session.SMSOTPSendParams{OrganizationID: org.OrganizationID, MemberID: m.MemberID, MFAPhoneNumber: "+15555550123", IntermediateSessionToken: ist}); err != nil {
		t.Fatal(err)
	}
	code, _ := e.SMSCode(m.MemberID)
	res, err := e.client.B2B.AuthenticateSMSOTP(ctx(t), session.SMSOTPAuthenticateParams{OrganizationID: org.OrganizationID, MemberID: m.MemberID, Code: code, IntermediateSessionToken: ist})
	if err != nil {
		t.Fatal(err)
	}
	if res.Member.MFAPhoneNumber != "+15555550123" {
		t.Fatalf("member's MFA phone number: %q", res.Member.MFAPhoneNumber)
	}
}

// wrong returns a 6-digit code other than code.
func wrong(code string) string {
	if code == "000000" {
		return "000001"
	}
	return "000000"
}

// TestSMSSendsAreLimited: codes sent for one intermediate session, and to
// one member, are bounded, so that guesses are too; the limits lift with
// time (the member's) or a new sign-in step (the session's).
func TestSMSSendsAreLimited(t *testing.T) {
	e := newEnv(t)
	_, homeMember, home := e.b2b(t, stytchtest.OrganizationParams{Name: "Home"})
	org := e.CreateOrganization(stytchtest.OrganizationParams{Name: "Strict", MFARequired: true})
	m, err := e.CreateMember(org.OrganizationID, stytchtest.MemberParams{Email: "grace@example.com", MFAPhoneNumber: "+15555550100"})
	if err != nil {
		t.Fatal(err)
	}
	step := func() string {
		x, err := e.client.B2B.Exchange(ctx(t), session.B2BExchangeParams{OrganizationID: org.OrganizationID, SessionToken: home.SessionToken})
		if err != nil || x.IntermediateSessionToken == "" {
			t.Fatalf("exchange: %v", err)
		}
		return x.IntermediateSessionToken
	}
	ist := step()
	send := func(ist string) error {
		err := e.client.B2B.SendSMSOTP(ctx(t), session.SMSOTPSendParams{OrganizationID: org.OrganizationID, MemberID: m.MemberID, IntermediateSessionToken: ist})
		return err
	}
	for i := range stytchtest.SMSSendsPerIntermediateSession {
		if err := send(ist); err != nil {
			t.Fatalf("send %d: %v", i+1, err)
		}
	}
	wantAPIError(t, send(ist), 429, "too_many_requests")
	if memberID, orgID, ok := e.IntermediateSession(ist); !ok || memberID != m.MemberID || orgID != org.OrganizationID {
		t.Fatalf("IntermediateSession = %s %s %v", memberID, orgID, ok)
	}
	// A new step, the same member: the member's own limit still counts.
	next := step()
	for i := stytchtest.SMSSendsPerIntermediateSession; i < stytchtest.SMSSendsPerMember; i++ {
		if err := send(next); err != nil {
			t.Fatalf("send %d: %v", i+1, err)
		}
	}
	wantAPIError(t, send(next), 429, "too_many_requests")
	e.Advance(stytchtest.SMSSendWindow)
	if home, err = e.StartMemberSession(homeMember.MemberID, stytchtest.SessionParams{}); err != nil {
		t.Fatal(err)
	}
	if err := send(step()); err != nil {
		t.Fatalf("after the window: %v", err)
	}
}
