package apispec

import (
	"bytes"
	"context"
	_ "embed"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"
)

//go:embed openapi-sessions.yml
var spec []byte

// Spec returns the embedded OpenAPI document's bytes.
func Spec() []byte { return bytes.Clone(spec) }

// errorStatuses are the statuses Stytch's error bodies come with on these
// endpoints, for each error type the wire notes pin to one status.
var errorStatuses = map[string]int{
	"unauthorized_credentials":             401,
	"session_not_found":                    404,
	"too_many_session_arguments":           400,
	"no_session_arguments":                 400,
	"too_many_session_revoke_arguments":    400,
	"no_session_revoke_arguments":          400,
	"invalid_session_duration_minutes":     400,
	"custom_claims_too_large":              400,
	"reserved_claims_in_custom_claims":     400,
	"unable_to_parse_session_jwt":          400,
	"consumer_session_authorization_error": 403,
	"session_authorization_error":          403,
	"session_authorization_tenancy_error":  403,
	"too_many_requests":                    429,
	"too_few_tokens_authenticated":         429,
	"internal_server_error":                500,
}

// errorSchema is the shape of every Stytch error body.
const errorSchema = `{
  "type": "object",
  "required": ["status_code", "request_id", "error_type", "error_message", "error_url"],
  "properties": {
    "status_code": {"type": "integer"},
    "request_id": {"type": "string", "minLength": 1},
    "error_type": {"type": "string", "minLength": 1},
    "error_message": {"type": "string"},
    "error_url": {"type": "string"},
    "error_details": {"type": "object"}
  }
}`

// Validator checks requests and responses against the document.
type Validator struct {
	router    routers.Router
	errSchema *openapi3.Schema
}

// Load parses the embedded document.
func Load() (*Validator, error) {
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(spec)
	if err != nil {
		return nil, fmt.Errorf("apispec: loading: %w", err)
	}
	// doc.Validate is not called: the subset has its descriptions stripped,
	// which the OpenAPI rules require but the schemas do not need.
	// Match any host: the emulator listens on loopback, not on Stytch's servers.
	doc.Servers = openapi3.Servers{{URL: "/"}}
	if err := applyNullable(doc); err != nil {
		return nil, err
	}
	router, err := gorillamux.NewRouter(doc)
	if err != nil {
		return nil, fmt.Errorf("apispec: router: %w", err)
	}
	es := &openapi3.Schema{}
	if err := json.Unmarshal([]byte(errorSchema), es); err != nil {
		return nil, fmt.Errorf("apispec: error schema: %w", err)
	}
	return &Validator{router: router, errSchema: es}, nil
}

// Nullable lists the properties that Stytch's answers send as JSON null
// although the document types them as plain strings or objects: the
// document is generated from Stytch's API definitions, which do not mark
// optional fields nullable, while real answers carry null for an unset
// timestamp, identifier or nested object (see ../shared/stytch/wire-notes.md,
// "Empty values on the wire", and docs/emulator.md). Stytch's Go SDK decodes
// each of them into a pointer or a string, which accept null. Load marks
// them nullable; nothing else is relaxed.
var Nullable = []struct{ Schema, Property string }{
	{"api_user_v1_User", "external_id"},
	{"api_user_v1_User", "lock_created_at"},
	{"api_user_v1_User", "lock_expires_at"},
	{"api_user_v1_User", "password"},
	{"api_organization_v1_Member", "external_id"},
	{"api_organization_v1_Member", "lock_created_at"},
	{"api_organization_v1_Member", "lock_expires_at"},
	{"api_session_v1_ExchangeAccessTokenResponse", "user_device"},
	{"api_session_v1_MigrateResponse", "user_device"},
	{"api_session_v1_AttestResponse", "user_device"},
}

// applyNullable marks every property in Nullable nullable, on a copy of its
// schema so that other uses of a shared schema stay strict.
func applyNullable(doc *openapi3.T) error {
	for _, n := range Nullable {
		s := doc.Components.Schemas[n.Schema]
		if s == nil || s.Value == nil {
			return fmt.Errorf("apispec: nullable: no schema %s", n.Schema)
		}
		p := s.Value.Properties[n.Property]
		if p == nil || p.Value == nil {
			return fmt.Errorf("apispec: nullable: no property %s.%s", n.Schema, n.Property)
		}
		v := *p.Value
		v.Nullable = true
		s.Value.Properties[n.Property] = &openapi3.SchemaRef{Value: &v}
	}
	return nil
}

var opts = &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc}

// Check validates one exchange: the request against the operation's request
// schema, and the response's status and body. A 2xx body must match the
// operation's schema for that status. An error body must have Stytch's error
// shape, a status_code equal to the HTTP status, a status the operation
// documents or one Stytch's error catalogue gives these endpoints (403, 404),
// and, for the error types the wire notes list, that type's status.
func (v *Validator) Check(req *http.Request, reqBody []byte, status int, header http.Header, body []byte) error {
	route, params, err := v.router.FindRoute(req)
	if err != nil {
		return fmt.Errorf("apispec: %s %s is not in the document: %w", req.Method, req.URL.Path, err)
	}
	in := &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route, Options: opts}
	if reqBody != nil {
		req.Body = io.NopCloser(bytes.NewReader(reqBody))
	}
	if err := openapi3filter.ValidateRequest(context.Background(), in); err != nil {
		return fmt.Errorf("apispec: request %s %s: %w", req.Method, req.URL.Path, err)
	}
	if status >= 200 && status < 300 {
		out := &openapi3filter.ResponseValidationInput{
			RequestValidationInput: in,
			Status:                 status,
			Header:                 header,
			Body:                   io.NopCloser(bytes.NewReader(body)),
			Options:                &openapi3filter.Options{IncludeResponseStatus: true, AuthenticationFunc: openapi3filter.NoopAuthenticationFunc},
		}
		if err := openapi3filter.ValidateResponse(context.Background(), out); err != nil {
			return fmt.Errorf("apispec: response %d to %s %s: %w", status, req.Method, req.URL.Path, err)
		}
		return nil
	}
	return v.checkError(route, req, status, header, body)
}

func (v *Validator) checkError(route *routers.Route, req *http.Request, status int, header http.Header, body []byte) error {
	where := fmt.Sprintf("apispec: error %d to %s %s", status, req.Method, req.URL.Path)
	if ct := header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		return fmt.Errorf("%s: content type %q", where, ct)
	}
	var doc any
	if err := json.Unmarshal(body, &doc); err != nil {
		return fmt.Errorf("%s: body is not JSON: %w", where, err)
	}
	if err := v.errSchema.VisitJSON(doc); err != nil {
		return fmt.Errorf("%s: body: %w", where, err)
	}
	var e struct {
		StatusCode int    `json:"status_code"`
		ErrorType  string `json:"error_type"`
	}
	_ = json.Unmarshal(body, &e)
	if e.StatusCode != status {
		return fmt.Errorf("%s: body status_code %d", where, e.StatusCode)
	}
	if want, ok := errorStatuses[e.ErrorType]; ok && want != status {
		return fmt.Errorf("%s: error_type %s goes with %d", where, e.ErrorType, want)
	}
	documented := route.Operation.Responses.Status(status) != nil
	if !documented && status != http.StatusForbidden && status != http.StatusNotFound {
		return fmt.Errorf("%s: status not documented for the operation", where)
	}
	return nil
}

// Transport returns a RoundTripper that sends through next (nil:
// http.DefaultTransport) and checks every exchange on a path the document
// describes, handing each failure to report. Exchanges under /_emulator/ are
// passed through unchecked.
func (v *Validator) Transport(next http.RoundTripper, report func(error)) http.RoundTripper {
	if next == nil {
		next = http.DefaultTransport
	}
	return roundTripper(func(req *http.Request) (*http.Response, error) {
		var reqBody []byte
		if req.Body != nil {
			b, err := io.ReadAll(req.Body)
			req.Body.Close()
			if err != nil {
				return nil, err
			}
			reqBody = b
			req.Body = io.NopCloser(bytes.NewReader(b))
		}
		resp, err := next.RoundTrip(req)
		if err != nil || strings.HasPrefix(req.URL.Path, "/_emulator/") {
			return resp, err
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			return nil, err
		}
		resp.Body = io.NopCloser(bytes.NewReader(body))
		check := req.Clone(req.Context())
		if cerr := v.Check(check, reqBody, resp.StatusCode, resp.Header, body); cerr != nil {
			report(cerr)
		}
		return resp, nil
	})
}

type roundTripper func(*http.Request) (*http.Response, error)

func (f roundTripper) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }
