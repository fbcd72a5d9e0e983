package session

// Policy is a project's RBAC policy: its roles, the resources they act on and
// the OAuth scopes. For B2B, an organization's custom roles come separately
// (OrgPolicy) and add to these.
type Policy struct {
	Roles     []Role     `json:"roles"`
	Resources []Resource `json:"resources"`
	Scopes    []Scope    `json:"scopes"`
}

// OrgPolicy is the set of custom roles one B2B organization defines.
type OrgPolicy struct {
	Roles []Role `json:"roles"`
}

// Role is a named set of permissions. Stytch predefines stytch_user (consumer),
// stytch_member and stytch_admin (B2B).
type Role struct {
	RoleID      string       `json:"role_id"`
	Description string       `json:"description"`
	Permissions []Permission `json:"permissions"`
}

// Permission grants Actions on the resource ResourceID. The action "*" grants
// every action.
type Permission struct {
	ResourceID string   `json:"resource_id"`
	Actions    []string `json:"actions"`
}

// Resource is something permissions are about, with the actions it has.
type Resource struct {
	ResourceID  string   `json:"resource_id"`
	Description string   `json:"description"`
	Actions     []string `json:"actions"`
}

// Scope is an OAuth scope and the permissions it carries.
type Scope struct {
	Scope       string       `json:"scope"`
	Description string       `json:"description"`
	Permissions []Permission `json:"permissions"`
}
