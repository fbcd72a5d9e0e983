package quickstart_test

import (
	"bytes"
	"io"
	"net/http"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
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
	bin := t.TempDir()
	build(t, filepath.Join(bin, "emulator"), "github.com/stytchguard/stytchguard/cmd/stytch-emulator")
	build(t, filepath.Join(bin, "nethttp"), "../nethttp")
	emu := startEmulator(t, filepath.Join(bin, "emulator"))
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
	app, logs := startDemo(t, filepath.Join(bin, "nethttp"), emu, "-admin-addr", adminAddr)
	// It said so before it listened, but its output may reach logs later.
	for said := time.Now().Add(10 * time.Second); !strings.Contains(logs.String(), "admin listening on http://"+adminAddr+" "); {
		if time.Now().After(said) {
			t.Fatalf("the app does not say where its admin listener is:\n%s", logs.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
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
	deadline := time.Now().Add(20 * time.Second) // a failed fetch is tried again after 10 s
	for {
		code, body := get("/readyz", "")
		if code == 200 && body == "{\"ready\":true}\n" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("not ready once the JWKS serves: %d %s\n%s", code, body, logs.String())
		}
		time.Sleep(250 * time.Millisecond)
	}

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
