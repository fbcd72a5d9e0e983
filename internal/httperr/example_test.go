package httperr_test

import (
	"fmt"
	"net/http/httptest"

	"github.com/stytchguard/stytchguard/internal/httperr"
)

func ExampleWrite() {
	rec := httptest.NewRecorder()
	httperr.Write(rec, 403, "session_authorization_error", "The member is not authorized to perform the requested action.")
	fmt.Println(rec.Code, rec.Header().Get("Content-Type"))
	// Output: 403 application/json
}
