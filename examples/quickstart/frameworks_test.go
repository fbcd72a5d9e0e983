package quickstart_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"os/exec"
	"strings"
	"testing"
)

// TestFrameworkExamplesAgainstTheEmulator builds the gin, Echo and gRPC
// examples and tells each the story over the wire, as README shows it: a
// viewer signs in (the emulator's admin API stands in for the login page),
// reads, is refused a write, logs out, and is refused after. The gRPC
// example is driven through its own client (-call); its revoked session
// is Unauthenticated.
func TestFrameworkExamplesAgainstTheEmulator(t *testing.T) {
	if testing.Short() {
		t.Skip("builds four binaries")
	}
	t.Parallel()
	emu := startEmulator(t, binary(t, "stytch-emulator"))

	for _, name := range []string{"gin", "echo"} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			app, _ := startApp(t, binary(t, name), emu.BaseURL, emu)
			viewer := signIn(t, emu, "viewer")
			for _, c := range []struct {
				method, path, token string
				want                int
			}{
				{"GET", "/me", "", 401},
				{"GET", "/me", viewer, 200},
				{"GET", "/documents", viewer, 200},
				{"POST", "/documents", viewer, 403},
				{"POST", "/documents", emu.Demo.Consumer.SessionToken, 200}, // the demo user is an editor
				{"GET", "/reports", viewer, 403},                            // a person on a machine route
				{"POST", "/logout", viewer, 204},
				{"GET", "/me", viewer, 401},
			} {
				if got := request(t, c.method, app+c.path, c.token); got != c.want {
					t.Fatalf("%s %s: %d, want %d", c.method, c.path, got, c.want)
				}
			}
		})
	}

	t.Run("grpc", func(t *testing.T) {
		t.Parallel()
		grpc := binary(t, "grpc")
		app, logs := startApp(t, grpc, emu.BaseURL, emu)
		addr := strings.TrimPrefix(app, "http://")
		viewer := signIn(t, emu, "viewer")
		call := func(method, token string) (string, error) {
			cmd := exec.Command(grpc, "-call", method)
			cmd.Env = []string{"ADDR=" + addr, "TOKEN=" + token}
			out, err := cmd.CombinedOutput()
			return strings.TrimSpace(string(out)), err
		}
		for _, c := range []struct {
			method, token, want string
		}{
			{"/demo.Documents/Me", viewer, "user "},
			{"/demo.Documents/Read", viewer, "user "},
			{"/demo.Documents/Write", viewer, "PermissionDenied"},
			{"/demo.Documents/Me", "", "Unauthenticated"},
		} {
			if got, _ := call(c.method, c.token); !strings.HasPrefix(got, c.want) {
				t.Fatalf("%s: %q, want %q\n%s", c.method, got, c.want, logs.String())
			}
		}
		// Revoked at Stytch (its own sessions/revoke, with the project's
		// secret), as another service or the dashboard would: the token is
		// Unauthenticated. (A token this server has asked about within
		// Upstream.RemoteTTL, a minute, is taken on Stytch's recent answer
		// until then; a logout through the app's own handler, or on
		// another instance sharing a store, is seen at once.)
		revoked := signIn(t, emu, "viewer")
		body, _ := json.Marshal(map[string]string{"session_token": revoked})
		req, _ := http.NewRequest("POST", emu.BaseURL+"/v1/sessions/revoke", bytes.NewReader(body))
		req.SetBasicAuth(emu.ProjectID, emu.Secret)
		req.Header.Set("Content-Type", "application/json")
		res, err := http.DefaultClient.Do(req)
		if err != nil || res.StatusCode != 200 {
			t.Fatalf("revoke: %v %v", res, err)
		}
		res.Body.Close()
		if got, _ := call("/demo.Documents/Me", revoked); !strings.HasPrefix(got, "Unauthenticated") {
			t.Fatalf("a revoked session: %q, want Unauthenticated", got)
		}
	})
}

// signIn creates a user with role through the emulator's admin API and
// returns a session token of theirs.
func signIn(t *testing.T, emu banner, role string) string {
	t.Helper()
	post := func(path string, in, out any) {
		body, _ := json.Marshal(in)
		req, _ := http.NewRequest("POST", emu.BaseURL+"/_emulator/"+path, bytes.NewReader(body))
		req.SetBasicAuth(emu.ProjectID, emu.Secret)
		req.Header.Set("Content-Type", "application/json")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		if res.StatusCode != 200 {
			t.Fatalf("POST /_emulator/%s: %d", path, res.StatusCode)
		}
		if err := json.NewDecoder(res.Body).Decode(out); err != nil {
			t.Fatal(err)
		}
	}
	var created struct {
		User struct {
			UserID string `json:"user_id"`
		} `json:"user"`
	}
	post("users", map[string]any{"email": role + "@example.com", "roles": []string{role}}, &created)
	var s struct {
		SessionToken string `json:"session_token"`
	}
	post("sessions", map[string]any{"user_id": created.User.UserID}, &s)
	return s.SessionToken
}
