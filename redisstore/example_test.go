package redisstore_test

import (
	"context"
	"errors"
	"log"
	"net/http"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/stytchguard/stytchguard/middleware"
	"github.com/stytchguard/stytchguard/redisstore"
	"github.com/stytchguard/stytchguard/session"
)

// Every instance of the app opens the same Redis: a logout on one is refused
// on all of them, and an opaque token Stytch answered for one is not asked
// about again by the others.
func Example() {
	ctx := context.Background()
	opts, err := redis.ParseURL("redis://127.0.0.1:6379/0")
	if err != nil {
		log.Fatal(err)
	}
	rdb := redis.NewClient(opts)
	defer rdb.Close()
	client, err := session.New(session.Config{ProjectID: "project-test-...", Secret: "secret-test-..."})
	if err != nil {
		log.Fatal(err)
	}
	store, err := redisstore.New(ctx, redisstore.Config{Client: rdb, ProjectID: client.ProjectID()})
	if err != nil {
		log.Fatal(err) // Redis unreachable at start: do not serve blind to earlier logouts
	}
	defer store.Close()
	mw, err := middleware.New(middleware.Config{Client: client, Stores: middleware.Stores{Revocations: store, RemoteCache: store}})
	if err != nil {
		log.Fatal(err)
	}
	defer mw.Close()
	http.Handle("POST /logout", mw.LogoutHandler())
}

// With Sentinel (or NewClusterClient for Redis Cluster), a logout answers
// once the replicas have it. Replicas set to their number refuses a logout
// (503) rather than acknowledge it alone while one is away.
func Example_sentinel() {
	ctx := context.Background()
	rdb := redis.NewFailoverClient(&redis.FailoverOptions{
		MasterName:    "mymaster",
		SentinelAddrs: []string{"10.0.0.1:26379", "10.0.0.2:26379", "10.0.0.3:26379"},
		// So that RemoteTimeout holds on a request's path too.
		ContextTimeoutEnabled: true,
	})
	defer rdb.Close()
	store, err := redisstore.New(ctx, redisstore.Config{Client: rdb, ProjectID: "project-test-...", Replicas: 1})
	if err != nil {
		log.Fatal(err)
	}
	defer store.Close()
	err = store.Revoke(ctx, "session-test-...", time.Now().Add(10*time.Minute))
	if errors.Is(err, redisstore.ErrNotReplicated) {
		log.Print("the primary has the logout, no replica yet: answer 503, it is written again")
	}
}
