package redistest_test

import (
	"context"
	"testing"
	"time"

	"github.com/stytchguard/stytchguard/redisstore/redistest"
)

// A test starts its own Redis, crashes it and brings it back.
func ExampleStart() {
	_ = func(t *testing.T) { // the body of a test
		srv := redistest.Start(t)
		rdb := srv.Client()
		if err := rdb.Set(context.Background(), "k", "v", 0).Err(); err != nil {
			t.Fatal(err)
		}
		srv.Stop()  // as a crash
		srv.Start() // the same port, the same data
		if v := rdb.Get(context.Background(), "k").Val(); v != "v" {
			t.Fatalf("lost across a restart: %q", v)
		}
	}
}

// A test kills the primary of a key's slot on a cluster: the write the
// replica acknowledged (WAIT) survives the failover.
func ExampleStartCluster() {
	_ = func(t *testing.T) {
		ctx := context.Background()
		c := redistest.StartCluster(t)
		rdb := c.Client()
		if err := rdb.Set(ctx, "{user}:k", "v", 0).Err(); err != nil {
			t.Fatal(err)
		}
		primary, err := rdb.MasterForKey(ctx, "{user}:k")
		if err != nil {
			t.Fatal(err)
		}
		if n := primary.Wait(ctx, 1, time.Second).Val(); n != 1 {
			t.Fatalf("%d replicas acknowledged", n)
		}
		f := c.Failover("{user}:k")
		t.Logf("%s replaced %s after %v", f.Promoted, f.Killed, f.PromotedAt.Sub(f.KilledAt))
		if v := rdb.Get(ctx, "{user}:k").Val(); v != "v" {
			t.Fatalf("lost in the failover: %q", v)
		}
	}
}

// A test runs its code against a Sentinel set, through a failover client,
// and across a failover.
func ExampleStartSentinel() {
	_ = func(t *testing.T) {
		s := redistest.StartSentinel(t)
		rdb := s.Client() // redis.NewFailoverClient, MasterName redistest.MasterName
		s.Failover("")
		if err := rdb.Ping(context.Background()).Err(); err != nil {
			t.Fatalf("after the failover: %v", err)
		}
	}
}
