package stytchtest

import "github.com/stytchguard/stytchguard/session"

// The success bodies of the endpoints whose client methods return only
// what they carry (session decodes them into types of its own): a request
// id and a status_code around it, as Stytch sends them.

type revokeResponse struct {
	RequestID  string `json:"request_id"`
	StatusCode int    `json:"status_code"`
}

type jwksResponse struct {
	Keys       []session.JWK `json:"keys"`
	RequestID  string        `json:"request_id"`
	StatusCode int           `json:"status_code"`
}

type policyResponse struct {
	RequestID  string          `json:"request_id"`
	StatusCode int             `json:"status_code"`
	Policy     *session.Policy `json:"policy,omitempty"`
}

type orgPolicyResponse struct {
	RequestID  string            `json:"request_id"`
	OrgPolicy  session.OrgPolicy `json:"org_policy"`
	StatusCode int               `json:"status_code"`
}

type smsOTPSendResponse struct {
	RequestID    string               `json:"request_id"`
	MemberID     string               `json:"member_id"`
	Member       session.Member       `json:"member"`
	Organization session.Organization `json:"organization"`
	StatusCode   int                  `json:"status_code"`
}
