package session

import (
	"context"
	"net/http"
)

// SMSOTPSendParams sends a member a one-time code by SMS, for the MFA step
// of a sign-in or an exchange (with IntermediateSessionToken) or to step up
// a session (with SessionToken or SessionJWT). MFAPhoneNumber is needed only
// for a member who has no MFA phone number yet.
type SMSOTPSendParams struct {
	OrganizationID           string `json:"organization_id"`
	MemberID                 string `json:"member_id"`
	MFAPhoneNumber           string `json:"mfa_phone_number,omitempty"`
	Locale                   string `json:"locale,omitempty"`
	IntermediateSessionToken string `json:"intermediate_session_token,omitempty"`
	SessionToken             string `json:"session_token,omitempty"`
	SessionJWT               string `json:"session_jwt,omitempty"`
}

// smsOTPSendResponse is the answer to a send: the member the code went to.
type smsOTPSendResponse struct {
	RequestID    string       `json:"request_id"`
	MemberID     string       `json:"member_id"`
	Member       Member       `json:"member"`
	Organization Organization `json:"organization"`
	StatusCode   int          `json:"status_code"`
}

// SMSOTPAuthenticateParams checks the code a member received. Pass exactly
// one of IntermediateSessionToken (the MFA step completes and a member
// session starts), SessionToken and SessionJWT (the session gains the SMS
// OTP factor). SetMFAEnrollment is "enroll" or "unenroll" the number sent
// to, for a member who had none.
type SMSOTPAuthenticateParams struct {
	OrganizationID           string         `json:"organization_id"`
	MemberID                 string         `json:"member_id"`
	Code                     string         `json:"code"`
	IntermediateSessionToken string         `json:"intermediate_session_token,omitempty"`
	SessionToken             string         `json:"session_token,omitempty"`
	SessionJWT               string         `json:"session_jwt,omitempty"`
	SessionDurationMinutes   int            `json:"session_duration_minutes,omitempty"`
	SessionCustomClaims      map[string]any `json:"session_custom_claims,omitempty"`
	SetMFAEnrollment         string         `json:"set_mfa_enrollment,omitempty"`
	TelemetryID              string         `json:"telemetry_id,omitempty"`
}

// SendSMSOTP sends a member a one-time code by SMS. It is never retried: a
// retry would text the member twice.
func (c *B2BClient) SendSMSOTP(ctx context.Context, p SMSOTPSendParams) error {
	_, err := doJSON[smsOTPSendResponse](ctx, c.t, call{method: http.MethodPost, path: "/v1/b2b/otps/sms/send", body: p})
	return err
}

// AuthenticateSMSOTP checks the code a member received by SMS. A wrong or
// expired code is a 404 otp_code_not_found (KindNotFound). It is never
// retried: a code is good once.
func (c *B2BClient) AuthenticateSMSOTP(ctx context.Context, p SMSOTPAuthenticateParams) (*B2BSessionResponse, error) {
	return doJSON[B2BSessionResponse](ctx, c.t, call{method: http.MethodPost, path: "/v1/b2b/otps/sms/authenticate", body: p})
}
