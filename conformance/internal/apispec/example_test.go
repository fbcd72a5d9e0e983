package apispec_test

import (
	"fmt"
	"net/http"

	"github.com/stytchguard/stytchguard/conformance/internal/apispec"
)

func ExampleValidator_Check() {
	v, err := apispec.Load()
	if err != nil {
		panic(err)
	}
	req, _ := http.NewRequest("GET", "http://127.0.0.1/v1/rbac/policy", nil)
	err = v.Check(req, nil, 200, http.Header{"Content-Type": {"application/json"}}, []byte(`{"status_code":200}`))
	fmt.Println(err != nil)
	// Output: true
}
