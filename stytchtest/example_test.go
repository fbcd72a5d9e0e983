package stytchtest_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/stytchguard/stytchguard/session"
	"github.com/stytchguard/stytchguard/stytchtest"
)

func Example() {
	srv := stytchtest.NewServer()
	defer srv.Close()

	user := srv.CreateUser(stytchtest.UserParams{Email: "ada@example.com"})
	tokens, err := srv.StartSession(user.UserID, stytchtest.SessionParams{Duration: time.Hour})
	if err != nil {
		panic(err)
	}

	client := srv.Client()
	ctx := context.Background()
	res, err := client.Consumer.Authenticate(ctx, session.AuthenticateParams{SessionToken: tokens.SessionToken})
	fmt.Println(err, res.Session.SessionID == tokens.SessionID)

	// An hour later the session is over.
	srv.Advance(61 * time.Minute)
	_, err = client.Consumer.Authenticate(ctx, session.AuthenticateParams{SessionToken: tokens.SessionToken})
	fmt.Println(errors.Is(err, session.ErrSessionGone))
	// Output:
	// <nil> true
	// true
}

func ExampleEmulator_InjectFault() {
	srv := stytchtest.NewServer()
	defer srv.Close()
	client := srv.Client()

	// Stytch answers the next two calls with 503: the client retries.
	srv.InjectFault(stytchtest.Policy, stytchtest.Fault{Status: 503, Times: 2})
	_, err := client.Consumer.Policy(context.Background())
	fmt.Println(err, srv.Calls(stytchtest.Policy))
	// Output: <nil> 3
}
