package redistest_test

import (
	"context"
	"testing"

	"github.com/stytchguard/stytchguard/redisstore/redistest"
)

func TestStopIsACrashAndStartARestart(t *testing.T) {
	srv := redistest.Start(t)
	rdb := srv.Client()
	ctx := context.Background()
	if err := rdb.Set(ctx, "k", "v", 0).Err(); err != nil {
		t.Fatal(err)
	}
	srv.Stop()
	if err := rdb.Ping(ctx).Err(); err == nil {
		t.Fatal("the server still answers after Stop")
	}
	srv.Start()
	if v, err := rdb.Get(ctx, "k").Result(); err != nil || v != "v" {
		t.Fatalf("after a restart: %q, %v", v, err)
	}
	if srv.URL() != "redis://"+srv.Addr()+"/0" {
		t.Fatalf("URL %s", srv.URL())
	}
}
