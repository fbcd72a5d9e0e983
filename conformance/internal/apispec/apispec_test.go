package apispec

import (
	"bytes"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestEmbeddedCopyMatchesShared(t *testing.T) {
	shared := filepath.Join("..", "..", "..", "..", "shared", "stytch", "openapi-sessions.yml")
	want, err := os.ReadFile(shared)
	if os.IsNotExist(err) {
		t.Skip("../shared is not beside this checkout")
	}
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(want, Spec()) {
		t.Fatalf("conformance/internal/apispec/openapi-sessions.yml differs from %s: copy it again", shared)
	}
}

func TestCheck(t *testing.T) {
	v, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	json := http.Header{"Content-Type": {"application/json"}}
	const revokeOK = `{"request_id":"request-id-test-1","status_code":200}`
	tests := []struct {
		name    string
		method  string
		path    string
		reqBody string
		status  int
		header  http.Header
		body    string
		wantErr string
	}{
		{"revoke ok", "POST", "/v1/sessions/revoke", `{"session_id":"s"}`, 200, json, revokeOK, ""},
		{"revoke without request_id", "POST", "/v1/sessions/revoke", `{"session_id":"s"}`, 200, json, `{"status_code":200}`, "request_id"},
		{"list with a null sessions", "GET", "/v1/sessions?user_id=u", "", 200, json, `{"request_id":"r","status_code":200,"sessions":null}`, "sessions"},
		{"list without user_id", "GET", "/v1/sessions", "", 200, json, `{"request_id":"r","status_code":200,"sessions":[]}`, "user_id"},
		{"request of the wrong type", "POST", "/v1/sessions/authenticate", `{"session_token":7}`, 400, json, `{}`, "session_token"},
		{"404 session_not_found", "POST", "/v1/sessions/authenticate", `{"session_token":"x"}`, 404, json,
			`{"status_code":404,"request_id":"r","error_type":"session_not_found","error_message":"m","error_url":"u"}`, ""},
		{"session_not_found as 400", "POST", "/v1/sessions/authenticate", `{"session_token":"x"}`, 400, json,
			`{"status_code":400,"request_id":"r","error_type":"session_not_found","error_message":"m","error_url":"u"}`, "goes with 404"},
		{"error without error_url", "POST", "/v1/sessions/authenticate", `{"session_token":"x"}`, 400, json,
			`{"status_code":400,"request_id":"r","error_type":"no_session_arguments","error_message":"m"}`, "error_url"},
		{"status_code differs", "GET", "/v1/rbac/policy", "", 500, json,
			`{"status_code":200,"request_id":"r","error_type":"internal_server_error","error_message":"m","error_url":"u"}`, "status_code 200"},
		{"undocumented status", "GET", "/v1/rbac/policy", "", 418, json,
			`{"status_code":418,"request_id":"r","error_type":"teapot","error_message":"m","error_url":"u"}`, "not documented"},
		{"error as HTML", "GET", "/v1/rbac/policy", "", 500, http.Header{"Content-Type": {"text/html"}}, `<html>`, "content type"},
		{"unknown path", "GET", "/v1/nope", "", 200, json, `{}`, "not in the document"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest(tt.method, "http://127.0.0.1:1"+tt.path, nil)
			var reqBody []byte
			if tt.reqBody != "" {
				reqBody = []byte(tt.reqBody)
				req.Header.Set("Content-Type", "application/json")
			}
			err := v.Check(req, reqBody, tt.status, tt.header, []byte(tt.body))
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("unexpected error: %v", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Fatalf("error %v, want one about %q", err, tt.wantErr)
			}
		})
	}
}
