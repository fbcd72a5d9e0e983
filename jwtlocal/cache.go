package jwtlocal

import (
	"hash/maphash"
	"strings"

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

// hashedTail is how much of a token's end the cache hashes: 64 bytes of
// base64url, 384 bits of its signature.
const hashedTail = 64

func (c *tokenCache) hash(token string) uint64 {
	if len(token) > hashedTail {
		token = token[len(token)-hashedTail:]
	}
	return maphash.String(c.seed, token)
}

func (c *tokenCache) get(token string) (*Verified, uint64, bool) {
	h := c.hash(token)
	e, ok := c.shard(h).Get(h)
	if !ok || e.token != token {
		return nil, h, false
	}
	return e.v, h, true
}

// add keeps a copy of token: the caller's is often a slice of a whole
// Cookie header (up to net/http's 1 MB of it), which an entry must not pin.
func (c *tokenCache) add(h uint64, token string, v *Verified) {
	c.shard(h).Add(h, cacheEntry{token: strings.Clone(token), v: v})
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
