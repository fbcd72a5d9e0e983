package conformance_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/oasdiff/yaml"

	"github.com/stytchguard/stytchguard/conformance/internal/apispec"
	"github.com/stytchguard/stytchguard/session"
	"github.com/stytchguard/stytchguard/stytchtest"
)

// The Arazzo workflow session-authenticate-revoke (shared/seeds/000), run
// step by step from its own YAML against the emulator: every request is built
// from the step's operationId, parameters and payload, and judged by its
// successCriteria; its outputs come from the JSON pointers it names.
func TestArazzoWorkflowAsWritten(t *testing.T) {
	srv, hc := validatedServer(t)
	u := srv.CreateUser(stytchtest.UserParams{Email: "ada@example.com"})
	tok, err := srv.StartSession(u.UserID, stytchtest.SessionParams{})
	if err != nil {
		t.Fatal(err)
	}
	outputs := runArazzo(t, srv, hc, "testdata/session-authenticate-revoke.arazzo.yml", map[string]any{
		"session_token":            tok.SessionToken,
		"session_duration_minutes": 60,
	})
	if outputs["userId"] != u.UserID {
		t.Fatalf("userId = %v, want %s", outputs["userId"], u.UserID)
	}
	if id, _ := outputs["revokeRequestId"].(string); !strings.HasPrefix(id, "request-id-test-") {
		t.Fatalf("revokeRequestId = %v", outputs["revokeRequestId"])
	}
	// The revoked token is now unknown.
	status, body := rawCall(t, srv, hc, "POST", "/v1/sessions/authenticate", map[string]any{"session_token": tok.SessionToken})
	if status != 404 || body["error_type"] != "session_not_found" {
		t.Fatalf("revoked token: %d %v", status, body)
	}
}

// The same workflow through the client.
func TestArazzoWorkflowThroughClient(t *testing.T) {
	srv, hc := validatedServer(t)
	c := clientFor(t, srv, hc)
	u := srv.CreateUser(stytchtest.UserParams{Email: "ada@example.com"})
	tok, _ := srv.StartSession(u.UserID, stytchtest.SessionParams{})
	ctx := context.Background()

	auth, err := c.Consumer.Authenticate(ctx, session.AuthenticateParams{SessionToken: tok.SessionToken, SessionDurationMinutes: 60})
	if err != nil {
		t.Fatal(err)
	}
	userID, sessionToken := auth.User.UserID, auth.SessionToken
	list, err := c.Consumer.List(ctx, userID)
	if err != nil || len(list.Sessions) != 1 || list.Sessions[0].SessionID != tok.SessionID {
		t.Fatalf("list: %v %+v", err, list)
	}
	if err := c.Consumer.Revoke(ctx, session.RevokeParams{SessionToken: sessionToken}); err != nil {
		t.Fatal(err)
	}
	if userID != u.UserID {
		t.Fatalf("outputs userId=%s", userID)
	}
	_, err = c.Consumer.Authenticate(ctx, session.AuthenticateParams{SessionToken: tok.SessionToken})
	var api *session.APIError
	if !asAPIError(err, &api) || api.StatusCode != 404 || api.ErrorType != "session_not_found" || !errors.Is(err, session.ErrSessionGone) {
		t.Fatalf("revoked token: %v", err)
	}
}

func validatedServer(t *testing.T) (*stytchtest.Server, *http.Client) {
	t.Helper()
	v, err := apispec.Load()
	if err != nil {
		t.Fatal(err)
	}
	srv := stytchtest.NewServer(stytchtest.WithFrozenClock(time.Now()))
	t.Cleanup(srv.Close)
	return srv, &http.Client{Transport: v.Transport(nil, func(err error) { t.Errorf("OpenAPI: %v", err) })}
}

func clientFor(t *testing.T, srv *stytchtest.Server, hc *http.Client) *session.Client {
	t.Helper()
	cfg := srv.Config()
	cfg.HTTPClient = hc
	c, err := session.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func asAPIError(err error, target **session.APIError) bool {
	a, ok := err.(*session.APIError)
	*target = a
	return ok
}

func rawCall(t *testing.T, srv *stytchtest.Server, hc *http.Client, method, path string, payload any) (int, map[string]any) {
	t.Helper()
	status, body := send(t, srv, hc, method, path, payload, true)
	out := map[string]any{}
	if err := json.Unmarshal(body, &out); err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	return status, out
}

// send sends an API request, with the project's credentials when auth is
// set, and returns the status and the body unparsed.
func send(t *testing.T, srv *stytchtest.Server, hc *http.Client, method, path string, payload any, auth bool) (int, []byte) {
	t.Helper()
	var body io.Reader
	if payload != nil {
		b, err := json.Marshal(payload)
		if err != nil {
			t.Fatal(err)
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, srv.URL+path, body)
	if err != nil {
		t.Fatal(err)
	}
	if payload != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if auth {
		req.SetBasicAuth(srv.ProjectID(), srv.Secret())
	}
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, out
}

// env is an emulator whose every exchange through http is validated
// against Stytch's OpenAPI document, for the shape tests.
type env struct {
	*stytchtest.Server
	http *http.Client
}

func newEnv(t *testing.T) *env {
	t.Helper()
	srv, hc := validatedServer(t)
	return &env{Server: srv, http: hc}
}

func (e *env) raw(t *testing.T, method, path string, body any, auth bool) (int, []byte) {
	t.Helper()
	return send(t, e.Server, e.http, method, path, body, auth)
}

// arazzo is the part of an Arazzo 1.0 document this runner understands.
type arazzo struct {
	Workflows []struct {
		WorkflowID string `json:"workflowId"`
		Steps      []struct {
			StepID      string `json:"stepId"`
			OperationID string `json:"operationId"`
			Parameters  []struct {
				Name  string `json:"name"`
				In    string `json:"in"`
				Value any    `json:"value"`
			} `json:"parameters"`
			RequestBody *struct {
				ContentType string         `json:"contentType"`
				Payload     map[string]any `json:"payload"`
			} `json:"requestBody"`
			SuccessCriteria []struct {
				Condition string `json:"condition"`
			} `json:"successCriteria"`
			Outputs map[string]string `json:"outputs"`
		} `json:"steps"`
		Outputs map[string]string `json:"outputs"`
	} `json:"workflows"`
}

var statusCondition = regexp.MustCompile(`^\$statusCode == (\d{3})$`)

func runArazzo(t *testing.T, srv *stytchtest.Server, hc *http.Client, file string, inputs map[string]any) map[string]any {
	t.Helper()
	raw, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	js, err := yaml.YAMLToJSON(raw)
	if err != nil {
		t.Fatal(err)
	}
	var doc arazzo
	if err := json.Unmarshal(js, &doc); err != nil {
		t.Fatal(err)
	}
	ops := operations(t)
	wf := doc.Workflows[0]
	steps := map[string]map[string]any{}
	eval := func(expr any, status int, resp map[string]any) any {
		s, ok := expr.(string)
		if !ok || !strings.HasPrefix(s, "$") {
			return expr
		}
		switch {
		case strings.HasPrefix(s, "$inputs."):
			return inputs[strings.TrimPrefix(s, "$inputs.")]
		case strings.HasPrefix(s, "$steps."):
			parts := strings.Split(strings.TrimPrefix(s, "$steps."), ".")
			if len(parts) != 3 || parts[1] != "outputs" {
				t.Fatalf("unsupported expression %s", s)
			}
			return steps[parts[0]][parts[2]]
		case strings.HasPrefix(s, "$response.body#"):
			var v any = resp
			for _, tok := range strings.Split(strings.TrimPrefix(s, "$response.body#/"), "/") {
				m, ok := v.(map[string]any)
				if !ok {
					return nil
				}
				v = m[tok]
			}
			return v
		case s == "$statusCode":
			return status
		}
		t.Fatalf("unsupported expression %s", s)
		return nil
	}
	for _, st := range wf.Steps {
		op, ok := ops[st.OperationID]
		if !ok {
			t.Fatalf("step %s: operation %s not in the OpenAPI document", st.StepID, st.OperationID)
		}
		q := url.Values{}
		for _, p := range st.Parameters {
			if p.In != "query" {
				t.Fatalf("step %s: parameter in %s unsupported", st.StepID, p.In)
			}
			q.Set(p.Name, fmt.Sprint(eval(p.Value, 0, nil)))
		}
		var payload any // nil, not a nil map, when the step has no body
		if st.RequestBody != nil {
			body := map[string]any{}
			for k, v := range st.RequestBody.Payload {
				if val := eval(v, 0, nil); val != nil {
					body[k] = val
				}
			}
			payload = body
		}
		path := op[1]
		if len(q) > 0 {
			path += "?" + q.Encode()
		}
		status, resp := rawCall(t, srv, hc, op[0], path, payload)
		for _, c := range st.SuccessCriteria {
			m := statusCondition.FindStringSubmatch(c.Condition)
			if m == nil {
				t.Fatalf("step %s: unsupported condition %q", st.StepID, c.Condition)
			}
			if want, _ := strconv.Atoi(m[1]); status != want {
				t.Fatalf("step %s: status %d, criteria %q; body %v", st.StepID, status, c.Condition, resp)
			}
		}
		steps[st.StepID] = map[string]any{}
		for name, expr := range st.Outputs {
			steps[st.StepID][name] = eval(expr, status, resp)
		}
	}
	out := map[string]any{}
	for name, expr := range wf.Outputs {
		out[name] = eval(expr, 0, nil)
	}
	return out
}

// operations maps operation ids to [method, path] from the OpenAPI document.
func operations(t *testing.T) map[string][2]string {
	t.Helper()
	doc, err := openapi3.NewLoader().LoadFromData(apispec.Spec())
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][2]string{}
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			out[op.OperationID] = [2]string{method, path}
		}
	}
	return out
}
