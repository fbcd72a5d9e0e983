package demo_test

import (
	"fmt"

	"github.com/stytchguard/stytchguard/examples/internal/demo"
)

func ExamplePolicy() {
	for _, r := range demo.Policy().Roles {
		fmt.Println(r.RoleID, r.Permissions[0].Actions)
	}
	// Output:
	// viewer [read]
	// editor [read write]
}

func ExampleLocalPath() {
	for _, p := range []string{"/orgs/acme/documents", "//evil.example", "https://evil.example", "/\\evil.example"} {
		fmt.Println(demo.LocalPath(p))
	}
	// Output:
	// /orgs/acme/documents
	// /
	// /
	// /
}
