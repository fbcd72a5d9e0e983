package conformance_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/stytchguard/stytchguard/session"
	"github.com/stytchguard/stytchguard/stytchtest"
)

// The w* types below are Stytch's answers as its Go SDK (stytch-go v18.1.0,
// stytch/consumer/{users,sessions} and stytch/b2b/{organizations,sessions,mfa})
// and its API reference describe them, written here field by field and read
// strictly: unknown keys are errors, timestamps decode into time.Time (which
// refuses ""), and a key is required unless its field is tagged
// wire:"optional". A pointer field may be null; any other field may not, so
// a struct-typed field must be an object, a slice an array and a map an
// object. See docs/emulator.md for where the sources disagree and why each
// choice was made.

type wUser struct {
	UserID                 string           `json:"user_id"`
	Emails                 []wEmail         `json:"emails"`
	Status                 string           `json:"status"`
	PhoneNumbers           []wPhoneNumber   `json:"phone_numbers"`
	WebAuthnRegistrations  []map[string]any `json:"webauthn_registrations"`
	Providers              []map[string]any `json:"providers"`
	TOTPs                  []map[string]any `json:"totps"`
	CryptoWallets          []map[string]any `json:"crypto_wallets"`
	BiometricRegistrations []map[string]any `json:"biometric_registrations"`
	IsLocked               bool             `json:"is_locked"`
	Roles                  []string         `json:"roles"`
	Name                   wName            `json:"name"` // always an object
	CreatedAt              time.Time        `json:"created_at"`
	Password               *wPassword       `json:"password"` // null without a password
	TrustedMetadata        map[string]any   `json:"trusted_metadata"`
	UntrustedMetadata      map[string]any   `json:"untrusted_metadata"`
	ExternalID             *string          `json:"external_id"`
	LockCreatedAt          *time.Time       `json:"lock_created_at"`
	LockExpiresAt          *time.Time       `json:"lock_expires_at"`
}

type wEmail struct {
	EmailID  string `json:"email_id"`
	Email    string `json:"email"`
	Verified bool   `json:"verified"`
}

type wPhoneNumber struct {
	PhoneID     string `json:"phone_id"`
	PhoneNumber string `json:"phone_number"`
	Verified    bool   `json:"verified"`
}

type wName struct {
	FirstName  string `json:"first_name"`
	MiddleName string `json:"middle_name"`
	LastName   string `json:"last_name"`
}

type wPassword struct {
	PasswordID    string `json:"password_id"`
	RequiresReset bool   `json:"requires_reset"`
}

type wAttributes struct {
	IPAddress string `json:"ip_address"`
	UserAgent string `json:"user_agent"`
}

type wFactor struct {
	Type                           string            `json:"type"`
	DeliveryMethod                 string            `json:"delivery_method"`
	LastAuthenticatedAt            time.Time         `json:"last_authenticated_at"`
	CreatedAt                      time.Time         `json:"created_at"`
	UpdatedAt                      time.Time         `json:"updated_at"`
	EmailFactor                    *wEmailFactor     `json:"email_factor" wire:"optional"`
	PhoneNumberFactor              *wPhoneFactor     `json:"phone_number_factor" wire:"optional"`
	GoogleOAuthFactor              *wOAuthFactor     `json:"google_oauth_factor" wire:"optional"`
	OAuthAccessTokenExchangeFactor *wClientIDFactor  `json:"oauth_access_token_exchange_factor" wire:"optional"`
	TrustedAuthTokenFactor         *wTokenIDFactor   `json:"trusted_auth_token_factor" wire:"optional"`
	SAMLSSOFactor                  *wSSOFactor       `json:"saml_sso_factor" wire:"optional"`
	ImpersonatedFactor             *wImpersonatorFac `json:"impersonated_factor" wire:"optional"`
}

type wEmailFactor struct {
	EmailID      string `json:"email_id"`
	EmailAddress string `json:"email_address"`
}

type wPhoneFactor struct {
	PhoneID     string `json:"phone_id"`
	PhoneNumber string `json:"phone_number"`
}

type wOAuthFactor struct {
	ID              string `json:"id"`
	ProviderSubject string `json:"provider_subject"`
	EmailID         string `json:"email_id" wire:"optional"`
}

type wClientIDFactor struct {
	ClientID string `json:"client_id"`
}

type wTokenIDFactor struct {
	TokenID string `json:"token_id"`
}

type wSSOFactor struct {
	ID         string `json:"id"`
	ProviderID string `json:"provider_id"`
	ExternalID string `json:"external_id"`
}

type wImpersonatorFac struct {
	ImpersonatorID           string `json:"impersonator_id"`
	ImpersonatorEmailAddress string `json:"impersonator_email_address"`
}

type wSession struct {
	SessionID             string         `json:"session_id"`
	UserID                string         `json:"user_id"`
	AuthenticationFactors []wFactor      `json:"authentication_factors"`
	Roles                 []string       `json:"roles"`
	StartedAt             time.Time      `json:"started_at"`
	LastAccessedAt        time.Time      `json:"last_accessed_at"`
	ExpiresAt             time.Time      `json:"expires_at"`
	Attributes            wAttributes    `json:"attributes"`
	CustomClaims          map[string]any `json:"custom_claims"`
}

type wVerdict struct {
	Authorized    bool     `json:"authorized"`
	GrantingRoles []string `json:"granting_roles"`
}

type wAuthenticate struct {
	RequestID    string    `json:"request_id"`
	Session      wSession  `json:"session"`
	SessionToken string    `json:"session_token"`
	SessionJWT   string    `json:"session_jwt"`
	User         wUser     `json:"user"`
	StatusCode   int       `json:"status_code"`
	Verdict      *wVerdict `json:"verdict" wire:"optional"`
}

type wList struct {
	RequestID  string     `json:"request_id"`
	Sessions   []wSession `json:"sessions"`
	StatusCode int        `json:"status_code"`
}

type wRevoke struct {
	RequestID  string `json:"request_id"`
	StatusCode int    `json:"status_code"`
}

// wJWK spells the thumbprint x5tS256 as Stytch's reference and OpenAPI
// document do; stytch-go's x5t_s256 tag matches nothing Stytch sends, and
// stytch-go never reads the field.
type wJWK struct {
	Kty     string   `json:"kty"`
	Use     string   `json:"use"`
	KeyOps  []string `json:"key_ops"`
	Alg     string   `json:"alg"`
	Kid     string   `json:"kid"`
	X5C     []string `json:"x5c"`
	X5TS256 string   `json:"x5tS256"`
	N       string   `json:"n"`
	E       string   `json:"e"`
}

type wJWKS struct {
	Keys       []wJWK `json:"keys"`
	RequestID  string `json:"request_id"`
	StatusCode int    `json:"status_code"`
}

type wDeviceInfo struct {
	VisitorID string `json:"visitor_id"`
}

// wGrant is the answer of exchange_access_token, migrate and attest.
type wGrant struct {
	RequestID    string       `json:"request_id"`
	UserID       string       `json:"user_id"`
	SessionToken string       `json:"session_token"`
	SessionJWT   string       `json:"session_jwt"`
	User         wUser        `json:"user"`
	StatusCode   int          `json:"status_code"`
	Session      wSession     `json:"session"`
	UserDevice   *wDeviceInfo `json:"user_device"` // null: no fingerprinting
}

type wPermission struct {
	ResourceID string   `json:"resource_id"`
	Actions    []string `json:"actions"`
}

type wRole struct {
	RoleID      string        `json:"role_id"`
	Description string        `json:"description"`
	Permissions []wPermission `json:"permissions"`
}

type wPolicy struct {
	RequestID  string `json:"request_id"`
	StatusCode int    `json:"status_code"`
	Policy     struct {
		Roles     []wRole `json:"roles"`
		Resources []struct {
			ResourceID  string   `json:"resource_id"`
			Description string   `json:"description"`
			Actions     []string `json:"actions"`
		} `json:"resources"`
		Scopes []struct {
			Scope       string        `json:"scope"`
			Description string        `json:"description"`
			Permissions []wPermission `json:"permissions"`
		} `json:"scopes"`
	} `json:"policy"`
}

type wOrgPolicy struct {
	RequestID string `json:"request_id"`
	OrgPolicy struct {
		Roles []wRole `json:"roles"`
	} `json:"org_policy"`
	StatusCode int `json:"status_code"`
}

type wMemberSession struct {
	MemberSessionID       string         `json:"member_session_id"`
	MemberID              string         `json:"member_id"`
	StartedAt             time.Time      `json:"started_at"`
	LastAccessedAt        time.Time      `json:"last_accessed_at"`
	ExpiresAt             time.Time      `json:"expires_at"`
	AuthenticationFactors []wFactor      `json:"authentication_factors"`
	OrganizationID        string         `json:"organization_id"`
	Roles                 []string       `json:"roles"`
	OrganizationSlug      string         `json:"organization_slug"`
	CustomClaims          map[string]any `json:"custom_claims"`
}

type wMember struct {
	OrganizationID         string           `json:"organization_id"`
	MemberID               string           `json:"member_id"`
	EmailAddress           string           `json:"email_address"`
	Status                 string           `json:"status"`
	Name                   string           `json:"name"`
	SSORegistrations       []map[string]any `json:"sso_registrations"`
	IsBreakglass           bool             `json:"is_breakglass"`
	MemberPasswordID       string           `json:"member_password_id"`
	OAuthRegistrations     []map[string]any `json:"oauth_registrations"`
	EmailAddressVerified   bool             `json:"email_address_verified"`
	MFAPhoneNumberVerified bool             `json:"mfa_phone_number_verified"`
	IsAdmin                bool             `json:"is_admin"`
	TOTPRegistrationID     string           `json:"totp_registration_id"`
	RetiredEmailAddresses  []map[string]any `json:"retired_email_addresses"`
	IsLocked               bool             `json:"is_locked"`
	MFAEnrolled            bool             `json:"mfa_enrolled"`
	MFAPhoneNumber         string           `json:"mfa_phone_number"`
	DefaultMFAMethod       string           `json:"default_mfa_method"`
	Roles                  []struct {
		RoleID  string `json:"role_id"`
		Sources []struct {
			Type    string         `json:"type"`
			Details map[string]any `json:"details" wire:"optional"`
		} `json:"sources"`
	} `json:"roles"`
	TrustedMetadata   map[string]any  `json:"trusted_metadata"`
	UntrustedMetadata map[string]any  `json:"untrusted_metadata"`
	CreatedAt         time.Time       `json:"created_at"`
	UpdatedAt         time.Time       `json:"updated_at"`
	SCIMRegistration  *map[string]any `json:"scim_registration" wire:"optional"`
	ExternalID        *string         `json:"external_id"`
	LockCreatedAt     *time.Time      `json:"lock_created_at"`
	LockExpiresAt     *time.Time      `json:"lock_expires_at"`
}

type wOrganization struct {
	OrganizationID                       string           `json:"organization_id"`
	OrganizationName                     string           `json:"organization_name"`
	OrganizationLogoURL                  string           `json:"organization_logo_url"`
	OrganizationSlug                     string           `json:"organization_slug"`
	SSOJITProvisioning                   string           `json:"sso_jit_provisioning"`
	SSOJITProvisioningAllowedConnections []string         `json:"sso_jit_provisioning_allowed_connections"`
	SSOActiveConnections                 []map[string]any `json:"sso_active_connections"`
	EmailAllowedDomains                  []string         `json:"email_allowed_domains"`
	EmailJITProvisioning                 string           `json:"email_jit_provisioning"`
	EmailInvites                         string           `json:"email_invites"`
	AuthMethods                          string           `json:"auth_methods"`
	AllowedAuthMethods                   []string         `json:"allowed_auth_methods"`
	MFAPolicy                            string           `json:"mfa_policy"`
	RBACEmailImplicitRoleAssignments     []map[string]any `json:"rbac_email_implicit_role_assignments"`
	MFAMethods                           string           `json:"mfa_methods"`
	AllowedMFAMethods                    []string         `json:"allowed_mfa_methods"`
	OAuthTenantJITProvisioning           string           `json:"oauth_tenant_jit_provisioning"`
	ClaimedEmailDomains                  []string         `json:"claimed_email_domains"`
	FirstPartyConnectedAppsAllowedType   string           `json:"first_party_connected_apps_allowed_type"`
	AllowedFirstPartyConnectedApps       []string         `json:"allowed_first_party_connected_apps"`
	ThirdPartyConnectedAppsAllowedType   string           `json:"third_party_connected_apps_allowed_type"`
	AllowedThirdPartyConnectedApps       []string         `json:"allowed_third_party_connected_apps"`
	CustomRoles                          []wRole          `json:"custom_roles"`
	TrustedMetadata                      map[string]any   `json:"trusted_metadata"`
	CreatedAt                            time.Time        `json:"created_at"`
	UpdatedAt                            time.Time        `json:"updated_at"`
	OrganizationExternalID               *string          `json:"organization_external_id" wire:"optional"`
	SSODefaultConnectionID               *string          `json:"sso_default_connection_id" wire:"optional"`
	SCIMActiveConnection                 *map[string]any  `json:"scim_active_connection" wire:"optional"`
	AllowedOAuthTenants                  *map[string]any  `json:"allowed_oauth_tenants" wire:"optional"`
}

type wB2BAuthenticate struct {
	RequestID     string         `json:"request_id"`
	MemberSession wMemberSession `json:"member_session"`
	SessionToken  string         `json:"session_token"`
	SessionJWT    string         `json:"session_jwt"`
	Member        wMember        `json:"member"`
	Organization  wOrganization  `json:"organization"`
	StatusCode    int            `json:"status_code"`
	Verdict       *wVerdict      `json:"verdict" wire:"optional"`
}

type wB2BList struct {
	RequestID      string           `json:"request_id"`
	MemberSessions []wMemberSession `json:"member_sessions"`
	StatusCode     int              `json:"status_code"`
}

type wB2BExchange struct {
	RequestID                         string          `json:"request_id"`
	MemberID                          string          `json:"member_id"`
	SessionToken                      string          `json:"session_token"`
	SessionJWT                        string          `json:"session_jwt"`
	Member                            wMember         `json:"member"`
	Organization                      wOrganization   `json:"organization"`
	MemberAuthenticated               bool            `json:"member_authenticated"`
	IntermediateSessionToken          string          `json:"intermediate_session_token"`
	StatusCode                        int             `json:"status_code"`
	MemberSession                     *wMemberSession `json:"member_session" wire:"optional"`
	MFARequired                       *wMFARequired   `json:"mfa_required" wire:"optional"`
	PrimaryRequired                   *wPrimary       `json:"primary_required" wire:"optional"`
	MemberDevice                      *wDeviceInfo    `json:"member_device" wire:"optional"`
	IntermediateSessionTokenExpiresAt *time.Time      `json:"intermediate_session_token_expires_at"`
}

type wMFARequired struct {
	MemberOptions *struct {
		MFAPhoneNumber     string `json:"mfa_phone_number"`
		TOTPRegistrationID string `json:"totp_registration_id"`
	} `json:"member_options" wire:"optional"`
	SecondaryAuthInitiated string `json:"secondary_auth_initiated" wire:"optional"`
}

type wPrimary struct {
	AllowedAuthMethods []string `json:"allowed_auth_methods"`
}

// wB2BGrant is the answer of the B2B exchange_access_token, migrate and
// attest.
type wB2BGrant struct {
	RequestID     string         `json:"request_id"`
	MemberID      string         `json:"member_id"`
	MemberSession wMemberSession `json:"member_session"`
	SessionToken  string         `json:"session_token"`
	SessionJWT    string         `json:"session_jwt"`
	Member        wMember        `json:"member"`
	Organization  wOrganization  `json:"organization"`
	StatusCode    int            `json:"status_code"`
	MemberDevice  *wDeviceInfo   `json:"member_device" wire:"optional"`
}

type wError struct {
	StatusCode   int            `json:"status_code"`
	RequestID    string         `json:"request_id"`
	ErrorType    string         `json:"error_type"`
	ErrorMessage string         `json:"error_message"`
	ErrorURL     string         `json:"error_url"`
	ErrorDetails map[string]any `json:"error_details" wire:"optional"`
}

// conform decodes body strictly into a new value of typ and checks that
// every required key is present and that only pointer fields are null.
func conform(typ reflect.Type, body []byte) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(reflect.New(typ).Interface()); err != nil {
		return fmt.Errorf("strict decode: %w", err)
	}
	return shape(typ, body, "")
}

// shape walks raw alongside typ: the presence and null rules of conform.
func shape(typ reflect.Type, raw json.RawMessage, path string) error {
	for typ.Kind() == reflect.Pointer {
		typ = typ.Elem()
	}
	switch typ.Kind() {
	case reflect.Struct:
		if typ == reflect.TypeOf(time.Time{}) {
			return nil
		}
		var obj map[string]json.RawMessage
		if err := json.Unmarshal(raw, &obj); err != nil || obj == nil {
			return fmt.Errorf("%s: want an object, got %.40s", path, raw)
		}
		for i := range typ.NumField() {
			f := typ.Field(i)
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			v, ok := obj[name]
			switch {
			case !ok && f.Tag.Get("wire") == "optional":
				continue
			case !ok:
				return fmt.Errorf("%s.%s: missing; Stytch always sends it", path, name)
			case string(v) == "null" && f.Type.Kind() == reflect.Pointer:
				continue
			case string(v) == "null":
				return fmt.Errorf("%s.%s: null where Stytch sends a %s", path, name, f.Type.Kind())
			}
			if err := shape(f.Type, v, path+"."+name); err != nil {
				return err
			}
		}
	case reflect.Slice:
		var items []json.RawMessage
		if err := json.Unmarshal(raw, &items); err != nil || items == nil {
			return fmt.Errorf("%s: want an array, got %.40s", path, raw)
		}
		for i, item := range items {
			if err := shape(typ.Elem(), item, fmt.Sprintf("%s[%d]", path, i)); err != nil {
				return err
			}
		}
	}
	return nil
}

func TestShapeCatchesWhatStytchGoRefuses(t *testing.T) {
	good := `{"email_id":"e","email":"a@b","verified":true}`
	tests := []struct {
		name string
		typ  reflect.Type
		body string
		ok   bool
	}{
		{"complete", reflect.TypeOf(wEmail{}), good, true},
		{"missing key", reflect.TypeOf(wEmail{}), `{"email_id":"e","email":"a@b"}`, false},
		{"unknown key", reflect.TypeOf(wEmail{}), `{"email_id":"e","email":"a@b","verified":true,"x":1}`, false},
		{"empty timestamp", reflect.TypeOf(struct {
			T *time.Time `json:"t"`
		}{}), `{"t":""}`, false},
		{"null timestamp", reflect.TypeOf(struct {
			T *time.Time `json:"t"`
		}{}), `{"t":null}`, true},
		{"null object where one is always sent", reflect.TypeOf(struct {
			N wName `json:"n"`
		}{}), `{"n":null}`, false},
		{"null list", reflect.TypeOf(struct {
			L []string `json:"l"`
		}{}), `{"l":null}`, false},
		{"null map", reflect.TypeOf(struct {
			M map[string]any `json:"m"`
		}{}), `{"m":null}`, false},
		{"optional key absent", reflect.TypeOf(wOAuthFactor{}), `{"id":"i","provider_subject":"p"}`, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := conform(tt.typ, []byte(tt.body)); (err == nil) != tt.ok {
				t.Fatalf("conform = %v, want ok %v", err, tt.ok)
			}
		})
	}
}

// conformanceFixture is a project with the people and grants every answer
// shape needs: a user with a name, phone and metadata, one without a name, a
// locked one; organizations with and without MFA; a locked and an unlocked
// member; access, migration and trusted-auth tokens.
type conformanceFixture struct {
	named, unnamed, locked              stytchtest.Tokens
	unnamedUser                         session.User
	org, mfaOrg, otherOrg               session.Organization
	grace, alan                         session.Member
	graceTok, alanTok, graceImported    stytchtest.Tokens
	access, migration, trusted          string
	b2bAccess, b2bMigration, b2bTrusted string
}

func newConformanceFixture(t *testing.T, e *env) conformanceFixture {
	t.Helper()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	start := func(id string, b2b bool, p stytchtest.SessionParams) stytchtest.Tokens {
		t.Helper()
		var tok stytchtest.Tokens
		var err error
		if b2b {
			tok, err = e.StartMemberSession(id, p)
		} else {
			tok, err = e.StartSession(id, p)
		}
		must(err)
		return tok
	}
	e.SetPolicy(session.Policy{
		Roles:     []session.Role{{RoleID: "stytch_user", Description: "Everyone", Permissions: []session.Permission{{ResourceID: "documents", Actions: []string{"read"}}}}},
		Resources: []session.Resource{{ResourceID: "documents", Description: "Documents", Actions: []string{"read", "write"}}},
		Scopes:    []session.Scope{{Scope: "read:documents", Description: "Read", Permissions: []session.Permission{{ResourceID: "documents", Actions: []string{"read"}}}}},
	})
	e.SetB2BPolicy(session.Policy{
		Roles: []session.Role{
			{RoleID: "stytch_member", Description: "Every member", Permissions: []session.Permission{{ResourceID: "documents", Actions: []string{"read"}}}},
			{RoleID: "stytch_admin", Description: "Admins", Permissions: []session.Permission{{ResourceID: "documents", Actions: []string{"*"}}}},
		},
		Resources: []session.Resource{{ResourceID: "documents", Description: "Documents", Actions: []string{"read", "write"}}},
	})
	var f conformanceFixture
	named := e.CreateUser(stytchtest.UserParams{Email: "ada@example.com", PhoneNumber: "+15555550100", Name: session.Name{FirstName: "Ada", LastName: "Lovelace"}, TrustedMetadata: map[string]any{"plan": "pro"}})
	f.named = start(named.UserID, false, stytchtest.SessionParams{CustomClaims: map[string]any{"tier": "gold"}, Attributes: session.Attributes{IPAddress: "203.0.113.7", UserAgent: "Mozilla/5.0"}})
	f.unnamedUser = e.CreateUser(stytchtest.UserParams{Email: "nameless@example.com"})
	f.unnamed = start(f.unnamedUser.UserID, false, stytchtest.SessionParams{})
	locked := e.CreateUser(stytchtest.UserParams{PhoneNumber: "+15555550101"})
	f.locked = start(locked.UserID, false, stytchtest.SessionParams{})
	must(e.LockUser(locked.UserID, time.Hour))

	f.org = e.CreateOrganization(stytchtest.OrganizationParams{Name: "Acme"})
	f.mfaOrg = e.CreateOrganization(stytchtest.OrganizationParams{Name: "Vault", MFARequired: true})
	f.otherOrg = e.CreateOrganization(stytchtest.OrganizationParams{Name: "Other"})
	must(e.SetOrgPolicy(f.org.OrganizationID, []session.Role{{RoleID: "auditor", Description: "Reads logs", Permissions: []session.Permission{{ResourceID: "logs", Actions: []string{"read"}}}}}))
	var err error
	f.grace, err = e.CreateMember(f.org.OrganizationID, stytchtest.MemberParams{Email: "grace@example.com", Name: "Grace Hopper", IsAdmin: true, MFAPhoneNumber: "+15555550102"})
	must(err)
	_, err = e.CreateMember(f.mfaOrg.OrganizationID, stytchtest.MemberParams{Email: "grace@example.com", Name: "Grace Hopper", MFAPhoneNumber: "+15555550102"})
	must(err)
	_, err = e.CreateMember(f.otherOrg.OrganizationID, stytchtest.MemberParams{Email: "grace@example.com", Name: "Grace Hopper"})
	must(err)
	f.alan, err = e.CreateMember(f.org.OrganizationID, stytchtest.MemberParams{Email: "alan@example.com", Name: "Alan Turing"})
	must(err)
	must(e.LockMember(f.grace.MemberID, 30*time.Minute))
	f.graceTok = start(f.grace.MemberID, true, stytchtest.SessionParams{CustomClaims: map[string]any{"team": "compilers"}})
	f.alanTok = start(f.alan.MemberID, true, stytchtest.SessionParams{})
	f.graceImported = start(f.grace.MemberID, true, stytchtest.SessionParams{Factors: []session.AuthenticationFactor{{Type: "imported", DeliveryMethod: "imported_auth0"}}})

	f.access, err = e.IssueAccessToken(named.UserID, "connected-app-test-1")
	must(err)
	f.migration = "auth0-session-" + named.UserID
	must(e.AddMigrationToken(f.migration, named.UserID))
	f.trusted = "trusted-token-" + named.UserID
	must(e.AddTrustedAuthToken("trusted-auth-profile-1", f.trusted, named.UserID))
	f.b2bAccess, err = e.IssueAccessToken(f.alan.MemberID, "connected-app-test-2")
	must(err)
	f.b2bMigration = "auth0-session-" + f.alan.MemberID
	must(e.AddMigrationToken(f.b2bMigration, f.alan.MemberID))
	f.b2bTrusted = "trusted-token-" + f.alan.MemberID
	must(e.AddTrustedAuthToken("trusted-auth-profile-1", f.b2bTrusted, f.alan.MemberID))
	return f
}

// TestAnswersConformToStytchsShapes sends every endpoint a realistic request
// and reads the answer as Stytch's SDK and reference describe it. The env's
// transport also validates each exchange against the OpenAPI document.
func TestAnswersConformToStytchsShapes(t *testing.T) {
	e := newEnv(t)
	f := newConformanceFixture(t, e)
	check := &session.AuthorizationCheck{ResourceID: "documents", Action: "read"}
	b2bCheck := &session.AuthorizationCheck{OrganizationID: f.org.OrganizationID, ResourceID: "documents", Action: "write"}
	type obj = map[string]any
	tests := []struct {
		name   string
		method string
		path   string
		body   any
		noAuth bool
		status int
		into   any
	}{
		{"authenticate token, named user", "POST", "/v1/sessions/authenticate", obj{"session_token": f.named.SessionToken}, false, 200, wAuthenticate{}},
		{"authenticate jwt, unnamed user", "POST", "/v1/sessions/authenticate", obj{"session_jwt": f.unnamed.SessionJWT}, false, 200, wAuthenticate{}},
		{"authenticate locked user with duration", "POST", "/v1/sessions/authenticate", obj{"session_token": f.locked.SessionToken, "session_duration_minutes": 90}, false, 200, wAuthenticate{}},
		{"authenticate with custom claims", "POST", "/v1/sessions/authenticate", obj{"session_token": f.unnamed.SessionToken, "session_custom_claims": obj{"k": "v"}}, false, 200, wAuthenticate{}},
		{"authenticate with authorization check", "POST", "/v1/sessions/authenticate", obj{"session_jwt": f.named.SessionJWT, "authorization_check": check}, false, 200, wAuthenticate{}},
		{"list", "GET", "/v1/sessions?user_id=" + f.unnamedUser.UserID, nil, false, 200, wList{}},
		{"jwks", "GET", "/v1/sessions/jwks/" + e.ProjectID(), nil, true, 200, wJWKS{}},
		{"policy", "GET", "/v1/rbac/policy", nil, false, 200, wPolicy{}},
		{"exchange access token", "POST", "/v1/sessions/exchange_access_token", obj{"access_token": f.access}, false, 200, wGrant{}},
		{"migrate", "POST", "/v1/sessions/migrate", obj{"session_token": f.migration, "session_duration_minutes": 60}, false, 200, wGrant{}},
		{"attest, new session", "POST", "/v1/sessions/attest", obj{"profile_id": "trusted-auth-profile-1", "token": f.trusted}, false, 200, wGrant{}},
		{"attest onto a session", "POST", "/v1/sessions/attest", obj{"profile_id": "trusted-auth-profile-1", "token": f.trusted, "session_token": f.named.SessionToken}, false, 200, wGrant{}},
		{"revoke", "POST", "/v1/sessions/revoke", obj{"session_token": f.locked.SessionToken}, false, 200, wRevoke{}},

		{"b2b authenticate, locked admin", "POST", "/v1/b2b/sessions/authenticate", obj{"session_token": f.graceTok.SessionToken}, false, 200, wB2BAuthenticate{}},
		{"b2b authenticate jwt, unlocked member, check", "POST", "/v1/b2b/sessions/authenticate", obj{"session_jwt": f.alanTok.SessionJWT, "authorization_check": obj{"organization_id": f.org.OrganizationID, "resource_id": "documents", "action": "write"}}, false, 403, wError{}},
		{"b2b authenticate, admin check", "POST", "/v1/b2b/sessions/authenticate", obj{"session_jwt": f.graceTok.SessionJWT, "authorization_check": b2bCheck}, false, 200, wB2BAuthenticate{}},
		{"b2b list", "GET", "/v1/b2b/sessions?organization_id=" + f.org.OrganizationID + "&member_id=" + f.grace.MemberID, nil, false, 200, wB2BList{}},
		{"b2b jwks", "GET", "/v1/b2b/sessions/jwks/" + e.ProjectID(), nil, true, 200, wJWKS{}},
		{"b2b policy", "GET", "/v1/b2b/rbac/policy", nil, false, 200, wPolicy{}},
		{"b2b org policy", "GET", "/v1/b2b/rbac/organizations/" + f.org.OrganizationID, nil, false, 200, wOrgPolicy{}},
		{"b2b exchange", "POST", "/v1/b2b/sessions/exchange", obj{"organization_id": f.otherOrg.OrganizationID, "session_token": f.graceTok.SessionToken}, false, 200, wB2BExchange{}},
		{"b2b exchange, MFA required", "POST", "/v1/b2b/sessions/exchange", obj{"organization_id": f.mfaOrg.OrganizationID, "session_jwt": f.graceTok.SessionJWT}, false, 200, wB2BExchange{}},
		{"b2b exchange, primary required", "POST", "/v1/b2b/sessions/exchange", obj{"organization_id": f.otherOrg.OrganizationID, "session_token": f.graceImported.SessionToken}, false, 200, wB2BExchange{}},
		{"b2b exchange access token", "POST", "/v1/b2b/sessions/exchange_access_token", obj{"access_token": f.b2bAccess}, false, 200, wB2BGrant{}},
		{"b2b migrate", "POST", "/v1/b2b/sessions/migrate", obj{"session_token": f.b2bMigration, "organization_id": f.org.OrganizationID}, false, 200, wB2BGrant{}},
		{"b2b attest", "POST", "/v1/b2b/sessions/attest", obj{"profile_id": "trusted-auth-profile-1", "token": f.b2bTrusted}, false, 200, wB2BGrant{}},
		{"b2b revoke member", "POST", "/v1/b2b/sessions/revoke", obj{"member_id": f.alan.MemberID}, false, 200, wRevoke{}},

		{"error: unknown session", "POST", "/v1/sessions/authenticate", obj{"session_token": strings.Repeat("A", 44)}, false, 404, wError{}},
		{"error: two arguments", "POST", "/v1/sessions/authenticate", obj{"session_token": f.named.SessionToken, "session_jwt": f.named.SessionJWT}, false, 400, wError{}},
		{"error: bad credentials", "POST", "/v1/sessions/authenticate", obj{"session_token": f.named.SessionToken}, true, 401, wError{}},
		{"error: consumer check denied", "POST", "/v1/sessions/authenticate", obj{"session_token": f.named.SessionToken, "authorization_check": obj{"resource_id": "documents", "action": "write"}}, false, 403, wError{}},
		{"error: b2b tenancy", "POST", "/v1/b2b/sessions/authenticate", obj{"session_token": f.graceTok.SessionToken, "authorization_check": obj{"organization_id": f.otherOrg.OrganizationID, "resource_id": "documents", "action": "read"}}, false, 403, wError{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, body := e.raw(t, tt.method, tt.path, tt.body, !tt.noAuth)
			if status != tt.status {
				t.Fatalf("status %d, want %d: %s", status, tt.status, body)
			}
			if err := conform(reflect.TypeOf(tt.into), body); err != nil {
				t.Fatalf("%v\n%s", err, body)
			}
		})
	}
}

// TestLockedAndUnlockedShowAsStytchSendsThem checks the values behind the
// shapes: a locked user's lock times, null for an unlocked one, the name
// object of a user without a name, the MFA exchange's token expiry.
func TestLockedAndUnlockedShowAsStytchSendsThem(t *testing.T) {
	e := newEnv(t)
	f := newConformanceFixture(t, e)
	decode := func(body []byte, v any) {
		t.Helper()
		if err := json.Unmarshal(body, v); err != nil {
			t.Fatal(err)
		}
	}
	_, body := e.raw(t, "POST", "/v1/sessions/authenticate", map[string]any{"session_token": f.locked.SessionToken}, true)
	var locked wAuthenticate
	decode(body, &locked)
	now := e.Now()
	if !locked.User.IsLocked || locked.User.LockCreatedAt == nil || !locked.User.LockCreatedAt.Equal(now) || locked.User.LockExpiresAt == nil || !locked.User.LockExpiresAt.Equal(now.Add(time.Hour)) {
		t.Fatalf("locked user: is_locked %v, lock %v..%v", locked.User.IsLocked, locked.User.LockCreatedAt, locked.User.LockExpiresAt)
	}
	_, body = e.raw(t, "POST", "/v1/sessions/authenticate", map[string]any{"session_token": f.unnamed.SessionToken}, true)
	var unnamed wAuthenticate
	decode(body, &unnamed)
	if unnamed.User.IsLocked || unnamed.User.LockCreatedAt != nil || unnamed.User.ExternalID != nil || unnamed.User.Password != nil || unnamed.User.Name != (wName{}) {
		t.Fatalf("unnamed, unlocked user: %+v", unnamed.User)
	}
	if !bytes.Contains(body, []byte(`"lock_created_at":null`)) || !bytes.Contains(body, []byte(`"name":{"first_name":"","middle_name":"","last_name":""}`)) {
		t.Fatalf("unset values not as Stytch sends them: %s", body)
	}

	for _, m := range []struct {
		tok    stytchtest.Tokens
		locked bool
	}{{f.graceTok, true}, {f.alanTok, false}} {
		_, body = e.raw(t, "POST", "/v1/b2b/sessions/authenticate", map[string]any{"session_token": m.tok.SessionToken}, true)
		var got wB2BAuthenticate
		decode(body, &got)
		if got.Member.IsLocked != m.locked || (got.Member.LockExpiresAt != nil) != m.locked || (got.Member.LockCreatedAt != nil) != m.locked {
			t.Fatalf("member locked %v shows is_locked %v, lock %v..%v", m.locked, got.Member.IsLocked, got.Member.LockCreatedAt, got.Member.LockExpiresAt)
		}
	}
	// A lock lifts when the clock passes its end; the times go back to null.
	e.Advance(31 * time.Minute)
	_, body = e.raw(t, "POST", "/v1/b2b/sessions/authenticate", map[string]any{"session_token": f.graceTok.SessionToken}, true)
	var lifted wB2BAuthenticate
	decode(body, &lifted)
	if lifted.Member.IsLocked || lifted.Member.LockCreatedAt != nil {
		t.Fatalf("lock did not lift: %+v", lifted.Member)
	}

	_, body = e.raw(t, "POST", "/v1/b2b/sessions/exchange", map[string]any{"organization_id": f.mfaOrg.OrganizationID, "session_token": f.graceTok.SessionToken}, true)
	var mfa wB2BExchange
	decode(body, &mfa)
	if mfa.IntermediateSessionToken == "" || mfa.IntermediateSessionTokenExpiresAt == nil || !mfa.IntermediateSessionTokenExpiresAt.Equal(e.Now().Add(stytchtest.IntermediateSessionLifetime)) {
		t.Fatalf("MFA exchange: token %q expires %v", mfa.IntermediateSessionToken, mfa.IntermediateSessionTokenExpiresAt)
	}
	_, body = e.raw(t, "POST", "/v1/b2b/sessions/exchange", map[string]any{"organization_id": f.otherOrg.OrganizationID, "session_token": f.graceTok.SessionToken}, true)
	if !bytes.Contains(body, []byte(`"intermediate_session_token_expires_at":null`)) {
		t.Fatalf("exchange without MFA: want a null token expiry: %s", body)
	}
}
