package conformance_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stytchguard/stytchguard/conformance/internal/apispec"
	"github.com/stytchguard/stytchguard/session"
	"github.com/stytchguard/stytchguard/stytchtest"
)

// What every Stytch project's policy holds, whatever its owner did to it,
// written from Stytch's sources and not from the emulator's code (see
// docs/emulator.md, "Default roles"): the default roles cannot be deleted,
// their descriptions are Stytch's, the permissions Stytch gives them on its
// own stytch.* resources cannot be taken away, and a B2B policy lists those
// resources.
var (
	consumerDefaults = map[string][]session.Permission{"stytch_user": nil}
	b2bDefaults      = map[string][]session.Permission{
		"stytch_member": {{ResourceID: "stytch.self", Actions: []string{"*"}}},
		"stytch_admin": {
			{ResourceID: "stytch.organization", Actions: []string{"*"}},
			{ResourceID: "stytch.member", Actions: []string{"*"}},
			{ResourceID: "stytch.sso", Actions: []string{"*"}},
			{ResourceID: "stytch.scim", Actions: []string{"*"}},
		},
	}
	// Stytch's descriptions, as its B2B policy sends them (the storybook
	// fixture of stytch-browser, packages/web/.storybook/handlers.ts).
	b2bDescriptions = map[string]string{
		"stytch_member": "Granted to all Members upon creation; grants permissions already implicitly granted to logged in Members via the SDK. Cannot be deleted.",
		"stytch_admin":  "Granted to Members who create an organization through the Stytch discovery flow. Admins will also have the stytch_member role. Cannot be deleted.",
	}
	b2bResources = []string{"stytch.organization", "stytch.member", "stytch.sso", "stytch.self", "stytch.scim"}
)

// policyTarget is an emulator to read policies from over HTTP.
type policyTarget struct {
	baseURL, projectID, secret string
	// kept are permissions the mode gave roles, which must still be
	// granted, by role id.
	kept map[string][]session.Permission
}

// ownDefaults is a policy that defines every default role itself, each with
// a permission of the app's (and one narrowing Stytch's), as a project whose
// dashboard edited them would.
const ownDefaults = `{
  "roles": [
    {"role_id": "stytch_user", "description": "mine", "permissions": [{"resource_id": "documents", "actions": ["read"]}]},
    {"role_id": "stytch_member", "description": "mine", "permissions": [{"resource_id": "documents", "actions": ["read"]}, {"resource_id": "stytch.self", "actions": ["update.info.name"]}]},
    {"role_id": "stytch_admin", "description": "mine", "permissions": [{"resource_id": "documents", "actions": ["*"]}]},
    {"role_id": "auditor", "description": "Reads logs", "permissions": [{"resource_id": "logs", "actions": ["read"]}]}
  ],
  "resources": [
    {"resource_id": "documents", "description": "Documents", "actions": ["read", "write"]},
    {"resource_id": "logs", "description": "Logs", "actions": ["read"]}
  ]
}`

// noDefaults is a policy that names no default role.
const noDefaults = `{
  "roles": [{"role_id": "auditor", "description": "Reads logs", "permissions": [{"resource_id": "logs", "actions": ["read"]}]}],
  "resources": [{"resource_id": "logs", "description": "Logs", "actions": ["read"]}]
}`

var (
	keptOwn = map[string][]session.Permission{
		"stytch_user":   {{ResourceID: "documents", Actions: []string{"read"}}},
		"stytch_member": {{ResourceID: "documents", Actions: []string{"read"}}},
		"stytch_admin":  {{ResourceID: "documents", Actions: []string{"read", "write"}}},
		"auditor":       {{ResourceID: "logs", Actions: []string{"read"}}},
	}
	keptAuditor = map[string][]session.Permission{"auditor": {{ResourceID: "logs", Actions: []string{"read"}}}}
)

// TestPoliciesHoldStytchsDefaultRoles reads the consumer and B2B policies
// over the wire from the standalone emulator in each of its modes (its demo
// policy, -demo-roles, -policy with and without default roles, a policy set
// through its admin API) and from stytchtest (as created, SetPolicy and
// SetB2BPolicy with and without them). Each answer is checked against
// Stytch's OpenAPI document and read strictly; each holds the default roles
// once, with Stytch's permissions, and keeps what the policy set gave.
func TestPoliciesHoldStytchsDefaultRoles(t *testing.T) {
	if testing.Short() {
		t.Skip("builds cmd/stytch-emulator")
	}
	bin := filepath.Join(t.TempDir(), "stytch-emulator")
	if out, err := exec.Command("go", "build", "-o", bin, "github.com/stytchguard/stytchguard/cmd/stytch-emulator").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	dir := t.TempDir()
	file := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	own, none := file("own.json", ownDefaults), file("none.json", noDefaults)
	standalone := func(kept map[string][]session.Permission, args ...string) func(t *testing.T) policyTarget {
		return func(t *testing.T) policyTarget {
			tg := startStandalone(t, bin, args...)
			tg.kept = kept
			return tg
		}
	}
	inProcess := func(kept map[string][]session.Permission, set func(*stytchtest.Server)) func(t *testing.T) policyTarget {
		return func(t *testing.T) policyTarget {
			srv := stytchtest.NewServer()
			t.Cleanup(srv.Close)
			if set != nil {
				set(srv)
			}
			return policyTarget{baseURL: srv.URL, projectID: srv.ProjectID(), secret: srv.Secret(), kept: kept}
		}
	}
	fromJSON := func(s string) session.Policy {
		var p session.Policy
		if err := json.Unmarshal([]byte(s), &p); err != nil {
			t.Fatal(err)
		}
		return p
	}
	demoKept := map[string][]session.Permission{"editor": {{ResourceID: "documents", Actions: []string{"read", "write"}}}}
	modes := []struct {
		name  string
		start func(t *testing.T) policyTarget
	}{
		{"stytch-emulator, demo policy", standalone(demoKept)},
		{"stytch-emulator -demo-roles viewer", standalone(demoKept, "-demo-roles", "viewer")},
		{"stytch-emulator -policy without default roles", standalone(keptAuditor, "-policy", none)},
		{"stytch-emulator -policy defining them", standalone(keptOwn, "-policy", own, "-demo-roles", "auditor")},
		{"stytch-emulator, policy set through the admin API", func(t *testing.T) policyTarget {
			tg := startStandalone(t, bin)
			for _, path := range []string{"/_emulator/rbac/policy", "/_emulator/b2b/rbac/policy"} {
				tg.do(t, http.DefaultClient, "PUT", path, `{"policy": `+noDefaults+`}`)
			}
			tg.kept = keptAuditor
			return tg
		}},
		{"stytchtest, as created", inProcess(nil, nil)},
		{"stytchtest, SetPolicy without default roles", inProcess(keptAuditor, func(s *stytchtest.Server) {
			s.SetPolicy(fromJSON(noDefaults))
			s.SetB2BPolicy(fromJSON(noDefaults))
		})},
		{"stytchtest, SetPolicy defining them", inProcess(keptOwn, func(s *stytchtest.Server) {
			s.SetPolicy(fromJSON(ownDefaults))
			s.SetB2BPolicy(fromJSON(ownDefaults))
		})},
	}
	v, err := apispec.Load()
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			tg := m.start(t)
			hc := &http.Client{Transport: v.Transport(nil, func(err error) { t.Errorf("OpenAPI: %v", err) })}
			for _, product := range []struct {
				name, path string
				defaults   map[string][]session.Permission
				b2b        bool
			}{
				{"consumer", "/v1/rbac/policy", consumerDefaults, false},
				{"b2b", "/v1/b2b/rbac/policy", b2bDefaults, true},
			} {
				body := tg.do(t, hc, "GET", product.path, "")
				if err := conform(reflect.TypeOf(wPolicy{}), body); err != nil {
					t.Fatalf("%s: %v\n%s", product.path, err, body)
				}
				var got struct{ Policy session.Policy }
				if err := json.Unmarshal(body, &got); err != nil {
					t.Fatal(err)
				}
				checkDefaults(t, product.name, got.Policy, product.defaults, product.b2b, tg.kept)
			}
		})
	}
}

// checkDefaults holds what every policy of a Stytch project holds.
func checkDefaults(t *testing.T, product string, p session.Policy, defaults map[string][]session.Permission, b2b bool, kept map[string][]session.Permission) {
	t.Helper()
	for id, want := range defaults {
		n := 0
		var role session.Role
		for _, r := range p.Roles {
			if r.RoleID == id {
				n, role = n+1, r
			}
		}
		if n != 1 {
			t.Errorf("%s policy holds %s %d times, want once: %+v", product, id, n, p.Roles)
			continue
		}
		if role.Description == "" || (b2b && role.Description != b2bDescriptions[id]) {
			t.Errorf("%s policy describes %s as %q, want Stytch's description", product, id, role.Description)
		}
		for _, w := range want {
			for _, a := range w.Actions {
				if !grants(role, w.ResourceID, a) {
					t.Errorf("%s policy: %s lost Stytch's %s %s: %+v", product, id, w.ResourceID, a, role.Permissions)
				}
			}
		}
	}
	for id, want := range kept {
		if _, isDefault := consumerDefaults[id]; isDefault && b2b {
			continue // stytch_user belongs to consumer policies only
		}
		if _, isDefault := b2bDefaults[id]; isDefault && !b2b {
			continue
		}
		i := slices.IndexFunc(p.Roles, func(r session.Role) bool { return r.RoleID == id })
		if i < 0 {
			t.Errorf("%s policy lost the role %s: %+v", product, id, p.Roles)
			continue
		}
		for _, w := range want {
			for _, a := range w.Actions {
				if !grants(p.Roles[i], w.ResourceID, a) {
					t.Errorf("%s policy: %s lost the policy's %s %s: %+v", product, id, w.ResourceID, a, p.Roles[i].Permissions)
				}
			}
		}
	}
	var resources []string
	for _, r := range p.Resources {
		resources = append(resources, r.ResourceID)
	}
	for _, id := range b2bResources {
		if slices.Contains(resources, id) != b2b {
			t.Errorf("%s policy's resources %v: %s listed %v, want %v", product, resources, id, !b2b, b2b)
		}
	}
}

// grants reports whether r permits action on resource, as Stytch decides.
func grants(r session.Role, resource, action string) bool {
	for _, p := range r.Permissions {
		if p.ResourceID == resource && (slices.Contains(p.Actions, action) || slices.Contains(p.Actions, "*")) {
			return true
		}
	}
	return false
}

// startStandalone runs the built emulator with args until the test ends
// and reads its banner.
func startStandalone(t *testing.T, bin string, args ...string) policyTarget {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, bin, append([]string{"-addr", "127.0.0.1:0"}, args...)...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cancel(); _ = cmd.Wait() })
	out := bufio.NewReader(stdout)
	line, err := out.ReadString('\n')
	if err != nil {
		cancel()
		_ = cmd.Wait()
		t.Fatalf("stytch-emulator %v did not start: %v\n%s", args, err, stderr.String())
	}
	go func() { _, _ = io.Copy(io.Discard, out) }()
	var b struct {
		BaseURL   string `json:"base_url"`
		ProjectID string `json:"project_id"`
		Secret    string `json:"secret"`
	}
	if err := json.Unmarshal([]byte(line), &b); err != nil || b.BaseURL == "" {
		t.Fatalf("banner %q: %v", line, err)
	}
	return policyTarget{baseURL: b.BaseURL, projectID: b.ProjectID, secret: b.Secret}
}

// do sends a request with the project's credentials and returns the body
// of a 200.
func (tg policyTarget) do(t *testing.T, hc *http.Client, method, path, body string) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, tg.baseURL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	req.SetBasicAuth(tg.projectID, tg.secret)
	res, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil || res.StatusCode != http.StatusOK {
		t.Fatalf("%s %s: %d %v\n%s", method, path, res.StatusCode, err, b)
	}
	return b
}
