package session

import "encoding/json"

// MemberSession is a B2B member session as Stytch returns it (and as a verified
// B2B session JWT describes it). Roles are role ids, unlike Member.Roles.
type MemberSession struct {
	MemberSessionID       string                 `json:"member_session_id"`
	MemberID              string                 `json:"member_id"`
	StartedAt             Time                   `json:"started_at"`
	LastAccessedAt        Time                   `json:"last_accessed_at"`
	ExpiresAt             Time                   `json:"expires_at"`
	AuthenticationFactors []AuthenticationFactor `json:"authentication_factors"`
	OrganizationID        string                 `json:"organization_id"`
	Roles                 []string               `json:"roles"`
	OrganizationSlug      string                 `json:"organization_slug"`
	// CustomClaims are the claims the app set on the session; empty or nil
	// when none (Stytch's answers carry {}, a JWT without custom claims gives
	// nil).
	CustomClaims map[string]any `json:"custom_claims"`
}

// Member is a person's membership of one organization. On the wire unset
// timestamps and ExternalID are null and the metadata are objects, as for
// User.
type Member struct {
	OrganizationID         string              `json:"organization_id"`
	MemberID               string              `json:"member_id"`
	EmailAddress           string              `json:"email_address"`
	Status                 string              `json:"status"` // "active", "pending" or "invited"
	Name                   string              `json:"name"`
	SSORegistrations       []SSORegistration   `json:"sso_registrations"`
	IsBreakglass           bool                `json:"is_breakglass"`
	MemberPasswordID       string              `json:"member_password_id"`
	OAuthRegistrations     []OAuthRegistration `json:"oauth_registrations"`
	EmailAddressVerified   bool                `json:"email_address_verified"`
	MFAPhoneNumberVerified bool                `json:"mfa_phone_number_verified"`
	IsAdmin                bool                `json:"is_admin"`
	TOTPRegistrationID     string              `json:"totp_registration_id"`
	RetiredEmailAddresses  []RetiredEmail      `json:"retired_email_addresses"`
	IsLocked               bool                `json:"is_locked"`
	MFAEnrolled            bool                `json:"mfa_enrolled"`
	MFAPhoneNumber         string              `json:"mfa_phone_number"`
	DefaultMFAMethod       string              `json:"default_mfa_method"`
	Roles                  []MemberRole        `json:"roles"`
	TrustedMetadata        map[string]any      `json:"trusted_metadata"`
	UntrustedMetadata      map[string]any      `json:"untrusted_metadata"`
	CreatedAt              Time                `json:"created_at"`
	UpdatedAt              Time                `json:"updated_at"`
	SCIMRegistration       *SCIMRegistration   `json:"scim_registration,omitempty"`
	ExternalID             string              `json:"external_id"`
	LockCreatedAt          Time                `json:"lock_created_at"`
	LockExpiresAt          Time                `json:"lock_expires_at"`
}

// MemberRole is a role a member holds and why: assigned directly, implied by
// the email domain, an SSO or SCIM group, and so on.
type MemberRole struct {
	RoleID  string             `json:"role_id"`
	Sources []MemberRoleSource `json:"sources"`
}

// MemberRoleSource is one reason a member holds a role.
type MemberRoleSource struct {
	Type    string         `json:"type"`
	Details map[string]any `json:"details,omitempty"`
}

// SSORegistration links a member to an SSO connection.
type SSORegistration struct {
	ConnectionID   string         `json:"connection_id"`
	ExternalID     string         `json:"external_id"`
	RegistrationID string         `json:"registration_id"`
	SSOAttributes  map[string]any `json:"sso_attributes,omitempty"`
}

// OAuthRegistration links a member to an OAuth provider account.
type OAuthRegistration struct {
	ProviderType              string `json:"provider_type"`
	ProviderSubject           string `json:"provider_subject"`
	MemberOAuthRegistrationID string `json:"member_oauth_registration_id"`
	ProfilePictureURL         string `json:"profile_picture_url,omitempty"`
	Locale                    string `json:"locale,omitempty"`
}

// RetiredEmail is an email address a member used before.
type RetiredEmail struct {
	EmailID      string `json:"email_id"`
	EmailAddress string `json:"email_address"`
}

// SCIMRegistration links a member to a SCIM connection.
type SCIMRegistration struct {
	ConnectionID   string          `json:"connection_id"`
	RegistrationID string          `json:"registration_id"`
	ExternalID     string          `json:"external_id,omitempty"`
	SCIMAttributes *SCIMAttributes `json:"scim_attributes,omitempty"`
}

// SCIMAttributes are the attributes a SCIM provider sent for a member.
type SCIMAttributes struct {
	UserName            string                   `json:"user_name"`
	ID                  string                   `json:"id"`
	ExternalID          string                   `json:"external_id"`
	Active              bool                     `json:"active"`
	Groups              []SCIMGroup              `json:"groups"`
	DisplayName         string                   `json:"display_name"`
	NickName            string                   `json:"nick_name"`
	ProfileURL          string                   `json:"profile_url"`
	UserType            string                   `json:"user_type"`
	Title               string                   `json:"title"`
	PreferredLanguage   string                   `json:"preferred_language"`
	Locale              string                   `json:"locale"`
	Timezone            string                   `json:"timezone"`
	Emails              []SCIMValue              `json:"emails"`
	PhoneNumbers        []SCIMValue              `json:"phone_numbers"`
	Addresses           []SCIMAddress            `json:"addresses"`
	IMs                 []SCIMValue              `json:"ims"`
	Photos              []SCIMValue              `json:"photos"`
	Entitlements        []SCIMValue              `json:"entitlements"`
	Roles               []SCIMValue              `json:"roles"`
	X509Certificates    []SCIMValue              `json:"x509certificates"`
	Name                *SCIMName                `json:"name,omitempty"`
	EnterpriseExtension *SCIMEnterpriseExtension `json:"enterprise_extension,omitempty"`
}

// SCIMGroup is a SCIM group a member belongs to.
type SCIMGroup struct {
	Value   string `json:"value"`
	Display string `json:"display"`
}

// SCIMValue is a typed, possibly primary SCIM value: an email, a phone number,
// an IM handle, a photo, an entitlement, a role or a certificate.
type SCIMValue struct {
	Value   string `json:"value"`
	Type    string `json:"type"`
	Primary bool   `json:"primary"`
}

// SCIMAddress is a postal address from SCIM.
type SCIMAddress struct {
	Formatted     string `json:"formatted"`
	StreetAddress string `json:"street_address"`
	Locality      string `json:"locality"`
	Region        string `json:"region"`
	PostalCode    string `json:"postal_code"`
	Country       string `json:"country"`
	Type          string `json:"type"`
	Primary       bool   `json:"primary"`
}

// SCIMName is a person's name from SCIM.
type SCIMName struct {
	Formatted       string `json:"formatted"`
	FamilyName      string `json:"family_name"`
	GivenName       string `json:"given_name"`
	MiddleName      string `json:"middle_name"`
	HonorificPrefix string `json:"honorific_prefix"`
	HonorificSuffix string `json:"honorific_suffix"`
}

// SCIMEnterpriseExtension is SCIM's enterprise user extension.
type SCIMEnterpriseExtension struct {
	EmployeeNumber string       `json:"employee_number"`
	CostCenter     string       `json:"cost_center"`
	Division       string       `json:"division"`
	Department     string       `json:"department"`
	Organization   string       `json:"organization"`
	Manager        *SCIMManager `json:"manager,omitempty"`
}

// SCIMManager is a member's manager from SCIM.
type SCIMManager struct {
	Value       string `json:"value"`
	Ref         string `json:"ref"`
	DisplayName string `json:"display_name"`
}

// Organization is a B2B tenant.
type Organization struct {
	OrganizationID                       string                        `json:"organization_id"`
	OrganizationName                     string                        `json:"organization_name"`
	OrganizationLogoURL                  string                        `json:"organization_logo_url"`
	OrganizationSlug                     string                        `json:"organization_slug"`
	SSOJITProvisioning                   string                        `json:"sso_jit_provisioning"`
	SSOJITProvisioningAllowedConnections []string                      `json:"sso_jit_provisioning_allowed_connections"`
	SSOActiveConnections                 []ActiveSSOConnection         `json:"sso_active_connections"`
	EmailAllowedDomains                  []string                      `json:"email_allowed_domains"`
	EmailJITProvisioning                 string                        `json:"email_jit_provisioning"`
	EmailInvites                         string                        `json:"email_invites"`
	AuthMethods                          string                        `json:"auth_methods"`
	AllowedAuthMethods                   []string                      `json:"allowed_auth_methods"`
	MFAPolicy                            string                        `json:"mfa_policy"` // "OPTIONAL" or "REQUIRED_FOR_ALL"
	RBACEmailImplicitRoleAssignments     []EmailImplicitRoleAssignment `json:"rbac_email_implicit_role_assignments"`
	MFAMethods                           string                        `json:"mfa_methods"`
	AllowedMFAMethods                    []string                      `json:"allowed_mfa_methods"`
	OAuthTenantJITProvisioning           string                        `json:"oauth_tenant_jit_provisioning"`
	ClaimedEmailDomains                  []string                      `json:"claimed_email_domains"`
	FirstPartyConnectedAppsAllowedType   string                        `json:"first_party_connected_apps_allowed_type"`
	AllowedFirstPartyConnectedApps       []string                      `json:"allowed_first_party_connected_apps"`
	ThirdPartyConnectedAppsAllowedType   string                        `json:"third_party_connected_apps_allowed_type"`
	AllowedThirdPartyConnectedApps       []string                      `json:"allowed_third_party_connected_apps"`
	CustomRoles                          []CustomRole                  `json:"custom_roles"`
	TrustedMetadata                      map[string]any                `json:"trusted_metadata"`
	CreatedAt                            Time                          `json:"created_at"`
	UpdatedAt                            Time                          `json:"updated_at"`
	OrganizationExternalID               string                        `json:"organization_external_id,omitempty"`
	SSODefaultConnectionID               string                        `json:"sso_default_connection_id,omitempty"`
	SCIMActiveConnection                 *ActiveSCIMConnection         `json:"scim_active_connection,omitempty"`
	AllowedOAuthTenants                  map[string]any                `json:"allowed_oauth_tenants,omitempty"`
}

// ActiveSSOConnection is an SSO connection an organization has enabled.
type ActiveSSOConnection struct {
	ConnectionID     string `json:"connection_id"`
	DisplayName      string `json:"display_name"`
	IdentityProvider string `json:"identity_provider"`
}

// EmailImplicitRoleAssignment gives every member with an email address in
// Domain the role RoleID.
type EmailImplicitRoleAssignment struct {
	Domain string `json:"domain"`
	RoleID string `json:"role_id"`
}

// CustomRole is a role an organization defines for itself.
type CustomRole struct {
	RoleID      string       `json:"role_id"`
	Description string       `json:"description"`
	Permissions []Permission `json:"permissions"`
}

// ActiveSCIMConnection is an organization's SCIM connection.
type ActiveSCIMConnection struct {
	ConnectionID         string `json:"connection_id"`
	DisplayName          string `json:"display_name"`
	BearerTokenLastFour  string `json:"bearer_token_last_four"`
	BearerTokenExpiresAt Time   `json:"bearer_token_expires_at"`
}

// MFARequired tells how a member can complete MFA for an organization.
type MFARequired struct {
	MemberOptions          *MemberOptions `json:"member_options,omitempty"`
	SecondaryAuthInitiated string         `json:"secondary_auth_initiated,omitempty"`
}

// MemberOptions are the MFA methods a member has set up.
type MemberOptions struct {
	MFAPhoneNumber     string `json:"mfa_phone_number"`
	TOTPRegistrationID string `json:"totp_registration_id"`
}

// PrimaryRequired tells which primary authentication methods an organization
// accepts when the session's factors do not satisfy it.
type PrimaryRequired struct {
	AllowedAuthMethods []string `json:"allowed_auth_methods"`
}

// MarshalJSON encodes m as Stytch does: an unset ExternalID is null.
func (m Member) MarshalJSON() ([]byte, error) {
	type plain Member // no methods: no recursion
	return json.Marshal(struct {
		plain
		ExternalID *string `json:"external_id"`
	}{plain(m), nullIfEmpty(m.ExternalID)})
}
