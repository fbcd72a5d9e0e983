// Package quickstart_test runs README's quickstarts as a newcomer does:
// built as they are, started beside cmd/stytch-emulator with the variables
// it prints, and driven over HTTP.
package quickstart_test

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// banner is the part of the emulator's first line the quickstarts need.
type banner struct {
	BaseURL   string `json:"base_url"`
	ProjectID string `json:"project_id"`
	Secret    string `json:"secret"`
	Demo      struct {
		Consumer struct {
			SessionToken string `json:"session_token"`
		} `json:"consumer"`
		B2B struct {
			OrganizationID string `json:"organization_id"`
			SessionToken   string `json:"session_token"`
		} `json:"b2b"`
	} `json:"demo"`
}

func TestQuickstartsAgainstTheEmulator(t *testing.T) {
	if testing.Short() {
		t.Skip("builds three binaries")
	}
	bin := t.TempDir()
	build(t, filepath.Join(bin, "emulator"), "github.com/stytchguard/stytchguard/cmd/stytch-emulator")
	build(t, filepath.Join(bin, "nethttp"), "./nethttp")
	build(t, filepath.Join(bin, "chi"), "./chi")
	emu := startEmulator(t, filepath.Join(bin, "emulator"))

	tests := []struct {
		name, bin, token, me, write string
	}{
		{"net/http", "nethttp", emu.Demo.Consumer.SessionToken, "/me", "/documents"},
		{"chi", "chi", emu.Demo.B2B.SessionToken, "/orgs/" + emu.Demo.B2B.OrganizationID + "/documents", "/orgs/" + emu.Demo.B2B.OrganizationID + "/documents"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			app, _ := startApp(t, filepath.Join(bin, tt.bin), emu.BaseURL, emu)
			for _, c := range []struct {
				method, path, token string
				want                int
			}{
				{"GET", tt.me, tt.token, 200},
				{"POST", tt.write, tt.token, 200}, // the demo user is an editor
				{"GET", tt.me, "", 401},
				{"GET", tt.me, "not-a-session-token", 401},
			} {
				if got := request(t, c.method, app+c.path, c.token); got != c.want {
					t.Fatalf("%s %s: %d, want %d", c.method, c.path, got, c.want)
				}
			}
		})
	}

	// A base URL where no Stytch answers: the request is a 503, and the log
	// says what to check.
	dead := freeAddr(t)
	app, logs := startApp(t, filepath.Join(bin, "nethttp"), "http://"+dead, emu)
	if got := request(t, "GET", app+"/me", emu.Demo.Consumer.SessionToken); got != 503 {
		t.Fatalf("against a dead base URL: %d, want 503", got)
	}
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(logs.String(), "STYTCH_BASE_URL") {
		if time.Now().After(deadline) {
			t.Fatalf("nothing in the log names STYTCH_BASE_URL:\n%s", logs.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// build compiles pkg to out.
func build(t *testing.T, out, pkg string) {
	t.Helper()
	cmd := exec.Command("go", "build", "-o", out, pkg)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build %s: %v\n%s", pkg, err, b)
	}
}

// startEmulator starts the emulator binary and returns its banner.
func startEmulator(t *testing.T, path string) banner {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, path, "-addr", "127.0.0.1:0")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cancel(); _ = cmd.Wait() })
	out := bufio.NewReader(stdout)
	line, err := out.ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	go func() { _, _ = io.Copy(io.Discard, out) }()
	var b banner
	if err := json.Unmarshal([]byte(line), &b); err != nil {
		t.Fatalf("banner %q: %v", line, err)
	}
	return b
}

// startApp starts a quickstart with the emulator's variables and baseURL,
// on a free port, and returns its URL and what it logs.
func startApp(t *testing.T, path, baseURL string, emu banner) (string, *syncBuffer) {
	t.Helper()
	addr := freeAddr(t)
	return start(t, path, addr, []string{"STYTCH_PROJECT_ID=" + emu.ProjectID, "STYTCH_SECRET=" + emu.Secret, "STYTCH_BASE_URL=" + baseURL, "ADDR=" + addr})
}

// startDemo starts a demo app (examples/nethttp, examples/chi-app) against
// the emulator, on a free port given with -addr, with args.
func startDemo(t *testing.T, path string, emu banner, args ...string) (string, *syncBuffer) {
	t.Helper()
	addr := freeAddr(t)
	return start(t, path, addr, []string{"STYTCH_PROJECT_ID=" + emu.ProjectID, "STYTCH_SECRET=" + emu.Secret, "STYTCH_BASE_URL=" + emu.BaseURL}, append([]string{"-addr", addr}, args...)...)
}

// start runs path with env and args until the test ends, and returns its
// URL once it listens on addr, and what it logs.
func start(t *testing.T, path, addr string, env []string, args ...string) (string, *syncBuffer) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, path, args...)
	cmd.Env = append(os.Environ(), env...)
	logs := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cancel(); _ = cmd.Wait() })
	deadline := time.Now().Add(20 * time.Second)
	for {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			c.Close()
			return "http://" + addr, logs
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s never listened on %s:\n%s", path, addr, logs.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// freeAddr returns a loopback address nothing listens on.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// request sends one request with token as its Bearer credential (none when
// empty) and returns the status.
func request(t *testing.T, method, url, token string) int {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	_, _ = io.Copy(io.Discard, res.Body)
	return res.StatusCode
}

// syncBuffer is a buffer a process writes to while the test reads it.
type syncBuffer struct {
	mu  sync.Mutex
	buf strings.Builder
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
