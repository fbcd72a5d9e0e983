package session

// AuthenticationFactor is one way the person proved who they are in a session.
// Type and DeliveryMethod are always set; of the nested factor objects exactly
// the one matching DeliveryMethod is non-nil, the others are nil.
type AuthenticationFactor struct {
	Type                string `json:"type"`
	DeliveryMethod      string `json:"delivery_method"`
	LastAuthenticatedAt Time   `json:"last_authenticated_at"`
	CreatedAt           Time   `json:"created_at"`
	UpdatedAt           Time   `json:"updated_at"`

	EmailFactor                    *EmailFactor                    `json:"email_factor,omitempty"`
	PhoneNumberFactor              *PhoneNumberFactor              `json:"phone_number_factor,omitempty"`
	GoogleOAuthFactor              *OAuthFactor                    `json:"google_oauth_factor,omitempty"`
	MicrosoftOAuthFactor           *OAuthFactor                    `json:"microsoft_oauth_factor,omitempty"`
	AppleOAuthFactor               *OAuthFactor                    `json:"apple_oauth_factor,omitempty"`
	WebAuthnFactor                 *WebAuthnFactor                 `json:"webauthn_factor,omitempty"`
	AuthenticatorAppFactor         *AuthenticatorAppFactor         `json:"authenticator_app_factor,omitempty"`
	GithubOAuthFactor              *OAuthFactor                    `json:"github_oauth_factor,omitempty"`
	RecoveryCodeFactor             *RecoveryCodeFactor             `json:"recovery_code_factor,omitempty"`
	FacebookOAuthFactor            *OAuthFactor                    `json:"facebook_oauth_factor,omitempty"`
	CryptoWalletFactor             *CryptoWalletFactor             `json:"crypto_wallet_factor,omitempty"`
	AmazonOAuthFactor              *OAuthFactor                    `json:"amazon_oauth_factor,omitempty"`
	BitbucketOAuthFactor           *OAuthFactor                    `json:"bitbucket_oauth_factor,omitempty"`
	CoinbaseOAuthFactor            *OAuthFactor                    `json:"coinbase_oauth_factor,omitempty"`
	DiscordOAuthFactor             *OAuthFactor                    `json:"discord_oauth_factor,omitempty"`
	FigmaOAuthFactor               *OAuthFactor                    `json:"figma_oauth_factor,omitempty"`
	GitLabOAuthFactor              *OAuthFactor                    `json:"git_lab_oauth_factor,omitempty"`
	InstagramOAuthFactor           *OAuthFactor                    `json:"instagram_oauth_factor,omitempty"`
	LinkedInOAuthFactor            *OAuthFactor                    `json:"linked_in_oauth_factor,omitempty"`
	ShopifyOAuthFactor             *OAuthFactor                    `json:"shopify_oauth_factor,omitempty"`
	SlackOAuthFactor               *OAuthFactor                    `json:"slack_oauth_factor,omitempty"`
	SnapchatOAuthFactor            *OAuthFactor                    `json:"snapchat_oauth_factor,omitempty"`
	SpotifyOAuthFactor             *OAuthFactor                    `json:"spotify_oauth_factor,omitempty"`
	SteamOAuthFactor               *OAuthFactor                    `json:"steam_oauth_factor,omitempty"`
	TikTokOAuthFactor              *OAuthFactor                    `json:"tik_tok_oauth_factor,omitempty"`
	TwitchOAuthFactor              *OAuthFactor                    `json:"twitch_oauth_factor,omitempty"`
	TwitterOAuthFactor             *OAuthFactor                    `json:"twitter_oauth_factor,omitempty"`
	EmbeddableMagicLinkFactor      *EmbeddableMagicLinkFactor      `json:"embeddable_magic_link_factor,omitempty"`
	BiometricFactor                *BiometricFactor                `json:"biometric_factor,omitempty"`
	SAMLSSOFactor                  *SSOFactor                      `json:"saml_sso_factor,omitempty"`
	OIDCSSOFactor                  *SSOFactor                      `json:"oidc_sso_factor,omitempty"`
	SalesforceOAuthFactor          *OAuthFactor                    `json:"salesforce_oauth_factor,omitempty"`
	YahooOAuthFactor               *OAuthFactor                    `json:"yahoo_oauth_factor,omitempty"`
	HubspotOAuthFactor             *OAuthFactor                    `json:"hubspot_oauth_factor,omitempty"`
	SlackOAuthExchangeFactor       *OAuthExchangeFactor            `json:"slack_oauth_exchange_factor,omitempty"`
	HubspotOAuthExchangeFactor     *OAuthExchangeFactor            `json:"hubspot_oauth_exchange_factor,omitempty"`
	GithubOAuthExchangeFactor      *OAuthExchangeFactor            `json:"github_oauth_exchange_factor,omitempty"`
	GoogleOAuthExchangeFactor      *OAuthExchangeFactor            `json:"google_oauth_exchange_factor,omitempty"`
	ImpersonatedFactor             *ImpersonatedFactor             `json:"impersonated_factor,omitempty"`
	OAuthAccessTokenExchangeFactor *OAuthAccessTokenExchangeFactor `json:"oauth_access_token_exchange_factor,omitempty"`
	TrustedAuthTokenFactor         *TrustedAuthTokenFactor         `json:"trusted_auth_token_factor,omitempty"`
}

// EmailFactor is an email address used as a factor (magic link, email OTP).
type EmailFactor struct {
	EmailID      string `json:"email_id"`
	EmailAddress string `json:"email_address"`
}

// PhoneNumberFactor is a phone number used as a factor (SMS or WhatsApp OTP).
type PhoneNumberFactor struct {
	PhoneID     string `json:"phone_id"`
	PhoneNumber string `json:"phone_number"`
}

// OAuthFactor is an OAuth identity provider account used as a factor. Every
// OAuth provider's factor object has this shape.
type OAuthFactor struct {
	ID              string `json:"id"`
	ProviderSubject string `json:"provider_subject"`
	EmailID         string `json:"email_id,omitempty"`
}

// OAuthExchangeFactor is an OAuth token exchange used as a factor.
type OAuthExchangeFactor struct {
	EmailID string `json:"email_id"`
}

// WebAuthnFactor is a passkey or security key used as a factor.
type WebAuthnFactor struct {
	WebAuthnRegistrationID string `json:"webauthn_registration_id"`
	Domain                 string `json:"domain"`
	UserAgent              string `json:"user_agent,omitempty"`
}

// AuthenticatorAppFactor is a TOTP registration used as a factor.
type AuthenticatorAppFactor struct {
	TOTPID string `json:"totp_id"`
}

// RecoveryCodeFactor is a TOTP recovery code used as a factor.
type RecoveryCodeFactor struct {
	TOTPRecoveryCodeID string `json:"totp_recovery_code_id"`
}

// CryptoWalletFactor is a crypto wallet signature used as a factor.
type CryptoWalletFactor struct {
	CryptoWalletID      string `json:"crypto_wallet_id"`
	CryptoWalletAddress string `json:"crypto_wallet_address"`
	CryptoWalletType    string `json:"crypto_wallet_type"`
}

// EmbeddableMagicLinkFactor is an embeddable magic link used as a factor.
type EmbeddableMagicLinkFactor struct {
	EmbeddedID string `json:"embedded_id"`
}

// BiometricFactor is a mobile biometric registration used as a factor.
type BiometricFactor struct {
	BiometricRegistrationID string `json:"biometric_registration_id"`
}

// SSOFactor is a SAML or OIDC single sign-on used as a factor.
type SSOFactor struct {
	ID         string `json:"id"`
	ProviderID string `json:"provider_id"`
	ExternalID string `json:"external_id"`
}

// ImpersonatedFactor records that a dashboard user impersonated the session's
// owner.
type ImpersonatedFactor struct {
	ImpersonatorID           string `json:"impersonator_id"`
	ImpersonatorEmailAddress string `json:"impersonator_email_address"`
}

// OAuthAccessTokenExchangeFactor is a Connected Apps access token exchanged for
// the session.
type OAuthAccessTokenExchangeFactor struct {
	ClientID string `json:"client_id"`
}

// TrustedAuthTokenFactor is a trusted identity provider's token attested for
// the session.
type TrustedAuthTokenFactor struct {
	TokenID string `json:"token_id"`
}

// Impersonator returns who is acting as the session's owner when a Stytch
// dashboard user impersonates them (the impersonated factor), or nil for a
// session the owner started.
func (s *Session) Impersonator() *ImpersonatedFactor { return impersonator(s.AuthenticationFactors) }

// Impersonator returns who is acting as the member when a Stytch dashboard
// user impersonates them, or nil.
func (s *MemberSession) Impersonator() *ImpersonatedFactor {
	return impersonator(s.AuthenticationFactors)
}

func impersonator(factors []AuthenticationFactor) *ImpersonatedFactor {
	for _, f := range factors {
		if f.Type == "impersonated" && f.ImpersonatedFactor != nil {
			return f.ImpersonatedFactor
		}
	}
	return nil
}
