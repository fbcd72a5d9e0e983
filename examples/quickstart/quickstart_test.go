// Package quickstart_test runs README's quickstarts as a newcomer does:
// built as they are, started beside cmd/stytch-emulator with the variables
// it prints, and driven over HTTP.
package quickstart_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
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

	"github.com/stytchguard/stytchguard/examples/internal/demotest"
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
	t.Parallel()
	emu := startEmulator(t, binary(t, "stytch-emulator"))

	tests := []struct {
		name, bin, token, me, write string
	}{
		{"net/http", "nethttp", emu.Demo.Consumer.SessionToken, "/me", "/documents"},
		{"chi", "chi", emu.Demo.B2B.SessionToken, "/orgs/" + emu.Demo.B2B.OrganizationID + "/documents", "/orgs/" + emu.Demo.B2B.OrganizationID + "/documents"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			app, _ := startApp(t, binary(t, tt.bin), emu.BaseURL, emu)
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
	t.Run("dead base URL", func(t *testing.T) {
		t.Parallel()
		dead := freeAddr(t)
		app, logs := startApp(t, binary(t, "nethttp"), "http://"+dead, emu)
		if got := request(t, "GET", app+"/me", emu.Demo.Consumer.SessionToken); got != 503 {
			t.Fatalf("against a dead base URL: %d, want 503", got)
		}
		demotest.Await(t, "a log line naming STYTCH_BASE_URL", func() (string, bool) {
			l := logs.String()
			return l, strings.Contains(l, "STYTCH_BASE_URL")
		})
	})
}

// binaries are the programs this package's tests run, built once for all
// of them by the first test that needs one (see TestMain).
type binaries struct {
	once sync.Once
	dir  string
	err  error
}

// built is the package's binaries; TestMain sets its directory and
// removes it at the end.
var built binaries

// programs are the packages built, by the name a test asks for: the
// quickstarts, the framework examples and the demos beside the emulator.
var programs = map[string]string{
	"stytch-emulator": "github.com/stytchguard/stytchguard/cmd/stytch-emulator",
	"nethttp":         "./nethttp",
	"chi":             "./chi",
	"gin":             "../gin",
	"echo":            "../echo",
	"grpc":            "../grpc",
	"demo/nethttp":    "../nethttp",
}

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "stytchguard-quickstart-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	built.dir = dir
	code := m.Run()
	_ = os.RemoveAll(dir)
	os.Exit(code)
}

// binary returns the path of the program name (a key of programs). The
// first call builds them all with as few go builds as their names allow
// (a go build compiles and links its packages in parallel); a build
// failure fails every test that asks.
func binary(t *testing.T, name string) string {
	t.Helper()
	built.once.Do(func() {
		// One go build per output directory: programs whose last path
		// element is the same (two nethttp) need two.
		byDir := map[string][]string{}
		for n, pkg := range programs {
			d := filepath.Join(built.dir, filepath.Dir(n))
			byDir[d] = append(byDir[d], pkg)
		}
		var wg sync.WaitGroup
		var mu sync.Mutex
		for d, pkgs := range byDir {
			wg.Go(func() {
				cmd := exec.Command("go", append([]string{"build", "-o", d + string(filepath.Separator)}, pkgs...)...)
				if b, err := cmd.CombinedOutput(); err != nil {
					mu.Lock()
					built.err = errors.Join(built.err, fmt.Errorf("go build %v: %w\n%s", pkgs, err, b))
					mu.Unlock()
				}
			})
		}
		wg.Wait()
	})
	if built.err != nil {
		t.Fatal(built.err)
	}
	if _, ok := programs[name]; !ok {
		t.Fatalf("no program %q", name)
	}
	return filepath.Join(built.dir, name)
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
	demotest.Await(t, path+" to listen on "+addr, func() (string, bool) {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err != nil {
			return fmt.Sprintf("%v; its log:\n%s", err, logs.String()), false
		}
		c.Close()
		return "", true
	})
	return "http://" + addr, logs
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
