package session

import "encoding/json"

// Session is a consumer session as Stytch returns it (and as a verified session
// JWT describes it). Slices are never nil in what this package and the emulator
// produce, so range over them freely.
type Session struct {
	SessionID             string                 `json:"session_id"`
	UserID                string                 `json:"user_id"`
	AuthenticationFactors []AuthenticationFactor `json:"authentication_factors"`
	Roles                 []string               `json:"roles"`
	StartedAt             Time                   `json:"started_at"`
	LastAccessedAt        Time                   `json:"last_accessed_at"`
	ExpiresAt             Time                   `json:"expires_at"`
	// Attributes are where the session started. Stytch always sends them
	// (both keys, "" when unknown); nil only in a session decoded from an
	// answer that lacked them.
	Attributes *Attributes `json:"attributes,omitempty"`
	// CustomClaims are the claims the app set on the session; empty or nil
	// when none (Stytch's answers carry {}, a JWT without custom claims gives
	// nil).
	CustomClaims map[string]any `json:"custom_claims"`
}

// Attributes describe where a consumer session was started. Stytch sends
// both keys, "" when unknown, in answers and in the JWT's session claim.
type Attributes struct {
	IPAddress string `json:"ip_address"`
	UserAgent string `json:"user_agent"`
}

// Verdict is Stytch's answer to an authorization check that passed: which of
// the session's roles granted the permission. A verdict from authz may be
// shared between requests: read it, never change it.
type Verdict struct {
	Authorized    bool     `json:"authorized"`
	GrantingRoles []string `json:"granting_roles"`
}

// AuthorizationCheck asks Stytch (or authz) whether a session may perform
// Action on ResourceID. OrganizationID is for B2B only: the session must belong
// to that organization before any role is looked at.
type AuthorizationCheck struct {
	OrganizationID string `json:"organization_id,omitempty"`
	ResourceID     string `json:"resource_id"`
	Action         string `json:"action"`
}

// User is a consumer user as Stytch returns it with a session.
//
// On the wire, as in Stytch's answers, unset timestamps and ExternalID are
// null, Name is always an object, Password is an object or null, and the
// metadata are objects ({} when empty). Decoding also accepts "" for unset
// timestamps and a missing key for any field, as older answers have them.
type User struct {
	UserID                 string                  `json:"user_id"`
	Emails                 []Email                 `json:"emails"`
	Status                 string                  `json:"status"`
	PhoneNumbers           []PhoneNumber           `json:"phone_numbers"`
	WebAuthnRegistrations  []WebAuthnRegistration  `json:"webauthn_registrations"`
	Providers              []OAuthProvider         `json:"providers"`
	TOTPs                  []TOTP                  `json:"totps"`
	CryptoWallets          []CryptoWallet          `json:"crypto_wallets"`
	BiometricRegistrations []BiometricRegistration `json:"biometric_registrations"`
	IsLocked               bool                    `json:"is_locked"`
	Roles                  []string                `json:"roles"`
	Name                   *Name                   `json:"name"`
	CreatedAt              Time                    `json:"created_at"`
	Password               *Password               `json:"password"`
	TrustedMetadata        map[string]any          `json:"trusted_metadata"`
	UntrustedMetadata      map[string]any          `json:"untrusted_metadata"`
	ExternalID             string                  `json:"external_id"`
	LockCreatedAt          Time                    `json:"lock_created_at"`
	LockExpiresAt          Time                    `json:"lock_expires_at"`
}

// Email is one of a user's email addresses.
type Email struct {
	EmailID  string `json:"email_id"`
	Email    string `json:"email"`
	Verified bool   `json:"verified"`
}

// PhoneNumber is one of a user's phone numbers.
type PhoneNumber struct {
	PhoneID     string `json:"phone_id"`
	PhoneNumber string `json:"phone_number"`
	Verified    bool   `json:"verified"`
}

// WebAuthnRegistration is one of a user's passkeys or security keys.
type WebAuthnRegistration struct {
	WebAuthnRegistrationID string `json:"webauthn_registration_id"`
	Domain                 string `json:"domain"`
	UserAgent              string `json:"user_agent"`
	Verified               bool   `json:"verified"`
	AuthenticatorType      string `json:"authenticator_type"`
	Name                   string `json:"name"`
}

// OAuthProvider is an identity provider account linked to a user.
type OAuthProvider struct {
	ProviderType            string `json:"provider_type"`
	ProviderSubject         string `json:"provider_subject"`
	ProfilePictureURL       string `json:"profile_picture_url"`
	Locale                  string `json:"locale"`
	OAuthUserRegistrationID string `json:"oauth_user_registration_id"`
}

// TOTP is one of a user's authenticator app registrations.
type TOTP struct {
	TOTPID   string `json:"totp_id"`
	Verified bool   `json:"verified"`
}

// CryptoWallet is one of a user's crypto wallets.
type CryptoWallet struct {
	CryptoWalletID      string `json:"crypto_wallet_id"`
	CryptoWalletAddress string `json:"crypto_wallet_address"`
	CryptoWalletType    string `json:"crypto_wallet_type"`
	Verified            bool   `json:"verified"`
}

// BiometricRegistration is one of a user's mobile biometric registrations.
type BiometricRegistration struct {
	BiometricRegistrationID string `json:"biometric_registration_id"`
	Verified                bool   `json:"verified"`
}

// Name is a person's name; any part may be empty. Stytch sends all three
// keys, "" when unset.
type Name struct {
	FirstName  string `json:"first_name"`
	MiddleName string `json:"middle_name"`
	LastName   string `json:"last_name"`
}

// Password describes a user's password, never the password itself.
type Password struct {
	PasswordID    string `json:"password_id"`
	RequiresReset bool   `json:"requires_reset"`
}

// DeviceInfo is device fingerprinting data, present only when a telemetry id
// was sent and the project has fingerprinting enabled.
type DeviceInfo struct {
	VisitorID           string                  `json:"visitor_id"`
	VisitorIDDetails    *DeviceAttributeDetails `json:"visitor_id_details,omitempty"`
	IPAddress           string                  `json:"ip_address,omitempty"`
	IPAddressDetails    *DeviceAttributeDetails `json:"ip_address_details,omitempty"`
	IPGeoCity           string                  `json:"ip_geo_city,omitempty"`
	IPGeoRegion         string                  `json:"ip_geo_region,omitempty"`
	IPGeoCountry        string                  `json:"ip_geo_country,omitempty"`
	IPGeoCountryDetails *DeviceAttributeDetails `json:"ip_geo_country_details,omitempty"`
}

// DeviceAttributeDetails tells whether a device attribute is new to the user.
type DeviceAttributeDetails struct {
	IsNew       bool `json:"is_new"`
	FirstSeenAt Time `json:"first_seen_at"`
	LastSeenAt  Time `json:"last_seen_at"`
}

// JWK is one signing key of a project's JSON Web Key Set. Only RSA keys for
// RS256 are ever published.
type JWK struct {
	KTY     string   `json:"kty"`
	Use     string   `json:"use"`
	KeyOps  []string `json:"key_ops"`
	Alg     string   `json:"alg"`
	KID     string   `json:"kid"`
	X5C     []string `json:"x5c"`
	X5TS256 string   `json:"x5tS256"`
	N       string   `json:"n"`
	E       string   `json:"e"`
}

// MarshalJSON encodes u as Stytch does: an unset ExternalID is null.
func (u User) MarshalJSON() ([]byte, error) {
	type plain User // no methods: no recursion
	return json.Marshal(struct {
		plain
		ExternalID *string `json:"external_id"`
	}{plain(u), nullIfEmpty(u.ExternalID)})
}

// nullIfEmpty returns nil for "", so that it encodes as null.
func nullIfEmpty(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}
