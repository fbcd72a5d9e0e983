package session_test

import (
	"context"
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
	switch session.Classify(err) {
	case session.KindSessionGone:
		fmt.Println("signed out: clear the cookies")
	case session.KindUnavailable:
		fmt.Println("Stytch unavailable: answer 503, keep the cookies")
	default:
		if err != nil {
			panic(err)
		}
		fmt.Println(res.User.UserID == user.UserID, res.Session.Roles)
	}
	// Output: true [stytch_user]
}

func ExampleClassify() {
	err := &session.APIError{StatusCode: 404, ErrorType: session.ErrorTypeSessionNotFound}
	fmt.Println(session.Classify(err))
	// Output: session_gone
}

// A support agent impersonating a user from Stytch's dashboard shows in the
// session's factors; an app can show a banner, or refuse what only the
// owner may do.
func ExampleSession_Impersonator() {
	s := session.Session{AuthenticationFactors: []session.AuthenticationFactor{{
		Type: session.FactorImpersonated, DeliveryMethod: "impersonation",
		ImpersonatedFactor: &session.ImpersonatedFactor{ImpersonatorID: "dashboard-user-1", ImpersonatorEmailAddress: "support@example.com"},
	}}}
	if who := s.Impersonator(); who != nil {
		fmt.Println("impersonated by", who.ImpersonatorEmailAddress)
	}
	// Output: impersonated by support@example.com
}
