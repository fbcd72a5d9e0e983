package jwtlocal

import (
	"hash/maphash"

	lru "github.com/hashicorp/golang-lru/v2"
)

// cacheShards splits the verified-token cache so that requests on several
// cores rarely wait on the same lock: an LRU hit moves the entry, so each
// lookup takes its shard's lock exclusively.
const cacheShards = 16

// tokenCache remembers verified tokens. Keys are a per-process seeded 64-bit
// hash of the token, and each entry keeps the token itself to compare on a
// hit: a hash collision can cost a verification, never a wrong session.
type tokenCache struct {
	seed   maphash.Seed
	shards [cacheShards]*lru.Cache[uint64, cacheEntry]
}

type cacheEntry struct {
	token string
	v     *Verified
}

func newTokenCache(size int) *tokenCache {
	c := &tokenCache{seed: maphash.MakeSeed()}
	per := max(1, (size+cacheShards-1)/cacheShards)
	for i := range c.shards {
		s, err := lru.New[uint64, cacheEntry](per)
		if err != nil {
			panic("jwtlocal: " + err.Error()) // per > 0
		}
		c.shards[i] = s
	}
	return c
}

func (c *tokenCache) shard(h uint64) *lru.Cache[uint64, cacheEntry] {
	return c.shards[h%cacheShards]
}

func (c *tokenCache) get(token string) (*Verified, uint64, bool) {
	h := maphash.String(c.seed, token)
	e, ok := c.shard(h).Get(h)
	if !ok || e.token != token {
		return nil, h, false
	}
	return e.v, h, true
}

func (c *tokenCache) add(h uint64, token string, v *Verified) {
	c.shard(h).Add(h, cacheEntry{token: token, v: v})
}

func (c *tokenCache) remove(h uint64) { c.shard(h).Remove(h) }

func (c *tokenCache) len() int {
	n := 0
	for _, s := range c.shards {
		n += s.Len()
	}
	return n
}

func (c *tokenCache) purge() {
	for _, s := range c.shards {
		s.Purge()
	}
}
