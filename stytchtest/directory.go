package stytchtest

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/stytchguard/stytchguard/session"
)

// ErrNotFound is returned (wrapped) by the Go API when the user, member,
// organization or session named does not exist.
var ErrNotFound = errors.New("stytchtest: not found")

type user struct {
	id        string
	email     string
	emailID   string
	phone     string
	phoneID   string
	name      session.Name
	roles     []string
	trusted   map[string]any
	createdAt time.Time
	lock      lock
}

// lock is a temporary lock on a user or member, as Stytch sets after too
// many failed authentication attempts.
type lock struct {
	created, expires time.Time
}

// active reports whether the lock holds at now.
func (l lock) active(now time.Time) bool { return now.Before(l.expires) }

// fields returns is_locked, lock_created_at and lock_expires_at as an answer
// at now shows them: the times only while the lock holds, else null.
func (l lock) fields(now time.Time) (bool, session.Time, session.Time) {
	if !l.active(now) {
		return false, session.Time{}, session.Time{}
	}
	return true, session.NewTime(l.created), session.NewTime(l.expires)
}

type organization struct {
	id          string
	name        string
	slug        string
	mfaRequired bool
	createdAt   time.Time
}

type member struct {
	id        string
	orgID     string
	email     string
	emailID   string
	name      string
	phone     string
	roles     []string
	isAdmin   bool
	createdAt time.Time
	lock      lock
}

// UserParams describes a consumer user to create.
type UserParams struct {
	// Email is the user's verified email address; the default session factor
	// is an email magic link to it. Optional.
	Email string
	// PhoneNumber is a verified phone number (E.164). Optional.
	PhoneNumber string
	// Name is the user's name. Optional.
	Name session.Name
	// Roles are RBAC roles assigned to the user, on top of stytch_user, which
	// every user holds.
	Roles []string
	// TrustedMetadata is returned as the user's trusted_metadata.
	TrustedMetadata map[string]any
}

// CreateUser adds a consumer user and returns it as Stytch would.
func (e *Emulator) CreateUser(p UserParams) session.User {
	e.mu.Lock()
	defer e.mu.Unlock()
	u := &user{
		id:        e.id("user"),
		email:     p.Email,
		phone:     p.PhoneNumber,
		name:      p.Name,
		roles:     slices.Clone(p.Roles),
		trusted:   p.TrustedMetadata,
		createdAt: e.now(),
	}
	if u.email != "" {
		u.emailID = e.id("email")
	}
	if u.phone != "" {
		u.phoneID = e.id("phone-number")
	}
	e.users[u.id] = u
	e.userEvent("CREATE", u)
	return e.userModel(u)
}

// SetUserRoles replaces the roles assigned to a user (stytch_user stays).
// Sessions pick the change up at their next authenticate or JWT.
func (e *Emulator) SetUserRoles(userID string, roles []string) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	u, ok := e.users[userID]
	if !ok {
		return fmt.Errorf("user %s: %w", userID, ErrNotFound)
	}
	u.roles = slices.Clone(roles)
	e.userEvent("UPDATE", u)
	return nil
}

// LockUser locks a user for d, as Stytch does after too many failed
// authentication attempts: answers show is_locked true with the lock's
// lock_created_at and lock_expires_at until the emulator's clock passes its
// end. The emulator has no login endpoints for a lock to refuse; sessions
// already started keep authenticating, as at Stytch.
func (e *Emulator) LockUser(userID string, d time.Duration) error {
	return e.setLock(userID, false, d)
}

// LockMember locks a member for d, as LockUser does a user.
func (e *Emulator) LockMember(memberID string, d time.Duration) error {
	return e.setLock(memberID, true, d)
}

// setLock locks the user (or, for b2b, the member) id for d from now.
func (e *Emulator) setLock(id string, b2b bool, d time.Duration) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	now := e.now()
	l := lock{created: now, expires: now.Add(d)}
	switch {
	case !b2b && e.users[id] != nil:
		e.users[id].lock = l
	case b2b && e.members[id] != nil:
		e.members[id].lock = l
	case b2b:
		return fmt.Errorf("member %s: %w", id, ErrNotFound)
	default:
		return fmt.Errorf("user %s: %w", id, ErrNotFound)
	}
	return nil
}

// OrganizationParams describes a B2B organization to create.
type OrganizationParams struct {
	// Name is the organization's display name.
	Name string
	// Slug is its URL slug; the default is derived from Name.
	Slug string
	// MFARequired makes the organization's MFA policy REQUIRED_FOR_ALL: a
	// session exchanged into it then needs an MFA step first.
	MFARequired bool
}

// CreateOrganization adds a B2B organization and returns it as Stytch would.
func (e *Emulator) CreateOrganization(p OrganizationParams) session.Organization {
	e.mu.Lock()
	defer e.mu.Unlock()
	o := &organization{id: e.id("organization"), name: p.Name, slug: p.Slug, mfaRequired: p.MFARequired, createdAt: e.now()}
	if o.slug == "" {
		o.slug = slugify(p.Name)
	}
	if o.slug == "" {
		o.slug = o.id
	}
	e.orgs[o.id] = o
	return e.orgModel(o)
}

// SetOrganizationMFARequired switches an organization's MFA policy between
// REQUIRED_FOR_ALL (true) and OPTIONAL.
func (e *Emulator) SetOrganizationMFARequired(orgID string, required bool) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	o, ok := e.orgs[orgID]
	if !ok {
		return fmt.Errorf("organization %s: %w", orgID, ErrNotFound)
	}
	o.mfaRequired = required
	return nil
}

// MemberParams describes a member to add to an organization.
type MemberParams struct {
	// Email is the member's email address. Members of different
	// organizations with the same address are the same person, between whose
	// memberships a session can be exchanged.
	Email string
	// Name is the member's display name.
	Name string
	// Roles are RBAC roles assigned to the member, on top of stytch_member,
	// which every member holds.
	Roles []string
	// IsAdmin also grants stytch_admin.
	IsAdmin bool
	// MFAPhoneNumber is the member's verified MFA phone number, if any.
	MFAPhoneNumber string
}

// CreateMember adds a member to an organization and returns it as Stytch
// would.
func (e *Emulator) CreateMember(orgID string, p MemberParams) (session.Member, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if _, ok := e.orgs[orgID]; !ok {
		return session.Member{}, fmt.Errorf("organization %s: %w", orgID, ErrNotFound)
	}
	m := &member{
		id:        e.id("member"),
		orgID:     orgID,
		email:     p.Email,
		emailID:   e.id("email"),
		name:      p.Name,
		phone:     p.MFAPhoneNumber,
		roles:     slices.Clone(p.Roles),
		isAdmin:   p.IsAdmin,
		createdAt: e.now(),
	}
	e.members[m.id] = m
	e.memberEvent("CREATE", m)
	return e.memberModel(m), nil
}

// SetMemberRoles replaces the roles assigned to a member.
func (e *Emulator) SetMemberRoles(memberID string, roles []string) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	m, ok := e.members[memberID]
	if !ok {
		return fmt.Errorf("member %s: %w", memberID, ErrNotFound)
	}
	m.roles = slices.Clone(roles)
	e.memberEvent("UPDATE", m)
	return nil
}

// userRoles are the roles a user's sessions carry: stytch_user, then the
// assigned ones.
func (u *user) allRoles() []string {
	return appendUnique([]string{"stytch_user"}, u.roles...)
}

// allRoles are the roles a member's sessions carry: stytch_member,
// stytch_admin for admins, then the assigned ones.
func (m *member) allRoles() []string {
	roles := []string{"stytch_member"}
	if m.isAdmin {
		roles = append(roles, "stytch_admin")
	}
	return appendUnique(roles, m.roles...)
}

func appendUnique(dst []string, more ...string) []string {
	for _, s := range more {
		if s != "" && !slices.Contains(dst, s) {
			dst = append(dst, s)
		}
	}
	return dst
}

func slugify(s string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(s) {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
			b.WriteRune(r)
			dash = false
		case !dash && b.Len() > 0:
			b.WriteByte('-')
			dash = true
		}
	}
	return strings.TrimRight(b.String(), "-")
}

func (e *Emulator) userModel(u *user) session.User {
	out := session.User{
		UserID:                 u.id,
		Emails:                 []session.Email{},
		Status:                 "active",
		PhoneNumbers:           []session.PhoneNumber{},
		WebAuthnRegistrations:  []session.WebAuthnRegistration{},
		Providers:              []session.OAuthProvider{},
		TOTPs:                  []session.TOTP{},
		CryptoWallets:          []session.CryptoWallet{},
		BiometricRegistrations: []session.BiometricRegistration{},
		Roles:                  u.allRoles(),
		Name:                   &session.Name{FirstName: u.name.FirstName, MiddleName: u.name.MiddleName, LastName: u.name.LastName},
		CreatedAt:              session.NewTime(u.createdAt),
		TrustedMetadata:        metadata(u.trusted),
		UntrustedMetadata:      map[string]any{},
	}
	out.IsLocked, out.LockCreatedAt, out.LockExpiresAt = u.lock.fields(e.now())
	if u.email != "" {
		out.Emails = append(out.Emails, session.Email{EmailID: u.emailID, Email: u.email, Verified: true})
	}
	if u.phone != "" {
		out.PhoneNumbers = append(out.PhoneNumbers, session.PhoneNumber{PhoneID: u.phoneID, PhoneNumber: u.phone, Verified: true})
	}
	return out
}

func (e *Emulator) orgModel(o *organization) session.Organization {
	mfa := "OPTIONAL"
	if o.mfaRequired {
		mfa = "REQUIRED_FOR_ALL"
	}
	return session.Organization{
		OrganizationID:                       o.id,
		OrganizationName:                     o.name,
		OrganizationLogoURL:                  "",
		OrganizationSlug:                     o.slug,
		SSOJITProvisioning:                   "NOT_ALLOWED",
		SSOJITProvisioningAllowedConnections: []string{},
		SSOActiveConnections:                 []session.ActiveSSOConnection{},
		EmailAllowedDomains:                  []string{},
		EmailJITProvisioning:                 "NOT_ALLOWED",
		EmailInvites:                         "ALL_ALLOWED",
		AuthMethods:                          "ALL_ALLOWED",
		AllowedAuthMethods:                   []string{},
		MFAPolicy:                            mfa,
		RBACEmailImplicitRoleAssignments:     []session.EmailImplicitRoleAssignment{},
		MFAMethods:                           "ALL_ALLOWED",
		AllowedMFAMethods:                    []string{},
		OAuthTenantJITProvisioning:           "NOT_ALLOWED",
		ClaimedEmailDomains:                  []string{},
		FirstPartyConnectedAppsAllowedType:   "ALL_ALLOWED",
		AllowedFirstPartyConnectedApps:       []string{},
		ThirdPartyConnectedAppsAllowedType:   "ALL_ALLOWED",
		AllowedThirdPartyConnectedApps:       []string{},
		CustomRoles:                          e.customRoles(o.id),
		TrustedMetadata:                      map[string]any{},
		CreatedAt:                            session.NewTime(o.createdAt),
		UpdatedAt:                            session.NewTime(o.createdAt),
	}
}

func (e *Emulator) customRoles(orgID string) []session.CustomRole {
	out := []session.CustomRole{}
	for _, r := range e.orgPolicies[orgID] {
		out = append(out, session.CustomRole{RoleID: r.RoleID, Description: r.Description, Permissions: clonePermissions(r.Permissions)})
	}
	return out
}

func (e *Emulator) memberModel(m *member) session.Member {
	roles := []session.MemberRole{}
	for _, r := range m.allRoles() {
		roles = append(roles, session.MemberRole{RoleID: r, Sources: []session.MemberRoleSource{{Type: "direct_assignment"}}})
	}
	out := session.Member{
		OrganizationID:         m.orgID,
		MemberID:               m.id,
		EmailAddress:           m.email,
		Status:                 "active",
		Name:                   m.name,
		SSORegistrations:       []session.SSORegistration{},
		OAuthRegistrations:     []session.OAuthRegistration{},
		EmailAddressVerified:   true,
		MFAPhoneNumberVerified: m.phone != "",
		IsAdmin:                m.isAdmin,
		RetiredEmailAddresses:  []session.RetiredEmail{},
		MFAEnrolled:            m.phone != "",
		MFAPhoneNumber:         m.phone,
		Roles:                  roles,
		TrustedMetadata:        map[string]any{},
		UntrustedMetadata:      map[string]any{},
		CreatedAt:              session.NewTime(m.createdAt),
		UpdatedAt:              session.NewTime(m.createdAt),
	}
	out.IsLocked, out.LockCreatedAt, out.LockExpiresAt = m.lock.fields(e.now())
	return out
}

// metadata returns a copy of m for an answer: Stytch sends {} when there is
// none, never null.
func metadata(m map[string]any) map[string]any {
	if m == nil {
		return map[string]any{}
	}
	return maps.Clone(m)
}
