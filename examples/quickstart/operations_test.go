package quickstart_test

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/stytchguard/stytchguard/examples/internal/demotest"
)

// TestOperationsAgainstTheEmulator runs the nethttp demo beside the
// standalone emulator as an operator would: /readyz answers 503 while the
// emulator's JWKS fails at start and 200 once it serves again, and
// /metrics, on the admin listener only, shows the decision counters move
// under a loop of requests.
func TestOperationsAgainstTheEmulator(t *testing.T) {
	if testing.Short() {
		t.Skip("builds two binaries")
	}
	t.Parallel() // most of it is the wait for the JWKS to be fetched again
	emu := startEmulator(t, binary(t, "stytch-emulator"))
	admin := func(method, path, body string) {
		t.Helper()
		req, _ := http.NewRequest(method, emu.BaseURL+"/_emulator/"+path, strings.NewReader(body))
		req.SetBasicAuth(emu.ProjectID, emu.Secret)
		res, err := http.DefaultClient.Do(req)
		if err != nil || res.StatusCode != 200 {
			t.Fatalf("%s /_emulator/%s: %v %v", method, path, res, err)
		}
		res.Body.Close()
	}
	admin("POST", "faults", `{"endpoint":"sessions.jwks","status":503}`)
	adminAddr := freeAddr(t)
	app, logs := startDemo(t, binary(t, "demo/nethttp"), emu, "-admin-addr", adminAddr)
	// It said so before it listened, but its output may reach logs later.
	demotest.Await(t, "the app to say where its admin listener is", func() (string, bool) {
		return logs.String(), strings.Contains(logs.String(), "admin listening on http://"+adminAddr+" ")
	})
	adminURL := "http://" + adminAddr

	get := func(path, token string) (int, string) {
		t.Helper()
		base := app
		if after, ok := strings.CutPrefix(path, "admin:"); ok {
			base, path = adminURL, after
		}
		req, _ := http.NewRequest("GET", base+path, nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(b)
	}
	if code, body := get("/readyz", ""); code != 503 || !strings.Contains(body, `"jwtlocal: `) {
		t.Fatalf("readiness while the JWKS fails: %d %s", code, body)
	}
	admin("DELETE", "faults", "")
	// A failed fetch is tried again after 10 s.
	demotest.Await(t, "/readyz to answer ready once the JWKS serves", func() (string, bool) {
		code, body := get("/readyz", "")
		return fmt.Sprintf("%d %s; the app's log:\n%s", code, body, logs.String()), code == 200 && body == "{\"ready\":true}\n"
	})

	if code, _ := get("/metrics", ""); code != http.StatusNotFound {
		t.Fatalf("/metrics on the public listener: %d", code)
	}
	token := signIn(t, emu, "viewer")
	counted := regexp.MustCompile(`(?m)^stytchguard_decisions_total\{[^}]*stytchguard_outcome="authenticated"[^}]*\} (\d+)$`)
	total := func() int {
		_, body := get("admin:/metrics", "")
		n := 0
		for _, m := range counted.FindAllStringSubmatch(body, -1) {
			v, _ := strconv.Atoi(m[1])
			n += v
		}
		return n
	}
	before := total()
	for range 20 {
		if code, body := get("/documents", token); code != 200 {
			t.Fatalf("GET /documents: %d %s", code, body)
		}
	}
	if after := total(); after-before != 20 {
		t.Fatalf("authenticated decisions went from %d to %d over 20 requests", before, after)
	}
	if _, body := get("admin:/metrics", ""); bytes.Contains([]byte(body), []byte(token)) {
		t.Fatal("a session token in /metrics")
	}
}
