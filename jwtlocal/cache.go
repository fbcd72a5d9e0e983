package jwtlocal

import (
	"hash/maphash"
	"strings"
	"sync"
	"sync/atomic"
)

// cacheShards splits the verified-token cache so that requests on several
// cores rarely wait on the same lock: an addition, an eviction or an aged
// hit's move takes its shard's lock exclusively.
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

// cacheShard is one LRU of the cache: a map from hash to entry, and a list
// threaded through the entries themselves, newest first. A hit moves its
// entry to the front only when the entry has fallen out of the shard's
// newest quarter: moving an entry that is near the front anyway would change
// no eviction, and costs a write lock and writes to three entries on every
// request. With a shard of fewer than four entries, every hit moves it, as a
// plain LRU's.
//
// The list lives in the entries, not in a list of its own, so that a hit
// reads one map slot and one entry: the entry is the cache's only object per
// token besides the token and the session it holds.
type cacheShard struct {
	mu   sync.RWMutex
	m    map[uint64]*cacheEntry
	head cacheEntry // the list's sentinel: head.next is the newest, head.prev the oldest
	size int
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
	// h is the entry's key; prev and next link it in its shard's list, nil
	// once it has left the shard. All three change under the shard's lock;
	// the fields above never change.
	h          uint64
	prev, next *cacheEntry
}

func newTokenCache(size int) *tokenCache {
	c := &tokenCache{seed: maphash.MakeSeed()}
	per := max(1, (size+cacheShards-1)/cacheShards)
	for i := range c.shards {
		s := &c.shards[i]
		s.size, s.fresh = per, uint64(per/4)
		s.reset()
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
	s.mu.RLock()
	e := s.m[h]
	s.mu.RUnlock()
	// token and v never change once the entry is in the map: read unlocked.
	if e == nil || e.token != token {
		return nil, h, false
	}
	if s.gen.Load()-e.gen.Load() > s.fresh {
		s.mu.Lock()
		if e.next != nil { // still in the shard
			e.unlink()
			s.pushFront(e)
		}
		s.mu.Unlock()
	}
	return e, h, true
}

// add keeps a copy of token: the caller's is often a slice of a whole
// Cookie header (up to net/http's 1 MB of it), which an entry must not pin.
// from and until are v's validity window (see cacheEntry). The shard's
// oldest entry leaves when it is full.
func (c *tokenCache) add(h uint64, token string, v *Verified, from, until int64) {
	s := c.shard(h)
	e := &cacheEntry{token: strings.Clone(token), v: v, from: from, until: until, h: h}
	s.mu.Lock()
	defer s.mu.Unlock()
	if old := s.m[h]; old != nil {
		old.unlink()
	} else if len(s.m) >= s.size {
		oldest := s.head.prev
		oldest.unlink()
		delete(s.m, oldest.h)
	}
	s.m[h] = e
	s.pushFront(e)
}

// remove takes e out of the cache, unless another entry has taken its key
// since.
func (c *tokenCache) remove(e *cacheEntry) {
	s := c.shard(e.h)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.m[e.h] == e {
		e.unlink()
		delete(s.m, e.h)
	}
}

// pushFront links e as the newest entry and records the shard's count in
// it. The caller holds s.mu.
func (s *cacheShard) pushFront(e *cacheEntry) {
	e.prev, e.next = &s.head, s.head.next
	s.head.next.prev = e
	s.head.next = e
	e.gen.Store(s.gen.Add(1))
}

// unlink takes e out of its list. The caller holds the shard's lock.
func (e *cacheEntry) unlink() {
	e.prev.next, e.next.prev = e.next, e.prev
	e.prev, e.next = nil, nil
}

// reset empties the shard. The caller holds s.mu, or has s to itself.
func (s *cacheShard) reset() {
	s.m = make(map[uint64]*cacheEntry, s.size)
	s.head.prev, s.head.next = &s.head, &s.head
}

func (c *tokenCache) len() int {
	n := 0
	for i := range c.shards {
		s := &c.shards[i]
		s.mu.RLock()
		n += len(s.m)
		s.mu.RUnlock()
	}
	return n
}

func (c *tokenCache) purge() {
	for i := range c.shards {
		s := &c.shards[i]
		s.mu.Lock()
		for e := s.head.next; e != &s.head; {
			next := e.next
			e.prev, e.next = nil, nil
			e = next
		}
		s.reset()
		s.mu.Unlock()
	}
}
