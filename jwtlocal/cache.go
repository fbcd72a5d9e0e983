package jwtlocal

import (
	"hash/maphash"
	"strings"
	"sync/atomic"

	lru "github.com/hashicorp/golang-lru/v2"
)

// cacheShards splits the verified-token cache so that requests on several
// cores rarely wait on the same lock: an LRU hit moves the entry, so each
// lookup takes its shard's lock exclusively.
const cacheShards = 16

// tokenCache remembers verified tokens. Keys are a per-process seeded 64-bit
// hash of the token's last hashedTail bytes, and each entry keeps the whole
// token to compare on a hit: a hash collision can cost a verification, never
// a wrong session.
//
// The tail of a JWS is its signature, as random as a hash for any token
// that could verify, so hashing it alone spreads valid tokens as well as
// hashing the whole 1-2 KB, at a quarter of the cost. Garbage sharing a live
// token's tail lands in its bucket but never matches it, and is never added
// (it does not verify), so it can evict nothing.
type tokenCache struct {
	seed   maphash.Seed
	shards [cacheShards]cacheShard
}

// cacheShard is one LRU of the cache. A hit moves its entry to the front
// only when the entry has fallen out of the shard's newest quarter: moving
// an entry that is near the front anyway would change no eviction, and
// costs a write to three entries and the list on every request. With a
// shard of fewer than four entries, every hit moves it, as a plain LRU's.
type cacheShard struct {
	lru *lru.Cache[uint64, *cacheEntry]
	// gen counts the shard's additions and moves; an entry records the
	// count at its own last one, so gen - entry.gen is how many entries
	// went in front of it since.
	gen   atomic.Uint64
	fresh uint64 // a quarter of the shard's size
}

type cacheEntry struct {
	token string
	v     *Verified
	// from and until bound, in Unix nanoseconds, the clock readings at which
	// check would pass v: a hit inside them is two comparisons. Outside,
	// check itself says why not.
	from, until int64
	gen         atomic.Uint64
}

func newTokenCache(size int) *tokenCache {
	c := &tokenCache{seed: maphash.MakeSeed()}
	per := max(1, (size+cacheShards-1)/cacheShards)
	for i := range c.shards {
		s, err := lru.New[uint64, *cacheEntry](per)
		if err != nil {
			panic("jwtlocal: " + err.Error()) // per > 0
		}
		c.shards[i] = cacheShard{lru: s, fresh: uint64(per / 4)}
	}
	return c
}

func (c *tokenCache) shard(h uint64) *cacheShard {
	return &c.shards[h%cacheShards]
}

// hashedTail is how much of a token's end the cache hashes: 64 bytes of
// base64url, 384 bits of its signature.
const hashedTail = 64

func (c *tokenCache) hash(token string) uint64 {
	if len(token) > hashedTail {
		token = token[len(token)-hashedTail:]
	}
	return maphash.String(c.seed, token)
}

func (c *tokenCache) get(token string) (*cacheEntry, uint64, bool) {
	h := c.hash(token)
	s := c.shard(h)
	e, ok := s.lru.Peek(h)
	if !ok || e.token != token {
		return nil, h, false
	}
	if s.gen.Load()-e.gen.Load() > s.fresh {
		e.gen.Store(s.gen.Add(1))
		s.lru.Get(h) // to the front
	}
	return e, h, true
}

// add keeps a copy of token: the caller's is often a slice of a whole
// Cookie header (up to net/http's 1 MB of it), which an entry must not pin.
// from and until are v's validity window (see cacheEntry).
func (c *tokenCache) add(h uint64, token string, v *Verified, from, until int64) {
	s := c.shard(h)
	e := &cacheEntry{token: strings.Clone(token), v: v, from: from, until: until}
	e.gen.Store(s.gen.Add(1))
	s.lru.Add(h, e)
}

func (c *tokenCache) remove(h uint64) { c.shard(h).lru.Remove(h) }

func (c *tokenCache) len() int {
	n := 0
	for i := range c.shards {
		n += c.shards[i].lru.Len()
	}
	return n
}

func (c *tokenCache) purge() {
	for i := range c.shards {
		c.shards[i].lru.Purge()
	}
}
