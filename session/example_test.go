package session_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/stytchguard/stytchguard/session"
	"github.com/stytchguard/stytchguard/stytchtest"
)

func Example() {
	srv := stytchtest.NewServer() // stands in for Stytch; use your project's id and secret instead
	defer srv.Close()
	user := srv.CreateUser(stytchtest.UserParams{Email: "ada@example.com"})
	tokens, _ := srv.StartSession(user.UserID, stytchtest.SessionParams{})

	client, err := session.New(session.Config{
		ProjectID: srv.ProjectID(),
		Secret:    srv.Secret(),
		BaseURL:   srv.URL, // omit for Stytch itself
	})
	if err != nil {
		panic(err)
	}
	res, err := client.Consumer.Authenticate(context.Background(), session.AuthenticateParams{SessionToken: tokens.SessionToken})
	switch {
	case errors.Is(err, session.ErrSessionGone):
		fmt.Println("signed out: clear the cookies")
	case errors.Is(err, session.ErrUnavailable):
		fmt.Println("Stytch unavailable: answer 503, keep the cookies")
	case err != nil:
		panic(err)
	default:
		fmt.Println(res.User.UserID == user.UserID, res.Session.Roles)
	}
	// Output: true [stytch_user]
}

// Every error of a call matches at most one of the sentinels.
func ExampleAPIError() {
	err := fmt.Errorf("authenticate: %w", &session.APIError{StatusCode: 404, ErrorType: "session_not_found"})
	fmt.Println(errors.Is(err, session.ErrSessionGone), errors.Is(err, session.ErrUnavailable))
	// Output: true false
}

// A support agent impersonating a user from Stytch's dashboard shows in the
// session's factors; an app can show a banner, or refuse what only the
// owner may do.
func ExampleSession_Impersonator() {
	s := session.Session{AuthenticationFactors: []session.AuthenticationFactor{{
		Type: "impersonated", DeliveryMethod: "impersonation",
		ImpersonatedFactor: &session.ImpersonatedFactor{ImpersonatorID: "dashboard-user-1", ImpersonatorEmailAddress: "support@example.com"},
	}}}
	if who := s.Impersonator(); who != nil {
		fmt.Println("impersonated by", who.ImpersonatorEmailAddress)
	}
	// Output: impersonated by support@example.com
}
