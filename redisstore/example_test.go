package redisstore_test

import (
	"context"
	"log"
	"net/http"

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
