package stytchtest_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/golang-jwt/jwt/v5"

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

// An access token bound to the MCP server it was requested for (RFC 8707):
// aud holds the resource after the project id.
func ExampleEmulator_IssueConnectedAppTokenWith() {
	e := stytchtest.New(stytchtest.WithProjectID("project-test-11111111-1111-4111-8111-111111111111"))
	defer e.Close()
	user := e.CreateUser(stytchtest.UserParams{Email: "ada@example.com"})
	agent, err := e.RegisterConnectedApp("agent", false, "http://127.0.0.1:9/callback")
	if err != nil {
		panic(err)
	}
	token, err := e.IssueConnectedAppTokenWith(stytchtest.ConnectedAppTokenParams{
		SubjectID: user.UserID, ClientID: agent.ClientID, Scopes: []string{"openid"},
		Resources: []string{"https://mcp.example.com/mcp"},
	})
	if err != nil {
		panic(err)
	}
	claims := jwt.MapClaims{}
	if _, _, err := jwt.NewParser().ParseUnverified(token, claims); err != nil {
		panic(err)
	}
	fmt.Println(claims["aud"])
	// Output: [project-test-11111111-1111-4111-8111-111111111111 https://mcp.example.com/mcp]
}
