package adaptertest_test

import (
	"fmt"

	"github.com/stytchguard/stytchguard"
	"github.com/stytchguard/stytchguard/internal/adaptertest"
	"github.com/stytchguard/stytchguard/session"
)

// Who is what every adapter's handler answers: the story checks it to
// know that the adapter's accessors found the session the guards put in
// the request's context.
func ExampleWho() {
	consumer := &stytchguard.ConsumerAuth{Session: session.Session{UserID: "user-test-1"}}
	fmt.Println(adaptertest.Who(consumer, nil, nil))
	fmt.Println(adaptertest.Who(nil, nil, nil))
	// Output:
	// user user-test-1
	// anonymous
}
