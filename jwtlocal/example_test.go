package jwtlocal_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/stytchguard/stytchguard/jwtlocal"
	"github.com/stytchguard/stytchguard/stytchtest"
)

func Example() {
	srv := stytchtest.NewServer() // stands in for Stytch
	defer srv.Close()
	user := srv.CreateUser(stytchtest.UserParams{Email: "ada@example.com"})
	tokens, _ := srv.StartSession(user.UserID, stytchtest.SessionParams{})

	v, err := jwtlocal.New(jwtlocal.Config{Client: srv.Client(), Now: srv.Now})
	if err != nil {
		panic(err)
	}
	defer v.Close()

	got, err := v.Verify(context.Background(), tokens.SessionJWT)
	fmt.Println(err, got.Consumer.UserID == user.UserID)

	// Five minutes later the JWT is stale: ask Stytch, which mints a new one.
	srv.Advance(5 * time.Minute)
	_, err = v.Verify(context.Background(), tokens.SessionJWT)
	fmt.Println(errors.Is(err, jwtlocal.ErrStale))

	// Garbage is invalid: never worth a call to Stytch.
	_, err = v.Verify(context.Background(), "not-a-jwt")
	fmt.Println(errors.Is(err, jwtlocal.ErrInvalid))
	// Output:
	// <nil> true
	// true
	// true
}
