package bench

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stytchguard/stytchguard"
	"github.com/stytchguard/stytchguard/authz"
	"github.com/stytchguard/stytchguard/middleware"
	"github.com/stytchguard/stytchguard/session"
)

// The end-to-end benchmark: real HTTP over loopback. The server runs in a
// child process (this test binary again, as TestServeHTTPChild), so that
// its CPU time can be told from the load generator's, which shares the same
// 2 cores.

// httpConns is how many keep-alive connections the generator keeps busy.
const httpConns = 16

// servers are the handlers the child can serve: each writes the user id.
var servers = []string{"bare", "stytchguard", "stytchguard+authz", "go-jwt-middleware", "hand-rolled"}

// writeUser is the protected handler: it writes the session's user id.
var writeUser = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	if c, ok := stytchguard.ConsumerFromContext(r.Context()); ok {
		_, _ = io.WriteString(w, c.Session.UserID)
		return
	}
	if s, ok := FromContext(r.Context()); ok {
		_, _ = io.WriteString(w, s.UserID)
		return
	}
	w.WriteHeader(http.StatusInternalServerError)
})

// childHandler builds the handler the child serves for name.
func childHandler(ctx context.Context, name string, p Project, secret, userID string) (http.Handler, error) {
	client, err := session.New(session.Config{ProjectID: p.ID, Secret: secret, BaseURL: p.BaseURL})
	if err != nil {
		return nil, err
	}
	switch name {
	case "bare":
		// No authentication: the user id is known in advance, as a server
		// without stytchguard would write something.
		return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, userID) }), nil
	case "stytchguard", "stytchguard+authz":
		mw, err := middleware.New(middleware.Config{Client: client})
		if err != nil {
			return nil, err
		}
		if name == "stytchguard" {
			return mw.Require(writeUser), nil
		}
		az, err := authz.New(authz.Config{Client: client})
		if err != nil {
			return nil, err
		}
		return mw.Require(az.Require("documents", "read")(writeUser)), nil
	case "go-jwt-middleware":
		return Auth0(p, writeUser)
	case "hand-rolled":
		return HandRolled(ctx, p, 300*time.Second, writeUser)
	}
	return nil, fmt.Errorf("no server %q", name)
}

// TestServeHTTPChild is the child's side: with BENCH_HTTP_SERVE set, it
// serves that handler on a loopback port, prints the address, and serves
// until its standard input closes. Otherwise it does nothing.
func TestServeHTTPChild(t *testing.T) {
	name := os.Getenv("BENCH_HTTP_SERVE")
	if name == "" {
		t.Skip("the end-to-end benchmark's server; run by BenchmarkHTTP")
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	p := Project{ID: os.Getenv("BENCH_PROJECT"), BaseURL: os.Getenv("BENCH_BASE_URL"), JWKSURL: os.Getenv("BENCH_JWKS_URL")}
	h, err := childHandler(ctx, name, p, os.Getenv("BENCH_SECRET"), os.Getenv("BENCH_USER"))
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	fmt.Printf("listening %s\n", ln.Addr())
	_, _ = io.Copy(io.Discard, os.Stdin)
	sctx, scancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer scancel()
	_ = srv.Shutdown(sctx)
}

// child is a running server process.
type child struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
	addr  string
}

func startChild(b *testing.B, f *fixture, name string) *child {
	b.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestServeHTTPChild$", "-test.count=1")
	cmd.Env = append(os.Environ(),
		"BENCH_HTTP_SERVE="+name, "BENCH_PROJECT="+f.proj.ID, "BENCH_SECRET="+f.srv.Secret(),
		"BENCH_BASE_URL="+f.proj.BaseURL, "BENCH_JWKS_URL="+f.proj.JWKSURL, "BENCH_USER="+f.user.UserID)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		b.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	c := &child{cmd: cmd, stdin: stdin}
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		if a, ok := strings.CutPrefix(sc.Text(), "listening "); ok {
			c.addr = a
			break
		}
	}
	if c.addr == "" {
		_ = cmd.Process.Kill()
		b.Fatalf("the %s server did not start", name)
	}
	go func() { _, _ = io.Copy(io.Discard, out) }()
	b.Cleanup(func() {
		stdin.Close()
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
		}
	})
	return c
}

// cpuTime is a process's user+system CPU time so far, from /proc.
func cpuTime(pid int) (time.Duration, error) {
	raw, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, err
	}
	// Fields after the command name, which is in parentheses and may hold
	// spaces: utime and stime are the 12th and 13th of them.
	rest := string(raw[strings.LastIndexByte(string(raw), ')')+2:])
	fields := strings.Fields(rest)
	if len(fields) < 13 {
		return 0, fmt.Errorf("/proc/%d/stat: %d fields", pid, len(fields))
	}
	var ticks int64
	for _, s := range fields[11:13] {
		v, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return 0, err
		}
		ticks += v
	}
	return time.Duration(ticks) * time.Second / 100, nil // USER_HZ is 100 on Linux
}

// selfCPU is this process's user+system CPU time so far.
func selfCPU() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkHTTP: the whole request over loopback, httpConns keep-alive
// connections at once, the mix of 1,024 session JWT cookies, the handler
// writing the user id; for bare net/http (no authentication), stytchguard,
// stytchguard with an authz guard, go-jwt-middleware and the hand-rolled
// path. It reports requests per second, p50 and p99 latency, and the CPU
// time per request of the server process and of the load generator (this
// process), which share the machine's cores.
func BenchmarkHTTP(b *testing.B) {
	f := newFixture(b)
	for _, name := range servers {
		b.Run(name, func(b *testing.B) {
			// JWTs live 5 minutes: mint them again when old, so that every
			// run measures live ones (expired ones would go to Stytch).
			f.refresh(b)
			b.StopTimer()
			c := startChild(b, f, name)
			tr := &http.Transport{MaxIdleConns: httpConns, MaxIdleConnsPerHost: httpConns, MaxConnsPerHost: httpConns, DisableCompression: true}
			defer tr.CloseIdleConnections()
			client := &http.Client{Transport: tr, Timeout: 10 * time.Second}
			url := "http://" + c.addr + "/documents"
			get := func(i int) (time.Duration, error) {
				req, _ := http.NewRequest("GET", url, nil)
				req.AddCookie(&http.Cookie{Name: "stytch_session_jwt", Value: f.tokens[f.mix[i%len(f.mix)]]})
				start := time.Now()
				resp, err := client.Do(req)
				if err != nil {
					return 0, err
				}
				body, err := io.ReadAll(resp.Body)
				resp.Body.Close()
				d := time.Since(start)
				if err != nil || resp.StatusCode != 200 || string(body) != f.user.UserID {
					return 0, fmt.Errorf("%s: %d %q %v", name, resp.StatusCode, body, err)
				}
				return d, nil
			}
			// Warm up: connections open, keys fetched, every token seen once.
			for i := range len(f.mix) / 8 {
				if _, err := get(i); err != nil {
					b.Fatal(err)
				}
			}
			lat := make([]time.Duration, b.N)
			var next atomic.Int64
			var failed atomic.Value
			serverBefore, err := cpuTime(c.cmd.Process.Pid)
			if err != nil {
				b.Fatal(err)
			}
			selfBefore := selfCPU()
			b.ReportAllocs()
			b.StartTimer()
			start := time.Now()
			var wg sync.WaitGroup
			for range httpConns {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for {
						i := int(next.Add(1)) - 1
						if i >= b.N {
							return
						}
						d, err := get(i)
						if err != nil {
							failed.Store(err)
							return
						}
						lat[i] = d
					}
				}()
			}
			wg.Wait()
			elapsed := time.Since(start)
			b.StopTimer()
			if err, _ := failed.Load().(error); err != nil {
				b.Fatal(err)
			}
			serverAfter, _ := cpuTime(c.cmd.Process.Pid)
			selfAfter := selfCPU()
			slices.Sort(lat)
			n := float64(b.N)
			b.ReportMetric(n/elapsed.Seconds(), "req/s")
			b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
			b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
			b.ReportMetric(float64((serverAfter-serverBefore).Microseconds())/n, "server-cpu-µs/req")
			b.ReportMetric(float64((selfAfter-selfBefore).Microseconds())/n, "client-cpu-µs/req")
		})
	}
}
