package preflight_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"

	"github.com/stytchguard/stytchguard/internal/preflight"
)

func ExampleServe() {
	guarded := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Println("next ran") })
	guard := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if preflight.Serve(w, r, guarded) {
			return
		}
		// ... the guard's own decision ...
	})
	r := httptest.NewRequest(http.MethodOptions, "/api/documents", nil)
	r.Header.Set("Access-Control-Request-Method", "POST")
	rec := httptest.NewRecorder()
	guard.ServeHTTP(rec, r)
	fmt.Println(rec.Code, rec.Body.Len())
	// Output: 204 0
}
