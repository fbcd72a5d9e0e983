package redisstore

import (
	"context"
	"encoding/json"
	"errors"

	"github.com/redis/go-redis/v9"

	"github.com/stytchguard/stytchguard/middleware"
)

// Get implements middleware.RemoteCache: the local copy first, then Redis
// (within RemoteTimeout), whose answer is kept locally. While Redis is known
// to be unreachable it is not asked: a miss costs the request nothing more
// than the local lookup, and the middleware asks Stytch within its budget.
func (s *Store) Get(ctx context.Context, key string) (*middleware.RemoteEntry, bool) {
	if e, ok := s.local.Get(ctx, key); ok {
		return e, true
	}
	if !s.connected.Load() {
		return nil, false
	}
	ctx, cancel := context.WithTimeout(ctx, s.cfg.RemoteTimeout)
	defer cancel()
	b, err := s.client.Get(ctx, s.remoteKey+key).Bytes()
	if err != nil {
		if !errors.Is(err, redis.Nil) && !errors.Is(err, context.Canceled) {
			s.outage(err)
		}
		return nil, false
	}
	var e middleware.RemoteEntry
	if err := json.Unmarshal(b, &e); err != nil || !e.Until.After(s.cfg.Now()) {
		return nil, false
	}
	s.local.Set(ctx, key, &e)
	return &e, true
}

// Set implements middleware.RemoteCache: locally, and in Redis with the
// entry's remaining life as its TTL. The key is the digest the middleware
// passes; the value is the answer, which holds no credential.
func (s *Store) Set(ctx context.Context, key string, e *middleware.RemoteEntry) {
	s.local.Set(ctx, key, e)
	ttl := e.Until.Sub(s.cfg.Now())
	if ttl <= 0 || !s.connected.Load() {
		return
	}
	b, err := json.Marshal(e)
	if err != nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.cfg.Timeout)
	defer cancel()
	if err := s.client.Set(ctx, s.remoteKey+key, b, ttl).Err(); err != nil {
		s.outage(err)
	}
}

// Delete implements middleware.RemoteCache, locally and in Redis.
func (s *Store) Delete(ctx context.Context, key string) {
	s.local.Delete(ctx, key)
	if !s.connected.Load() {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.cfg.Timeout)
	defer cancel()
	if err := s.client.Del(ctx, s.remoteKey+key).Err(); err != nil {
		s.outage(err)
	}
}
