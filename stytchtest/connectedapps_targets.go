package stytchtest

import (
	"context"
	"fmt"
	"net/url"
	"slices"
	"strings"

	"github.com/stytchguard/stytchguard/session"
)

// What a Connected Apps grant is bound to: its client (registered, or known
// by its Client ID Metadata Document), the resources it is for (RFC 8707)
// and so the access token's aud, and the scopes it holds under the policy's
// scope hierarchy.

// OAuthInvalidTarget is RFC 8707's error for a resource that is malformed,
// or not one the grant is for.
const OAuthInvalidTarget = "invalid_target"

// maxResources bounds the resources one request names.
const maxResources = 10

// resolveClient fetches the client a URL client_id names, its Client ID
// Metadata Document, with the emulator's clock; nil for any other id,
// looked up among the clients under e.mu (lookupClient). The caller does
// not hold e.mu: a fetch takes time.
func (e *Emulator) resolveClient(ctx context.Context, id string) (*caClient, error) {
	if !isClientIDURL(id) {
		return nil, nil
	}
	return e.cimd.client(ctx, e.ctx, id, e.Now())
}

// lookupClient is the client id names: resolved when its id is a URL,
// else a registered one; nil if none. The caller holds e.mu.
func (e *Emulator) lookupClient(id string, resolved *caClient) *caClient {
	if isClientIDURL(id) {
		if resolved != nil && resolved.id == id {
			return resolved
		}
		return nil
	}
	return e.caClients[id]
}

// knownClient reports whether id is a client the project knows: a
// registered one, a metadata document held, or one a person granted
// something to. The caller holds e.mu.
func (e *Emulator) knownClient(id string) bool {
	if e.caClients[id] != nil || isClientIDURL(id) && e.cimd.cached(id, e.now()) {
		return true
	}
	for key := range e.caConsents {
		if _, client, _ := cutGrantKey(key); client == id {
			return true
		}
	}
	return false
}

// checkResources checks RFC 8707 resource indicators (section 2: an
// absolute URI, no fragment) and drops repeats; msg says what is wrong.
// Resources are compared as strings, exactly, as the MCP spec's canonical
// URIs are meant to be.
func checkResources(resources []string) (out []string, msg string) {
	if len(resources) > maxResources {
		return nil, fmt.Sprintf("At most %d resources may be named.", maxResources)
	}
	for _, res := range resources {
		if len(res) > maxURILength {
			return nil, fmt.Sprintf("resource is longer than %d characters.", maxURILength)
		}
		u, err := url.Parse(res)
		switch {
		case err != nil || !u.IsAbs() || u.Opaque != "" || u.Host == "":
			return nil, fmt.Sprintf("resource %.80q is not an absolute URI.", res)
		case u.Fragment != "" || strings.Contains(res, "#"):
			return nil, fmt.Sprintf("resource %.80q has a fragment.", res)
		}
		if !slices.Contains(out, res) {
			out = append(out, res)
		}
	}
	return out, ""
}

// audience is an access token's aud: the project id, which Stytch's SDKs
// require of every token (stytch-go v18 IntrospectTokenLocal, stytch-node
// idp.introspectTokenLocal), then the client's custom audience
// (access_token_custom_audience, "additional" audiences per Stytch's access
// token reference), then the resources the token is for. The caller holds
// e.mu.
func (e *Emulator) audience(c *caClient, resources []string) []string {
	aud := []string{e.projectID}
	if c.customAudience != "" && c.customAudience != e.projectID {
		aud = append(aud, c.customAudience)
	}
	for _, res := range resources {
		if !slices.Contains(aud, res) {
			aud = append(aud, res)
		}
	}
	return aud
}

// SetConnectedAppCustomAudience sets a client's access_token_custom_audience,
// as the clients API's update does: its access tokens carry audience in aud
// besides the project id. "" removes it.
func (e *Emulator) SetConnectedAppCustomAudience(clientID, audience string) error {
	if len(audience) > maxURILength {
		return fmt.Errorf("stytchtest: access_token_custom_audience is longer than %d characters", maxURILength)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	c := e.caClients[clientID]
	if c == nil {
		return fmt.Errorf("connected app %s: %w", clientID, ErrNotFound)
	}
	c.customAudience = audience
	return nil
}

// scopeSatisfied reports whether the scopes held satisfy need under the
// policy's scope hierarchy. The MCP authorization spec (2026-07-28,
// "Step-Up Authorization Flow") says: "Servers MUST account for scope
// hierarchies, where a broader scope implies narrower ones, when deciding
// whether a token is sufficient for an operation." Stytch's policy gives
// each custom scope a set of permissions, and that is the hierarchy: need
// is satisfied when it is held, or when it is a policy scope with
// permissions and one held policy scope carries every one of them (an
// action "*" carries every action of its resource). An OpenID scope, or a
// scope without permissions, is satisfied only by itself; scopes are not
// added up (read and write held apart do not make a scope of both).
func scopeSatisfied(policy *session.Policy, held []string, need string) bool {
	if slices.Contains(held, need) {
		return true
	}
	narrow, ok := policyScope(policy, need)
	if !ok || len(narrow) == 0 {
		return false
	}
	for _, h := range held {
		if broad, ok := policyScope(policy, h); ok && carries(broad, narrow) {
			return true
		}
	}
	return false
}

// policyScope returns the permissions of a custom scope of the policy.
func policyScope(policy *session.Policy, scope string) ([]session.Permission, bool) {
	i := slices.IndexFunc(policy.Scopes, func(s session.Scope) bool { return s.Scope == scope })
	if i < 0 {
		return nil, false
	}
	return policy.Scopes[i].Permissions, true
}

// carries reports whether the permissions broad include every action of
// narrow.
func carries(broad, narrow []session.Permission) bool {
	for _, n := range narrow {
		for _, action := range n.Actions {
			if !slices.ContainsFunc(broad, func(b session.Permission) bool {
				return b.ResourceID == n.ResourceID && (slices.Contains(b.Actions, "*") || slices.Contains(b.Actions, action))
			}) {
				return false
			}
		}
	}
	return true
}
