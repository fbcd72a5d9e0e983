package redistest

import (
	"context"
	"net"
	"os"
	"os/exec"
	"strconv"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// Server is a real redis-server (or valkey-server) on a free loopback port,
// with append-only persistence in a temporary directory so that a restart
// keeps its data, as a production Redis would.
type Server struct {
	t    testing.TB
	bin  string
	dir  string
	port int
	cmd  *exec.Cmd
}

// Start starts a server for the test and stops it after. Without a
// redis-server (or valkey-server) binary on PATH the test is skipped, except
// when the environment sets CI, where its absence is a failure.
func Start(t testing.TB) *Server {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		bin, err = exec.LookPath("valkey-server")
	}
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("redis-server not found; .ci/run installs it")
		}
		t.Skip("SKIPPED the Redis tests: no redis-server or valkey-server on PATH (apt-get install redis-server)")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	r := &Server{t: t, bin: bin, dir: t.TempDir(), port: port}
	r.Start()
	t.Cleanup(r.Stop)
	return r
}

// Addr returns the server's host:port.
func (r *Server) Addr() string { return "127.0.0.1:" + strconv.Itoa(r.port) }

// URL returns the server's redis:// URL, database 0.
func (r *Server) URL() string { return "redis://" + r.Addr() + "/0" }

// Start runs the server again after Stop, on the same port and with the
// same data, and waits until it answers PING.
func (r *Server) Start() {
	r.t.Helper()
	r.cmd = exec.Command(r.bin, "--port", strconv.Itoa(r.port), "--bind", "127.0.0.1",
		"--dir", r.dir, "--save", "", "--appendonly", "yes", "--appendfsync", "always")
	if err := r.cmd.Start(); err != nil {
		r.t.Fatal(err)
	}
	c := redis.NewClient(&redis.Options{Addr: r.Addr(), MaxRetries: -1})
	defer c.Close()
	deadline := time.Now().Add(10 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		err := c.Ping(ctx).Err()
		cancel()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			r.t.Fatalf("redis-server on %s did not answer: %v", r.Addr(), err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Stop kills the server, as a crash would, and waits for it to exit.
func (r *Server) Stop() {
	if r.cmd == nil || r.cmd.Process == nil {
		return
	}
	_ = r.cmd.Process.Kill()
	_ = r.cmd.Wait()
	r.cmd = nil
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
