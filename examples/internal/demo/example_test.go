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
