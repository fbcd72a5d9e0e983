package jwtlocal

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/stytchguard/stytchguard"
	"github.com/stytchguard/stytchguard/session"
)

// claims is a Stytch session JWT's payload: the registered claims, Stytch's
// session and organization claims, and every other top-level key as a
// custom claim.
type claims struct {
	Issuer       string             `json:"iss"`
	Subject      string             `json:"sub"`
	Audience     any                `json:"aud"` // a string or an array of strings
	ExpiresAt    *float64           `json:"exp"`
	NotBefore    *float64           `json:"nbf"`
	IssuedAt     *float64           `json:"iat"`
	Session      *sessionClaim      `json:"https://stytch.com/session"`
	Organization *organizationClaim `json:"https://stytch.com/organization"`
	// Scope is an M2M or Connected Apps access token's space-separated
	// scopes; nil in a session JWT.
	Scope *string `json:"scope"`
	// ClientID is a Connected Apps access token's client; nil in an M2M
	// access token, whose client is its sub.
	ClientID *string        `json:"client_id"`
	TokenID  string         `json:"jti"`
	Custom   map[string]any `json:"-"`
}

// machine reports whether the payload is an M2M access token's: a scope
// claim, no session claim, and no client_id other than its sub.
func (c *claims) machine() bool { return c.scoped() && !c.accessToken() }

// accessToken reports whether the payload is a Connected Apps access
// token's: a scope claim, no session claim, and a client_id other than its
// sub, the person the client acts for. (An M2M token's sub is its client;
// a custom claims template may repeat it as client_id.)
func (c *claims) accessToken() bool {
	return c.scoped() && c.ClientID != nil && *c.ClientID != c.Subject
}

// scoped reports whether the payload is an access token's, M2M or
// Connected Apps: a scope claim and no session claim.
func (c *claims) scoped() bool { return c.Session == nil && c.Scope != nil }

type sessionClaim struct {
	ID                    string                         `json:"id"`
	StartedAt             session.Time                   `json:"started_at"`
	LastAccessedAt        session.Time                   `json:"last_accessed_at"`
	ExpiresAt             session.Time                   `json:"expires_at"`
	Attributes            *session.Attributes            `json:"attributes"`
	AuthenticationFactors []session.AuthenticationFactor `json:"authentication_factors"`
	Roles                 []string                       `json:"roles"`
}

type organizationClaim struct {
	OrganizationID string `json:"organization_id"`
	Slug           string `json:"slug"`
}

// decode decodes a JSON payload in one typed pass, then collects the custom
// claims with a light scan of the top-level keys.
func (c *claims) decode(b []byte) error {
	if err := json.Unmarshal(b, c); err != nil {
		return err
	}
	return eachTopLevel(b, func(key string, value []byte) error {
		switch key {
		case "iss", "sub", "aud", "exp", "nbf", "iat", "jti":
			return nil
		}
		if strings.HasPrefix(key, "https://stytch.com/") || key == "scope" && c.scoped() || key == "client_id" && c.accessToken() {
			return nil // Stytch's own, not the app's
		}
		var v any
		if err := json.Unmarshal(value, &v); err != nil {
			return fmt.Errorf("claim %q: %w", key, err)
		}
		if c.Custom == nil {
			c.Custom = map[string]any{}
		}
		c.Custom[key] = v
		return nil
	})
}

// audience returns the aud claim as a list, nil when it is neither a string
// nor an array of strings.
func (c *claims) audience() []string {
	switch a := c.Audience.(type) {
	case string:
		return []string{a}
	case []any:
		out := make([]string, 0, len(a))
		for _, x := range a {
			s, ok := x.(string)
			if !ok {
				return nil
			}
			out = append(out, s)
		}
		return out
	}
	return nil
}

// eachTopLevel calls fn with each key and raw value of the JSON object b,
// which must already be known to be valid JSON.
func eachTopLevel(b []byte, fn func(key string, value []byte) error) error {
	i := skipSpace(b, 0)
	if i >= len(b) || b[i] != '{' {
		return errors.New("payload is not a JSON object")
	}
	i++
	for {
		i = skipSpace(b, i)
		if i < len(b) && b[i] == '}' {
			return nil
		}
		if i < len(b) && b[i] == ',' {
			i = skipSpace(b, i+1)
		}
		end := skipValue(b, i) // the key, a string
		if end-i < 2 || b[i] != '"' {
			return errors.New("malformed object key")
		}
		key := string(b[i+1 : end-1])
		if bytes.IndexByte(b[i:end], '\\') >= 0 {
			if err := json.Unmarshal(b[i:end], &key); err != nil { // escapes: rare
				return err
			}
		}
		i = skipSpace(b, end)
		if i >= len(b) || b[i] != ':' {
			return errors.New("malformed object")
		}
		i = skipSpace(b, i+1)
		end = skipValue(b, i)
		if err := fn(key, b[i:end]); err != nil {
			return err
		}
		i = end
	}
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// skipValue returns the index just past the JSON value starting at i.
func skipValue(b []byte, i int) int {
	depth := 0
	for ; i < len(b); i++ {
		switch b[i] {
		case '"':
			i = stringEnd(b, i)
			if depth == 0 {
				return i + 1
			}
		case '{', '[':
			depth++
		case '}', ']':
			depth--
			if depth == 0 {
				return i + 1
			}
			if depth < 0 {
				return i
			}
		case ',', ':':
			if depth == 0 {
				return i
			}
		case ' ', '\t', '\n', '\r':
			if depth == 0 {
				return i
			}
		}
	}
	return i
}

// stringEnd returns the index of the quote that closes the JSON string
// whose opening quote is at i (len(b) when there is none), jumping from
// quote to quote: payloads are mostly strings.
func stringEnd(b []byte, i int) int {
	for {
		j := bytes.IndexByte(b[i+1:], '"')
		if j < 0 {
			return len(b)
		}
		i += 1 + j
		escapes := 0
		for k := i - 1; k >= 0 && b[k] == '\\'; k-- {
			escapes++
		}
		if escapes%2 == 0 {
			return i
		}
	}
}

func unixTime(f float64) time.Time {
	sec, frac := math.Modf(f)
	return time.Unix(int64(sec), int64(frac*1e9)).UTC()
}

// Verified is a session JWT that verified. It is shared between every request
// that presents the same token: treat it as read-only.
type Verified struct {
	// Consumer is the session a consumer verifier verified; nil for B2B.
	Consumer *session.Session
	// Member is the member session a B2B verifier verified; nil for consumer.
	Member *session.MemberSession
	// ConsumerAuth and MemberAuth wrap Consumer and Member (the same
	// values) with SourceLocal, ready for stytchguard.NewConsumerContext and
	// stytchguard.NewMemberContext without a copy per request.
	ConsumerAuth *stytchguard.ConsumerAuth
	MemberAuth   *stytchguard.MemberAuth
	// Machine is the M2M access token VerifyMachine or VerifyAny verified;
	// nil for a session JWT. Consumer and Member are nil when it is set.
	Machine *stytchguard.MachineAuth
	// AccessToken is the Connected Apps access token verified: a client
	// acting for a person, with the scopes they granted; nil for a session
	// JWT or an M2M token. Consumer, Member and Machine are nil when it is
	// set.
	AccessToken *stytchguard.AccessTokenAuth
	// SessionID is the session id (B2B: member_session_id); "" for a
	// machine token.
	SessionID string
	// Subject is the user id (B2B: member id; machine token: client id).
	Subject string
	// IssuedAt, NotBefore and Expiry are the JWT's own times; the session's
	// end is the session's ExpiresAt.
	IssuedAt, NotBefore, Expiry time.Time
}

// verifiedBlock is a verified session JWT's one allocation: the Verified
// and the session it points to (a ConsumerAuth or a MemberAuth). A cache
// hit reads both.
type verifiedBlock[A stytchguard.ConsumerAuth | stytchguard.MemberAuth] struct {
	v    Verified
	auth A
}

// toVerified maps checked claims to the session package's types, the same a
// call to Stytch's authenticate would return, with the session's roles
// shared through roles, and decodes the custom claims with decode when it is
// set.
func (c *claims) toVerified(b2b bool, decode stytchguard.ClaimsDecoder, roles roleSets) *Verified {
	if c.accessToken() {
		return c.toAccessToken()
	}
	exp := unixTime(*c.ExpiresAt)
	typed := decode.Decode(c.Custom)
	if c.machine() {
		custom := c.Custom
		if custom == nil {
			custom = map[string]any{}
		}
		m := &stytchguard.MachineAuth{
			ClientID: c.Subject, Scopes: strings.Fields(*c.Scope), CustomClaims: custom, Claims: typed,
			IssuedAt: unixTime(*c.IssuedAt), ExpiresAt: exp, Source: stytchguard.SourceLocal,
		}
		return &Verified{Machine: m, Subject: c.Subject, IssuedAt: m.IssuedAt, NotBefore: unixTime(*c.NotBefore), Expiry: exp}
	}
	sc := c.Session
	expires := sc.ExpiresAt
	if expires.IsZero() {
		expires = session.NewTime(exp)
	}
	// Clipped, as the shared roles are: an append by a reader must not write
	// into the cached session.
	factors := slices.Clip(sc.AuthenticationFactors)
	if factors == nil {
		factors = []session.AuthenticationFactor{}
	}
	held := roles.share(sc.Roles)
	// One verifiedBlock: one place in memory for a cache hit to fetch, not
	// three.
	base := Verified{
		SessionID: sc.ID,
		Subject:   c.Subject,
		IssuedAt:  unixTime(*c.IssuedAt),
		NotBefore: unixTime(*c.NotBefore),
		Expiry:    exp,
	}
	if b2b {
		b := &verifiedBlock[stytchguard.MemberAuth]{v: base}
		b.auth = stytchguard.MemberAuth{Source: stytchguard.SourceLocal, Session: session.MemberSession{
			MemberSessionID:       sc.ID,
			MemberID:              c.Subject,
			StartedAt:             sc.StartedAt,
			LastAccessedAt:        sc.LastAccessedAt,
			ExpiresAt:             expires,
			AuthenticationFactors: factors,
			OrganizationID:        c.Organization.OrganizationID,
			OrganizationSlug:      c.Organization.Slug,
			Roles:                 held,
			CustomClaims:          c.Custom,
		}, Claims: typed}
		b.v.MemberAuth, b.v.Member = &b.auth, &b.auth.Session
		return &b.v
	}
	b := &verifiedBlock[stytchguard.ConsumerAuth]{v: base}
	b.auth = stytchguard.ConsumerAuth{Source: stytchguard.SourceLocal, Session: session.Session{
		SessionID:             sc.ID,
		UserID:                c.Subject,
		AuthenticationFactors: factors,
		Roles:                 held,
		StartedAt:             sc.StartedAt,
		LastAccessedAt:        sc.LastAccessedAt,
		ExpiresAt:             expires,
		Attributes:            sc.Attributes,
		CustomClaims:          c.Custom,
	}, Claims: typed}
	b.v.ConsumerAuth, b.v.Consumer = &b.auth, &b.auth.Session
	return &b.v
}

// toAccessToken maps a Connected Apps access token's checked claims.
func (c *claims) toAccessToken() *Verified {
	custom := c.Custom
	if custom == nil {
		custom = map[string]any{}
	}
	a := &stytchguard.AccessTokenAuth{
		Subject: c.Subject, ClientID: *c.ClientID, Scopes: strings.Fields(*c.Scope), TokenID: c.TokenID, Issuer: c.Issuer,
		Audience: slices.Clip(c.audience()), CustomClaims: custom, IssuedAt: unixTime(*c.IssuedAt), ExpiresAt: unixTime(*c.ExpiresAt), Source: stytchguard.SourceLocal,
	}
	if c.Organization != nil {
		a.OrganizationID = c.Organization.OrganizationID
	}
	return &Verified{AccessToken: a, Subject: c.Subject, IssuedAt: a.IssuedAt, NotBefore: unixTime(*c.NotBefore), Expiry: a.ExpiresAt}
}
