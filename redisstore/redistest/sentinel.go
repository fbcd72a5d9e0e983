package redistest

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// SentinelDownAfter is the down-after-milliseconds of a Sentinel set: how
// long the primary may be silent before the sentinels count it down and
// elect one of them to promote the replica (about a second more). A
// sentinel pings every min(down-after, 1 s): at 1 s or less, a link just
// reset to a new primary can count as down before its first PING is
// answered, and the sentinels fail over a primary that is fine.
const SentinelDownAfter = 1500 * time.Millisecond

// MasterName is the name the sentinels of a Sentinel set monitor.
const MasterName = "redistest"

// Sentinel is a real Redis Sentinel set on loopback: a primary, a replica
// and three redis-sentinels monitoring them with a quorum of two.
type Sentinel struct {
	t         testing.TB
	nodes     [2]*Server
	primary   int // index in nodes
	sentinels [3]*Server
}

// StartSentinel starts a Sentinel set for the test and stops it after, and
// waits until every sentinel knows the replica and the other sentinels.
// Without redis-server or redis-sentinel (or Valkey's) on PATH the test is
// skipped, except under CI.
func StartSentinel(t testing.TB) *Sentinel {
	t.Helper()
	bin := serverBinary(t)
	sbin := binary(t, "the Sentinel tests", "redis-sentinel", "redis-sentinel", "valkey-sentinel")
	s := &Sentinel{t: t}
	for i := range s.nodes {
		s.nodes[i] = newServer(t, bin, nil)
	}
	s.nodes[1].replicaOf = s.nodes[0].Addr()
	for i := range s.sentinels {
		sn := &Server{t: t, bin: sbin, dir: t.TempDir(), port: freePort(t)}
		conf := filepath.Join(sn.dir, "sentinel.conf")
		text := fmt.Sprintf(`port %d
bind 127.0.0.1
dir %s
logfile %s
sentinel monitor %s 127.0.0.1 %d 2
sentinel down-after-milliseconds %s %d
sentinel failover-timeout %s 3000
`, sn.port, sn.dir, sn.logFile(), MasterName, s.nodes[0].port, MasterName, SentinelDownAfter/time.Millisecond, MasterName)
		if err := os.WriteFile(conf, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		// A sentinel rewrites its file as it learns; a restart resumes from it.
		sn.args = func() []string { return []string{conf} }
		t.Cleanup(func() {
			sn.Stop()
			sn.mu.Lock()
			if sn.ctl != nil {
				sn.ctl.Close()
			}
			sn.mu.Unlock()
			if t.Failed() {
				sn.showLog()
			}
		})
		s.sentinels[i] = sn
	}
	s.Start()
	return s
}

// SentinelAddrs returns the sentinels' addresses.
func (s *Sentinel) SentinelAddrs() []string {
	var addrs []string
	for _, sn := range s.sentinels {
		addrs = append(addrs, sn.Addr())
	}
	return addrs
}

// Client returns a failover client (the sentinels find the primary),
// closed after the test. Short dial and read timeouts keep an outage from
// stalling the test.
func (s *Sentinel) Client() *redis.Client {
	c := redis.NewFailoverClient(&redis.FailoverOptions{
		MasterName:    MasterName,
		SentinelAddrs: s.SentinelAddrs(),
		DialTimeout:   200 * time.Millisecond,
		ReadTimeout:   time.Second,
		WriteTimeout:  time.Second,
	})
	s.t.Cleanup(func() { c.Close() })
	return c
}

// Connect implements Deployment with Client.
func (s *Sentinel) Connect() redis.UniversalClient { return s.Client() }

// Stop implements Deployment: the primary, the replica and the sentinels
// are killed.
func (s *Sentinel) Stop() {
	for _, n := range s.nodes {
		n.Stop()
	}
	for _, sn := range s.sentinels {
		sn.Stop()
	}
}

// Start implements Deployment: what was stopped starts again, the primary
// and the replica in the roles they had, and the set settles.
func (s *Sentinel) Start() {
	s.t.Helper()
	s.nodes[s.primary].replicaOf = ""
	s.nodes[1-s.primary].replicaOf = s.nodes[s.primary].Addr()
	s.nodes[s.primary].Start()
	s.nodes[1-s.primary].Start()
	for _, sn := range s.sentinels {
		sn.Start()
	}
	s.wait("the Sentinel set is up", s.settled)
}

// Flush implements Deployment: FLUSHALL on the primary.
func (s *Sentinel) Flush() { s.nodes[s.primary].Flush() }

// ReplicaOf implements Replicated: the replica, whatever the key.
func (s *Sentinel) ReplicaOf(string) *Server { return s.nodes[1-s.primary] }

// Failover implements Replicated: the primary is killed (and the replica
// resumed, if paused: it takes over without what it had not read), and the
// sentinels
// agree it is down and promote the replica, as in production (no SENTINEL
// FAILOVER). The old primary then comes back as the new one's replica, as
// an operator or an orchestrator would restart it.
func (s *Sentinel) Failover(string) Failover {
	s.t.Helper()
	old, next := s.nodes[s.primary], s.nodes[1-s.primary]
	f := Failover{Killed: old.Addr(), Promoted: next.Addr(), KilledAt: time.Now()}
	old.Stop()
	next.Resume()
	s.wait("the sentinels promote "+next.Addr(), func() error {
		if role, _, err := next.role(); err != nil || role != "master" {
			return fmt.Errorf("%s is a %s %v", next.Addr(), role, err)
		}
		for _, sn := range s.sentinels {
			if addr, err := s.masterAddr(sn); err != nil || addr != next.Addr() {
				return fmt.Errorf("sentinel %s names %s %v", sn.Addr(), addr, err)
			}
		}
		return nil
	})
	f.PromotedAt = time.Now()
	s.primary = 1 - s.primary
	old.replicaOf = next.Addr()
	next.replicaOf = ""
	old.Start()
	s.wait("the old primary "+old.Addr()+" is a replica in sync", s.settled)
	f.Healed = time.Now()
	return f
}

func (s *Sentinel) wait(what string, cond func() error) {
	s.t.Helper()
	if err := waitUntil(20*time.Second, cond); err != nil {
		s.t.Fatalf("waiting until %s: %v", what, err)
	}
}

func (s *Sentinel) masterAddr(sn *Server) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	v, err := sn.admin().Do(ctx, "SENTINEL", "GET-MASTER-ADDR-BY-NAME", MasterName).StringSlice()
	if err != nil {
		return "", err
	}
	if len(v) != 2 {
		return "", fmt.Errorf("SENTINEL GET-MASTER-ADDR-BY-NAME: %v", v)
	}
	return v[0] + ":" + v[1], nil
}

// settled checks that the sentinels agree on the primary (on a loaded
// machine they may fail over on their own: the set follows them), that the
// replica is in sync with it, and that every sentinel sees both up and
// knows the two other sentinels: what a failover needs.
func (s *Sentinel) settled() error {
	named, err := s.masterAddr(s.sentinels[0])
	if err != nil {
		return err
	}
	for i, n := range s.nodes {
		if n.Addr() == named {
			s.primary = i
		}
	}
	primary, replica := s.nodes[s.primary], s.nodes[1-s.primary]
	if role, _, err := primary.role(); err != nil || role != "master" {
		return fmt.Errorf("primary %s: %s %v", primary.Addr(), role, err)
	}
	if role, state, err := replica.role(); err != nil || role != "slave" || state != "connected" {
		return fmt.Errorf("replica %s: %s %s %v", replica.Addr(), role, state, err)
	}
	for _, sn := range s.sentinels {
		if addr, err := s.masterAddr(sn); err != nil || addr != primary.Addr() {
			return fmt.Errorf("sentinel %s names %s %v", sn.Addr(), addr, err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		master, err := sn.admin().Do(ctx, "SENTINEL", "MASTER", MasterName).Result()
		replicas, err2 := sn.admin().Do(ctx, "SENTINEL", "REPLICAS", MasterName).Result()
		others, err3 := sn.admin().Do(ctx, "SENTINEL", "SENTINELS", MasterName).Result()
		cancel()
		if err != nil || err2 != nil || err3 != nil {
			return fmt.Errorf("sentinel %s: %v %v %v", sn.Addr(), err, err2, err3)
		}
		if f := field(master, "flags"); f != "master" {
			return fmt.Errorf("sentinel %s sees the primary as %s", sn.Addr(), f)
		}
		list, _ := replicas.([]any)
		up := 0
		for _, r := range list {
			if field(r, "name") == replica.Addr() && field(r, "flags") == "slave" {
				up++
			}
		}
		if up != 1 {
			return fmt.Errorf("sentinel %s does not see the replica %s up: %v", sn.Addr(), replica.Addr(), replicas)
		}
		if l, _ := others.([]any); len(l) != len(s.sentinels)-1 {
			return fmt.Errorf("sentinel %s knows %d other sentinels", sn.Addr(), len(l))
		}
	}
	return nil
}

// field reads a field of a SENTINEL MASTER or REPLICAS entry: a flat list
// of names and values (RESP2) or a map (RESP3).
func field(entry any, name string) string {
	switch e := entry.(type) {
	case map[any]any:
		v, _ := e[name].(string)
		return v
	case []any:
		for i := 0; i+1 < len(e); i += 2 {
			if k, _ := e[i].(string); k == name {
				v, _ := e[i+1].(string)
				return v
			}
		}
	}
	return ""
}
