package preflight_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stytchguard/stytchguard/internal/preflight"
)

func TestServe(t *testing.T) {
	for _, tt := range []struct {
		name       string
		method     string
		acrm       string
		passed     bool
		handled    bool
		nextRan    bool
		wantStatus int
	}{
		{"a preflight", http.MethodOptions, "POST", false, true, false, 204},
		{"a preflight passed on", http.MethodOptions, "POST", true, true, true, 200},
		{"OPTIONS without Access-Control-Request-Method", http.MethodOptions, "", false, false, false, 200},
		{"a GET naming a method", http.MethodGet, "POST", false, false, false, 200},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(tt.method, "/", nil)
			if tt.acrm != "" {
				r.Header.Set("Access-Control-Request-Method", tt.acrm)
			}
			if tt.passed {
				r = r.WithContext(preflight.Pass(r.Context()))
			}
			ran := false
			rec := httptest.NewRecorder()
			handled := preflight.Serve(rec, r, http.HandlerFunc(func(http.ResponseWriter, *http.Request) { ran = true }))
			if handled != tt.handled || ran != tt.nextRan || rec.Code != tt.wantStatus || rec.Body.Len() != 0 {
				t.Fatalf("handled %v, next ran %v, %d %q; want %v, %v, %d", handled, ran, rec.Code, rec.Body, tt.handled, tt.nextRan, tt.wantStatus)
			}
		})
	}
}
