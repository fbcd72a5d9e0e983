package redistest_test

import (
	"context"
	"testing"

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
