package jwtlocal

import (
	"hash/maphash"

	lru "github.com/hashicorp/golang-lru/v2"
)

// tokenCache remembers verified tokens. Keys are a per-process seeded 64-bit
// hash of the token, and each entry keeps the token itself to compare on a
// hit: a hash collision can cost a verification, never a wrong session.
type tokenCache struct {
	seed maphash.Seed
	lru  *lru.Cache[uint64, cacheEntry]
}

type cacheEntry struct {
	token string
	v     *Verified
}

func newTokenCache(size int) *tokenCache {
	c, err := lru.New[uint64, cacheEntry](size)
	if err != nil {
		panic("jwtlocal: " + err.Error()) // size > 0 is checked by New
	}
	return &tokenCache{seed: maphash.MakeSeed(), lru: c}
}

func (c *tokenCache) get(token string) (*Verified, uint64, bool) {
	h := maphash.String(c.seed, token)
	e, ok := c.lru.Get(h)
	if !ok || e.token != token {
		return nil, h, false
	}
	return e.v, h, true
}

func (c *tokenCache) add(h uint64, token string, v *Verified) {
	c.lru.Add(h, cacheEntry{token: token, v: v})
}

func (c *tokenCache) remove(h uint64) { c.lru.Remove(h) }

func (c *tokenCache) len() int { return c.lru.Len() }

func (c *tokenCache) purge() { c.lru.Purge() }
