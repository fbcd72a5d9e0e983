package demo

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/stytchguard/stytchguard/middleware"
	"github.com/stytchguard/stytchguard/redisstore"
)

// Stores are the middleware's revocation list and remote cache: shared with
// the app's other instances through Redis when REDIS_URL is set
// (redis://host:port/db), the middleware's in-memory defaults (nil) when it
// is not.
type Stores struct {
	// Revocations and Remote go into middleware.Config.
	Revocations middleware.RevocationList
	Remote      middleware.RemoteCache
	// Where says where they live, for the start-up line: never the URL,
	// which may hold a password.
	Where string

	close func()
}

// OpenStores opens the stores REDIS_URL names for the project. It fails when
// Redis cannot be reached: an instance that cannot see the others' logouts
// should not start.
func OpenStores(ctx context.Context, getenv func(string) string, projectID string, logger *slog.Logger) (*Stores, error) {
	raw := getenv("REDIS_URL")
	if raw == "" {
		return &Stores{Where: "in memory (set REDIS_URL to share them between instances)", close: func() {}}, nil
	}
	opts, err := redis.ParseURL(raw)
	if err != nil {
		return nil, fmt.Errorf("REDIS_URL: not a redis:// URL") // the URL may hold a password: not repeated
	}
	opts.DialTimeout = 2 * time.Second
	rdb := redis.NewClient(opts)
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	store, err := redisstore.New(ctx, redisstore.Config{Client: rdb, ProjectID: projectID, Logger: logger})
	if err != nil {
		rdb.Close()
		return nil, fmt.Errorf("redis at %s: %w", opts.Addr, err)
	}
	return &Stores{
		Revocations: store,
		Remote:      store,
		Where:       fmt.Sprintf("in Redis at %s, db %d, shared with every instance of project %s", opts.Addr, opts.DB, projectID),
		close: func() {
			store.Close()
			rdb.Close()
		},
	}, nil
}

// Close releases the stores.
func (s *Stores) Close() { s.close() }
