package redistest

import (
	"bufio"
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// Deployment is a running Redis deployment a test suite can run on: one
// Server, a Cluster or a Sentinel set. Each kind keeps its data across Stop
// and Start, as a production deployment would.
type Deployment interface {
	// Connect returns a new client of the deployment's kind (a plain, a
	// cluster or a failover client), closed after the test.
	Connect() redis.UniversalClient
	// Stop kills every process of the deployment, as a crash would.
	Stop()
	// Start brings back what Stop killed, in the roles it had, and waits
	// until the deployment serves. It does nothing to a deployment that
	// runs.
	Start()
	// Flush empties every database.
	Flush()
}

// Replicated is a Deployment whose primaries have replicas.
type Replicated interface {
	Deployment
	// Failover kills (SIGKILL) the primary holding key, resumes its
	// replica if it was paused, waits until the replica is promoted and
	// serves, then restarts the killed server as a replica of the new
	// primary and waits until it has caught up.
	Failover(key string) Failover
	// ReplicaOf returns the replica of the primary holding key.
	ReplicaOf(key string) *Server
}

// Failover tells what a Failover did and when.
type Failover struct {
	Killed, Promoted             string    // addresses of the old and the new primary
	KilledAt, PromotedAt, Healed time.Time // the kill; the replica serving as primary; the old primary a replica again
}

// Server is a real redis-server (or valkey-server) on a free loopback port,
// with append-only persistence in a temporary directory so that a restart
// keeps its data, as a production Redis would.
type Server struct {
	t    testing.TB
	bin  string
	dir  string
	port int
	args func() []string // what follows the binary

	mu        sync.Mutex
	cmd       *exec.Cmd
	exited    chan struct{} // closed once cmd has exited and been waited for
	paused    bool
	replicaOf string        // host:port, for a replica
	ctl       *redis.Client // the harness's own client
}

// Start starts a server for the test and stops it after. Without a
// redis-server (or valkey-server) binary on PATH the test is skipped, except
// when the environment sets CI, where its absence is a failure.
func Start(t testing.TB) *Server {
	t.Helper()
	r := newServer(t, serverBinary(t), nil)
	r.Start()
	return r
}

// binary finds the first of names on PATH, or skips the test (fails it
// under CI) naming what to install.
func binary(t testing.TB, what, install string, names ...string) string {
	t.Helper()
	for _, n := range names {
		if bin, err := exec.LookPath(n); err == nil {
			return bin
		}
	}
	if os.Getenv("CI") != "" {
		t.Fatalf("%s not found; .ci/run installs it", names[0])
	}
	t.Skipf("SKIPPED %s: no %s on PATH (apt-get install %s)", what, strings.Join(names, " or "), install)
	return ""
}

func serverBinary(t testing.TB) string {
	t.Helper()
	return binary(t, "the Redis tests", "redis-server", "redis-server", "valkey-server")
}

// run starts cmd, killed by the kernel if the test process dies without
// its cleanups (killed, or its output pipe closed), so that no server
// outlives it on a shared machine; exited is closed once cmd has exited.
// Linux sends that signal when the thread that started the process ends,
// not the process: the thread stays locked to a goroutine waiting for the
// server until it exits.
func run(cmd *exec.Cmd, exited chan struct{}) error {
	started := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		dieWithTest(cmd)
		err := cmd.Start()
		started <- err
		if err == nil {
			_ = cmd.Wait()
		}
		close(exited)
	}()
	return <-started
}

// freePort returns a loopback port nothing listens on.
func freePort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// newServer prepares a server (not started) whose command line is bin,
// the port, bind, persistence settings, then extra; it is stopped when the
// test ends, and its log shown if the test failed.
func newServer(t testing.TB, bin string, extra []string) *Server {
	r := &Server{t: t, bin: bin, dir: t.TempDir(), port: freePort(t)}
	r.args = func() []string {
		args := []string{"--port", strconv.Itoa(r.port), "--bind", "127.0.0.1", "--dir", r.dir,
			// appendfsync no: Redis writes the file before it answers, so
			// a killed process loses nothing, and never fsyncs in its main
			// thread. always stalls it on a busy disk past Sentinel's and
			// the cluster's patience (failovers nobody asked for);
			// everysec may put the write off behind a slow fsync and answer
			// first, and a kill then loses what it acknowledged.
			"--logfile", r.logFile(), "--save", "", "--appendonly", "yes", "--appendfsync", "no",
			// A replica (re)joining takes the data at once, not after 5 s.
			"--repl-diskless-sync-delay", "0"}
		if r.replicaOf != "" {
			host, port, _ := net.SplitHostPort(r.replicaOf)
			args = append(args, "--replicaof", host, port)
		}
		return append(args, extra...)
	}
	t.Cleanup(func() {
		r.Stop()
		r.mu.Lock()
		if r.ctl != nil {
			r.ctl.Close()
		}
		r.mu.Unlock()
		if t.Failed() {
			r.showLog()
		}
	})
	return r
}

func (r *Server) logFile() string { return filepath.Join(r.dir, "redis.log") }

// showLog logs the last lines of the server's log.
func (r *Server) showLog() {
	f, err := os.Open(r.logFile())
	if err != nil {
		return
	}
	defer f.Close()
	var lines []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		lines = append(lines, sc.Text())
	}
	lines = lines[max(0, len(lines)-40):]
	r.t.Logf("last lines of %s's log:\n%s", r.Addr(), strings.Join(lines, "\n"))
}

// Addr returns the server's host:port.
func (r *Server) Addr() string { return "127.0.0.1:" + strconv.Itoa(r.port) }

// URL returns the server's redis:// URL, database 0.
func (r *Server) URL() string { return "redis://" + r.Addr() + "/0" }

// Start runs the server again after Stop, on the same port and with the
// same data, and waits until it answers PING. It does nothing to a server
// that runs.
func (r *Server) Start() {
	r.t.Helper()
	r.mu.Lock()
	if r.cmd != nil {
		r.mu.Unlock()
		return
	}
	r.cmd, r.exited = exec.Command(r.bin, r.args()...), make(chan struct{})
	err := run(r.cmd, r.exited)
	if err != nil {
		r.cmd = nil
	}
	r.mu.Unlock()
	if err != nil {
		r.t.Fatal(err)
	}
	err = waitUntil(10*time.Second, func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		defer cancel()
		return r.admin().Ping(ctx).Err()
	})
	if err != nil {
		r.showLog()
		r.t.Fatalf("%s on %s did not answer: %v", filepath.Base(r.bin), r.Addr(), err)
	}
}

// Stop kills the server (SIGKILL), as a crash would, and waits for it to
// exit.
func (r *Server) Stop() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.cmd == nil || r.cmd.Process == nil {
		return
	}
	_ = r.cmd.Process.Kill()
	<-r.exited
	r.cmd, r.paused = nil, false
}

// running reports whether the server was started and not stopped.
func (r *Server) running() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.cmd != nil
}

// Pause freezes the server (SIGSTOP): its connections stay open and
// nothing answers, as when a network partition falls between it and its
// clients. Resume ends it.
func (r *Server) Pause() { r.signal(syscall.SIGSTOP, true) }

// Resume lets a paused server run again (SIGCONT).
func (r *Server) Resume() { r.signal(syscall.SIGCONT, false) }

func (r *Server) signal(sig syscall.Signal, paused bool) {
	r.t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.cmd == nil || r.paused == paused {
		return
	}
	if err := r.cmd.Process.Signal(sig); err != nil {
		r.t.Fatal(err)
	}
	r.paused = paused
	if paused {
		// Never leave a frozen server behind a failed test.
		r.t.Cleanup(func() { r.signal(syscall.SIGCONT, false) })
	}
}

// Client returns a client for the server, closed after the test. Short
// dial and read timeouts keep an outage from stalling the test.
func (r *Server) Client() *redis.Client {
	c := redis.NewClient(&redis.Options{
		Addr:         r.Addr(),
		DialTimeout:  200 * time.Millisecond,
		ReadTimeout:  time.Second,
		WriteTimeout: time.Second,
	})
	r.t.Cleanup(func() { c.Close() })
	return c
}

// Connect implements Deployment with Client.
func (r *Server) Connect() redis.UniversalClient { return r.Client() }

// Flush implements Deployment: FLUSHALL.
func (r *Server) Flush() {
	r.t.Helper()
	if err := r.admin().FlushAll(context.Background()).Err(); err != nil {
		r.t.Fatalf("FLUSHALL on %s: %v", r.Addr(), err)
	}
}

// admin returns the client the harness itself uses on this server: no
// retries, short timeouts; the caller does not close it.
func (r *Server) admin() *redis.Client {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.ctl == nil {
		r.ctl = redis.NewClient(&redis.Options{Addr: r.Addr(), MaxRetries: -1,
			DialTimeout: 500 * time.Millisecond, ReadTimeout: time.Second, WriteTimeout: time.Second,
			PoolSize: 2, Protocol: 2})
	}
	return r.ctl
}

// role returns the server's ROLE: "master", or "slave" with its link state
// ("connected" once in sync).
func (r *Server) role() (role, state string, err error) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	v, err := r.admin().Do(ctx, "ROLE").Slice()
	if err != nil {
		return "", "", err
	}
	role, _ = v[0].(string)
	if role == "slave" && len(v) > 3 {
		state, _ = v[3].(string)
	}
	return role, state, nil
}

// waitUntil calls cond until it returns nil, or returns its last error
// after limit.
func waitUntil(limit time.Duration, cond func() error) error {
	deadline := time.Now().Add(limit)
	for {
		err := cond()
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return err
		}
		time.Sleep(20 * time.Millisecond)
	}
}
