package redisstore_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/stytchguard/stytchguard/middleware"
	"github.com/stytchguard/stytchguard/redisstore"
	"github.com/stytchguard/stytchguard/redisstore/redistest"
	"github.com/stytchguard/stytchguard/stytchtest"
)

// newProjectStore opens a store of project on rdb, with no emulator.
func newProjectStore(t testing.TB, rdb redis.UniversalClient, project string, mod func(*redisstore.Config)) *redisstore.Store {
	t.Helper()
	cfg := redisstore.Config{Client: rdb, ProjectID: project}
	if mod != nil {
		mod(&cfg)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s, err := redisstore.New(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// testReplicasAcknowledgeLogouts holds that a logout answers 204 only once
// the replicas Config.Replicas asks for have it, and 503 otherwise, within
// the bound; that the refused one is still refused everywhere and written
// again until acknowledged; and that one Redis without replicas answers as
// it always did.
func testReplicasAcknowledgeLogouts(t *testing.T, d redistest.Deployment) {
	rep, replicated := d.(redistest.Replicated)
	const wait = 200 * time.Millisecond
	tests := []struct {
		name     string
		replicas int
		freeze   bool // the replica: still connected, acknowledging nothing
		want     int  // the logout's status
	}{
		{"those connected, in step", 0, false, http.StatusNoContent},
		{"those connected, one frozen", 0, true, http.StatusServiceUnavailable},
		{"none asked, one frozen", redisstore.NoReplicas, true, http.StatusNoContent},
		{"more than there are", 2, false, http.StatusServiceUnavailable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.freeze && !replicated {
				t.Skip("one Redis has no replica to freeze")
			}
			ctx := context.Background()
			srv := stytchtest.NewServer(stytchtest.WithFrozenClock(time.Now()))
			t.Cleanup(srv.Close)
			// A generous Timeout: on a loaded machine the write itself must
			// not be what fails. TestPartitionIsAnOutageBoundedInTime holds
			// the default bound.
			const timeout = 5 * time.Second
			a := newInstance(t, d, srv, func(c *redisstore.Config) { c.Replicas, c.ReplicaTimeout, c.Timeout = tt.replicas, wait, timeout })
			b := newInstance(t, d, srv, nil)
			tok := newSession(t, srv)
			var replica *redistest.Server
			if tt.freeze {
				replica = rep.ReplicaOf(setKey(srv.ProjectID(), "revoked"))
				replica.Pause()
				defer replica.Resume()
			}
			start := time.Now()
			code := a.post("/logout", tok.SessionJWT)
			took := time.Since(start)
			if code != tt.want {
				t.Fatalf("logout: %d after %v, want %d", code, took, tt.want)
			}
			// Either way the primary has it and told every instance.
			if a.get(tok.SessionJWT, "") != http.StatusUnauthorized {
				t.Fatal("the instance that took the logout accepts the session")
			}
			refusedWithin(t, b, tok.SessionJWT, time.Second)
			if tt.want == http.StatusNoContent {
				if n := a.store.Pending(); n != 0 {
					t.Fatalf("%d entries queued after an acknowledged logout", n)
				}
				return
			}
			// Refused: after the replicas' whole wait, within the bound.
			if bound := timeout + wait; took < wait || took > bound {
				t.Fatalf("the 503 came after %v: not between %v and %v", took, wait, bound)
			}
			err := a.store.Revoke(ctx, "session-test-direct", time.Now().Add(time.Minute))
			if !errors.Is(err, redisstore.ErrNotReplicated) || !strings.Contains(err.Error(), "queued") {
				t.Fatalf("Revoke: %v, want ErrNotReplicated", err)
			}
			// Logout-all takes the same way.
			other := newSession(t, srv)
			if c := a.post("/logout-all", other.SessionJWT); c != http.StatusServiceUnavailable {
				t.Fatalf("logout-all: %d, want 503", c)
			}
			if n := a.store.Pending(); n != 3 {
				t.Fatalf("%d entries queued, want the 3 not acknowledged", n)
			}
			if err := a.store.Ready(ctx); err == nil {
				t.Fatal("ready while logouts wait for the replicas")
			}
			if !tt.freeze {
				return // no replica will ever make up the count
			}
			replica.Resume()
			if !waitFor(func() bool { return a.store.Pending() == 0 }, 5*time.Second) {
				t.Fatalf("%d entries still queued after the replica came back", a.store.Pending())
			}
		})
	}
}

// testLaggingReplicaLosesOnlyUnacknowledgedLogouts makes the replica lag:
// frozen, behind megabytes it has not read, so that what the primary takes
// next reaches only the primary. A logout acknowledged by the primary alone
// (NoReplicas) is then lost when the primary dies and the replica takes
// over; one that waits for the replica is refused (503), queued, and
// written to the new primary. This is what WAIT buys; without it, the
// second logout would be lost as the first is.
func testLaggingReplicaLosesOnlyUnacknowledgedLogouts(t *testing.T, d redistest.Deployment) {
	rep := d.(redistest.Replicated)
	ctx := context.Background()
	const project = "project-test-lagging"
	k := setKey(project, "revoked")
	fast := newProjectStore(t, d.Connect(), project, func(c *redisstore.Config) { c.Replicas = redisstore.NoReplicas })
	safe := newProjectStore(t, d.Connect(), project, func(c *redisstore.Config) { c.ReplicaTimeout, c.Timeout = 200*time.Millisecond, 5*time.Second })
	rdb := d.Connect()
	until := time.Now().Add(time.Hour)

	rep.ReplicaOf(k).Pause() // Failover resumes it once the primary is dead
	blob := strings.Repeat("x", 1<<20)
	for i := range 32 { // past the kernel's buffers: the rest waits in the primary
		if err := rdb.Set(ctx, fmt.Sprintf("redistest:{%s}:filler:%d", project, i), blob, 0).Err(); err != nil {
			t.Fatal(err)
		}
	}
	if err := fast.Revoke(ctx, "session-test-fast", until); err != nil {
		t.Fatalf("NoReplicas: %v; the primary's answer should do", err)
	}
	err := safe.Revoke(ctx, "session-test-safe", until)
	if !errors.Is(err, redisstore.ErrNotReplicated) {
		t.Fatalf("waiting for a frozen replica: %v", err)
	}
	f := rep.Failover(k)
	if !waitFor(func() bool { return safe.Pending() == 0 }, 10*time.Second) {
		t.Fatal("the logout the replica did not acknowledge was not written to the new primary")
	}
	later := newProjectStore(t, d.Connect(), project, nil) // reads Redis only
	if !later.IsRevoked(ctx, "session-test-safe") {
		t.Fatal("the logout answered 503 and queued is not in Redis after the failover")
	}
	if later.IsRevoked(ctx, "session-test-fast") {
		t.Fatal("the replica had the logout after all: the test did not make it lag")
	}
	t.Logf("replica frozen behind 32 MB, primary %s killed, %s promoted in %v: the logout the primary alone acknowledged is lost; the one that waited got %q and is in Redis",
		f.Killed, f.Promoted, f.PromotedAt.Sub(f.KilledAt), err)
}

// TestPartitionIsAnOutageBoundedInTime freezes Redis (SIGSTOP): its
// connections stay open and nothing answers, as when a partition falls
// between the app and Redis. A logout answers 503 within the store's bound
// (the test client's read timeout is longer, and WAIT's longer still),
// the other instance notices that it is out of step, and once Redis
// answers again the logout reaches it.
func TestPartitionIsAnOutageBoundedInTime(t *testing.T) {
	t.Parallel()
	r := redistest.Start(t)
	srv := stytchtest.NewServer(stytchtest.WithFrozenClock(time.Now()))
	t.Cleanup(srv.Close)
	defaults := func(c *redisstore.Config) { c.Timeout, c.ReplicaTimeout = 0, 0 }
	a, b := newInstance(t, r, srv, defaults), newInstance(t, r, srv, defaults)
	tok := newSession(t, srv)
	r.Pause()
	start := time.Now()
	if c := a.post("/logout", tok.SessionJWT); c != http.StatusServiceUnavailable {
		t.Fatalf("logout while Redis is cut off: %d", c)
	}
	if took, bound := time.Since(start), redisstore.DefaultTimeout+redisstore.DefaultReplicaTimeout+2*time.Second; took > bound {
		t.Fatalf("the 503 took %v, past %v", took, bound)
	}
	if !waitFor(func() bool { return !b.store.Connected() }, 10*time.Second) {
		t.Fatal("B never noticed that its subscription went silent")
	}
	if b.get(tok.SessionJWT, "") != http.StatusOK {
		t.Fatal("B refused the session without hearing of the logout; the window is narrower than documented")
	}
	r.Resume()
	took := refusedWithin(t, b, tok.SessionJWT, 10*time.Second)
	t.Logf("after the partition, B refused the session in %v", took)
	if !waitFor(func() bool { return a.store.Pending() == 0 && a.store.Connected() && b.store.Connected() }, 10*time.Second) {
		t.Fatalf("pending %d; connected %v %v", a.store.Pending(), a.store.Connected(), b.store.Connected())
	}
}

// testKeysOfAProjectShareASlot holds that on a cluster the keys a store
// writes for its revocations and marks, and its channels, hash to one
// slot (one primary holds them all, and the subscription sits on it), and
// that its remote answers spread over the cluster.
func testKeysOfAProjectShareASlot(t *testing.T, d redistest.Deployment) {
	c, ok := d.Connect().(*redis.ClusterClient)
	if !ok {
		t.Skip("one slot only matters on a cluster")
	}
	ctx := context.Background()
	srv := stytchtest.NewServer()
	t.Cleanup(srv.Close)
	s := newStore(t, c, srv, nil)
	until := time.Now().Add(time.Hour)
	if err := s.Revoke(ctx, "session-test-1", until); err != nil {
		t.Fatal(err)
	}
	if err := s.Mark(ctx, "user-test-1", until); err != nil {
		t.Fatal(err)
	}
	for i := range 8 {
		s.Set(ctx, fmt.Sprintf("digest-%d", i), &middleware.RemoteEntry{Until: until, Gone: true})
	}
	slot := func(k string) int64 { return c.ClusterKeySlot(ctx, k).Val() }
	want := slot(setKey(srv.ProjectID(), "revoked"))
	sets, remote := 0, map[int64]bool{}
	for _, k := range allKeys(t, c) {
		switch {
		case strings.Contains(k, ":remote:"):
			remote[slot(k)] = true
		case slot(k) != want:
			t.Errorf("%s in slot %d, the revocations in %d", k, slot(k), want)
		default:
			sets++
		}
	}
	for _, ch := range []string{setKey(srv.ProjectID(), "revoked:events"), setKey(srv.ProjectID(), "marks:events")} {
		primary, err := c.MasterForKey(ctx, ch)
		if err != nil {
			t.Fatal(err)
		}
		if n := primary.PubSubNumSub(ctx, ch).Val()[ch]; n != 1 || slot(ch) != want {
			t.Errorf("channel %s: %d subscribers on its slot's primary, slot %d, want 1 and %d", ch, n, slot(ch), want)
		}
	}
	if sets != 2 || len(remote) < 2 {
		t.Fatalf("%d sorted sets (want 2) and remote answers in %d slots (want them spread)", sets, len(remote))
	}
}
