package redistest

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// ClusterNodeTimeout is the cluster-node-timeout of a Cluster: how long a
// primary may be silent before the others count it failed and its replica
// takes over (about one more second).
const ClusterNodeTimeout = 1000 * time.Millisecond

// Cluster is a real Redis Cluster on loopback: three primaries, each with
// a replica, the 16,384 slots split evenly. It needs Redis 7 or Valkey
// (cluster-port).
type Cluster struct {
	t     testing.TB
	nodes []*Server // 0-2 start as primaries, 3-5 as their replicas
}

// StartCluster starts a cluster for the test and stops it after: six
// servers with cluster-enabled, slots assigned (CLUSTER ADDSLOTS), joined
// (CLUSTER MEET), replicas attached (CLUSTER REPLICATE), and waits until
// every node says cluster_state:ok and every replica is in sync. Skipped
// as Start is without redis-server.
func StartCluster(t testing.TB) *Cluster {
	t.Helper()
	bin := serverBinary(t)
	c := &Cluster{t: t}
	for range 6 {
		bus := freePort(t)
		c.nodes = append(c.nodes, newServer(t, bin, []string{
			"--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf",
			"--cluster-port", strconv.Itoa(bus),
			"--cluster-node-timeout", strconv.Itoa(int(ClusterNodeTimeout / time.Millisecond)),
			// A replica takes over however long it was apart from its
			// primary: tests kill primaries one after another.
			"--cluster-replica-validity-factor", "0",
		}))
	}
	for _, n := range c.nodes {
		n.Start()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	const slots = 16384
	for i, n := range c.nodes[:3] {
		if err := n.admin().Do(ctx, "CLUSTER", "SET-CONFIG-EPOCH", i+1).Err(); err != nil {
			t.Fatalf("CLUSTER SET-CONFIG-EPOCH on %s: %v", n.Addr(), err)
		}
		args := []any{"CLUSTER", "ADDSLOTS"}
		for s := i * slots / 3; s < (i+1)*slots/3; s++ {
			args = append(args, s)
		}
		if err := n.admin().Do(ctx, args...).Err(); err != nil {
			t.Fatalf("CLUSTER ADDSLOTS on %s: %v", n.Addr(), err)
		}
	}
	for _, n := range c.nodes[1:] {
		if err := c.nodes[0].admin().Do(ctx, "CLUSTER", "MEET", "127.0.0.1", n.port, n.busPort()).Err(); err != nil {
			t.Fatalf("CLUSTER MEET %s: %v", n.Addr(), err)
		}
	}
	c.wait("every node knows the others", func() error {
		for _, n := range c.nodes {
			nodes, err := n.clusterNodes()
			if err != nil {
				return err
			}
			if len(nodes) != len(c.nodes) {
				return fmt.Errorf("%s knows %d nodes", n.Addr(), len(nodes))
			}
			for _, v := range nodes {
				if v.has("handshake") || v.has("noaddr") {
					return fmt.Errorf("%s sees %s as %s", n.Addr(), v.addr, strings.Join(v.flags, ","))
				}
			}
		}
		return nil
	})
	for i, n := range c.nodes[3:] {
		id, err := c.nodes[i].admin().Do(ctx, "CLUSTER", "MYID").Text()
		if err != nil {
			t.Fatal(err)
		}
		if err := n.admin().Do(ctx, "CLUSTER", "REPLICATE", id).Err(); err != nil {
			t.Fatalf("CLUSTER REPLICATE on %s: %v", n.Addr(), err)
		}
	}
	c.wait("the cluster is up", c.settled)
	return c
}

// busPort returns the cluster bus port a cluster node was started with.
func (r *Server) busPort() int {
	args := r.args()
	i := slices.Index(args, "--cluster-port")
	p, _ := strconv.Atoi(args[i+1])
	return p
}

// clusterNode is one line of CLUSTER NODES.
type clusterNode struct {
	id, addr, master, link string
	flags                  []string
	slots                  []string
}

func (n clusterNode) has(flag string) bool { return slices.Contains(n.flags, flag) }

// owns reports whether the node serves slot.
func (n clusterNode) owns(slot int) bool {
	for _, r := range n.slots {
		if strings.HasPrefix(r, "[") {
			continue // a slot being migrated
		}
		lo, hi, found := strings.Cut(r, "-")
		if !found {
			hi = lo
		}
		a, _ := strconv.Atoi(lo)
		b, _ := strconv.Atoi(hi)
		if a <= slot && slot <= b {
			return true
		}
	}
	return false
}

// clusterState returns cluster_state from CLUSTER INFO: "ok" or "fail".
func (r *Server) clusterState() (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	s, err := r.admin().ClusterInfo(ctx).Result()
	if err != nil {
		return "", err
	}
	for line := range strings.SplitSeq(s, "\r\n") {
		if v, ok := strings.CutPrefix(line, "cluster_state:"); ok {
			return v, nil
		}
	}
	return "", fmt.Errorf("no cluster_state in CLUSTER INFO")
}

func (r *Server) clusterNodes() ([]clusterNode, error) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	s, err := r.admin().ClusterNodes(ctx).Result()
	if err != nil {
		return nil, err
	}
	var nodes []clusterNode
	for line := range strings.SplitSeq(strings.TrimSpace(s), "\n") {
		f := strings.Fields(line)
		if len(f) < 8 {
			return nil, fmt.Errorf("CLUSTER NODES line %q", line)
		}
		addr, _, _ := strings.Cut(f[1], "@")
		nodes = append(nodes, clusterNode{id: f[0], addr: addr, flags: strings.Split(f[2], ","),
			master: f[3], link: f[7], slots: f[8:]})
	}
	return nodes, nil
}

// settled checks that every node runs, says cluster_state:ok, sees three
// primaries serving slots and three replicas, no node failed and every
// link up, and that every replica is in sync.
func (c *Cluster) settled() error {
	for _, n := range c.nodes {
		if !n.running() {
			return fmt.Errorf("%s is stopped", n.Addr())
		}
		if state, err := n.clusterState(); err != nil || state != "ok" {
			return fmt.Errorf("%s: cluster_state %s %v", n.Addr(), state, err)
		}
		nodes, err := n.clusterNodes()
		if err != nil {
			return err
		}
		primaries, replicas := 0, 0
		for _, v := range nodes {
			switch {
			case v.has("fail") || v.has("fail?") || v.has("handshake") || v.link != "connected":
				return fmt.Errorf("%s sees %s as %s, link %s", n.Addr(), v.addr, strings.Join(v.flags, ","), v.link)
			case v.has("master") && len(v.slots) > 0:
				primaries++
			case v.has("slave"):
				replicas++
			}
		}
		if primaries != 3 || replicas != 3 {
			return fmt.Errorf("%s sees %d primaries and %d replicas", n.Addr(), primaries, replicas)
		}
		role, state, err := n.role()
		if err != nil {
			return err
		}
		if role == "slave" && state != "connected" {
			return fmt.Errorf("replica %s: link %s", n.Addr(), state)
		}
	}
	return nil
}

func (c *Cluster) wait(what string, cond func() error) {
	c.t.Helper()
	if err := waitUntil(20*time.Second, cond); err != nil {
		c.t.Fatalf("waiting until %s: %v", what, err)
	}
}

// Addrs returns the addresses of the six nodes.
func (c *Cluster) Addrs() []string {
	var addrs []string
	for _, n := range c.nodes {
		addrs = append(addrs, n.Addr())
	}
	return addrs
}

// Client returns a cluster client, closed after the test. Short dial and
// read timeouts keep an outage from stalling the test.
func (c *Cluster) Client() *redis.ClusterClient {
	cc := redis.NewClusterClient(&redis.ClusterOptions{
		Addrs:        c.Addrs(),
		DialTimeout:  200 * time.Millisecond,
		ReadTimeout:  time.Second,
		WriteTimeout: time.Second,
	})
	c.t.Cleanup(func() { cc.Close() })
	return cc
}

// Connect implements Deployment with Client.
func (c *Cluster) Connect() redis.UniversalClient { return c.Client() }

// Stop implements Deployment: every node is killed.
func (c *Cluster) Stop() {
	for _, n := range c.nodes {
		n.Stop()
	}
}

// Start implements Deployment: every node stopped is started again, with
// its cluster configuration and data, and the cluster settles.
func (c *Cluster) Start() {
	c.t.Helper()
	for _, n := range c.nodes {
		n.Start()
	}
	c.wait("the cluster is up again", c.settled)
}

// Flush implements Deployment: FLUSHALL on every primary.
func (c *Cluster) Flush() {
	c.t.Helper()
	for _, n := range c.nodes {
		if role, _, err := n.role(); err != nil {
			c.t.Fatal(err)
		} else if role == "master" {
			n.Flush()
		}
	}
}

// owner returns the running node that serves key's slot as primary, and
// its replica.
func (c *Cluster) owner(key string) (primary, replica *Server) {
	c.t.Helper()
	var slot int
	var nodes []clusterNode
	err := waitUntil(10*time.Second, func() error {
		for _, n := range c.nodes {
			if !n.running() {
				continue
			}
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			s, err := n.admin().ClusterKeySlot(ctx, key).Result()
			cancel()
			if err != nil {
				return err
			}
			slot = int(s)
			if nodes, err = n.clusterNodes(); err != nil {
				return err
			}
			return nil
		}
		return fmt.Errorf("no node runs")
	})
	if err != nil {
		c.t.Fatal(err)
	}
	byAddr := map[string]*Server{}
	for _, n := range c.nodes {
		byAddr[n.Addr()] = n
	}
	var id string
	for _, v := range nodes {
		if v.has("master") && v.owns(slot) {
			id, primary = v.id, byAddr[v.addr]
		}
	}
	for _, v := range nodes {
		if v.master == id && id != "" {
			replica = byAddr[v.addr]
		}
	}
	if primary == nil || replica == nil {
		c.t.Fatalf("no primary and replica for slot %d in %v", slot, nodes)
	}
	return primary, replica
}

// ReplicaOf implements Replicated.
func (c *Cluster) ReplicaOf(key string) *Server {
	c.t.Helper()
	_, r := c.owner(key)
	return r
}

// Failover implements Replicated: the primary of key's slot is killed (and
// its replica resumed, if paused: it takes over without what it had not
// read), and the cluster promotes the replica (after ClusterNodeTimeout
// and an election among the primaries, as in production; no CLUSTER
// FAILOVER).
func (c *Cluster) Failover(key string) Failover {
	c.t.Helper()
	primary, replica := c.owner(key)
	f := Failover{Killed: primary.Addr(), Promoted: replica.Addr(), KilledAt: time.Now()}
	primary.Stop()
	replica.Resume()
	c.wait("the replica "+replica.Addr()+" is promoted", func() error {
		if role, _, err := replica.role(); err != nil || role != "master" {
			return fmt.Errorf("replica's role %s %v", role, err)
		}
		for _, n := range c.nodes {
			if n.running() {
				if state, err := n.clusterState(); err != nil || state != "ok" {
					return fmt.Errorf("%s: cluster_state %s %v", n.Addr(), state, err)
				}
			}
		}
		return nil
	})
	f.PromotedAt = time.Now()
	primary.Start() // it rejoins, learns it was replaced, and follows the new primary
	c.wait("the old primary "+primary.Addr()+" is a replica in sync", c.settled)
	f.Healed = time.Now()
	return f
}
