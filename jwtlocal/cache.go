package jwtlocal

import (
	"hash/maphash"
	"strings"
	"sync"
	"sync/atomic"
)

// cacheShards splits the verified-token cache so that writers on several
// cores rarely wait on the same lock: an addition, an eviction or an aged
// hit's move takes its shard's lock. Lookups take none.
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

// cacheShard is one LRU of the cache: a table from hash to entry, and a
// list threaded through the entries themselves, newest first. A hit moves its
// entry to the front only when the entry has fallen out of the shard's
// newest quarter: moving an entry that is near the front anyway would change
// no eviction, and costs a lock and writes to three entries on every
// request. With a shard of fewer than four entries, every hit moves it, as a
// plain LRU's.
//
// A lookup takes no lock: it reads the table through atomic loads, so that
// cores serving hits write nothing they share (a read lock's count is such a
// write, and on a multi-core machine its cache line travels between cores on
// every request). Writers (additions, evictions, removals, moves) take mu.
//
// The list lives in the entries, not in a list of its own, so that a hit
// reads one table slot and one entry: the entry is the cache's only object
// per token besides the token and the session it holds.
type cacheShard struct {
	table atomic.Pointer[slotTable]
	// gen counts the shard's additions and moves; an entry records the
	// count at its own last one, so gen - entry.gen is how many entries
	// went in front of it since.
	gen   atomic.Uint64
	fresh uint64 // a quarter of the shard's size
	size  int

	mu   sync.Mutex
	n    int        // entries in the table and the list
	head cacheEntry // the list's sentinel: head.next is the newest, head.prev the oldest
}

// slotTable is an open-addressing hash table of entries with linear probing,
// at most half full: a lookup stops at the first empty slot. Readers load
// slots atomically while a writer, holding its shard's lock, stores them; a
// reader racing a deletion's shift can miss an entry (a verification more,
// never a wrong session) but never loops, as there is always an empty slot.
// A table that would pass half full is replaced by one twice its size, and
// readers still on the old one miss only what was added since.
type slotTable struct {
	slots []atomic.Pointer[cacheEntry]
	mask  uint64
}

func newSlotTable(n int) *slotTable {
	return &slotTable{slots: make([]atomic.Pointer[cacheEntry], n), mask: uint64(n - 1)}
}

// home is h's first slot. The shard was chosen by h's low bits; the slot
// comes from others.
func (t *slotTable) home(h uint64) uint64 { return (h >> 8) & t.mask }

// lookup returns the entry under h, nil when there is none.
func (t *slotTable) lookup(h uint64) *cacheEntry {
	_, e := t.find(h)
	return e
}

// find returns the slot of the entry under h and the entry, or the first
// empty slot from h's home and nil. It probes at most every slot once: a
// reader racing writers may find no empty slot on its way, a writer (which
// holds the shard's lock, so the table is at most half full) always does.
func (t *slotTable) find(h uint64) (uint64, *cacheEntry) {
	i := t.home(h)
	for range len(t.slots) {
		e := t.slots[i].Load()
		if e == nil || e.h == h {
			return i, e
		}
		i = (i + 1) & t.mask
	}
	return i, nil
}

// delete empties slot i and shifts back the entries after it that would
// otherwise be cut off from their home slot. The caller holds the shard's
// lock.
func (t *slotTable) delete(i uint64) {
	for j := (i + 1) & t.mask; ; j = (j + 1) & t.mask {
		e := t.slots[j].Load()
		if e == nil {
			break
		}
		// e stays when its home is cyclically in (i, j]: moved to i it
		// would sit before its home.
		if k := t.home(e.h); (i < j && (k <= i || k > j)) || (i > j && k <= i && k > j) {
			t.slots[i].Store(e)
			i = j
		}
	}
	t.slots[i].Store(nil)
}

type cacheEntry struct {
	token string
	v     *Verified
	// from and until bound, in Unix nanoseconds, the clock readings at which
	// check would pass v: a hit inside them is two comparisons. Outside,
	// check itself says why not.
	from, until int64
	gen         atomic.Uint64
	// h is the entry's key. prev and next link it in its shard's list, nil
	// once it has left the shard; they change under the shard's lock, and
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

// minSlots is a shard's first table size; tables grow as entries come.
const minSlots = 16

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
	e := s.table.Load().lookup(h)
	// token and v never change once the entry is in the table.
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
	t := s.table.Load()
	i, old := t.find(h)
	if old != nil { // another token under the same key: e takes its slot
		old.unlink()
	} else {
		if s.n >= s.size {
			s.drop(t, s.head.prev)
		}
		if 2*(s.n+1) > len(t.slots) {
			t = s.grow(t)
		}
		i, _ = t.find(h) // the drop or the growth may have moved the empty slot
		s.n++
	}
	t.slots[i].Store(e)
	s.pushFront(e)
}

// drop takes e, which is in t, out of the shard. The caller holds s.mu.
func (s *cacheShard) drop(t *slotTable, e *cacheEntry) {
	i, _ := t.find(e.h)
	e.unlink()
	t.delete(i)
	s.n--
}

// grow replaces t with a table twice its size holding the same entries,
// and returns it. The caller holds s.mu.
func (s *cacheShard) grow(t *slotTable) *slotTable {
	bigger := newSlotTable(2 * len(t.slots))
	for e := s.head.next; e != &s.head; e = e.next {
		i, _ := bigger.find(e.h)
		bigger.slots[i].Store(e)
	}
	s.table.Store(bigger)
	return bigger
}

// remove takes e out of the cache, unless another entry has taken its key
// since.
func (c *tokenCache) remove(e *cacheEntry) {
	s := c.shard(e.h)
	s.mu.Lock()
	defer s.mu.Unlock()
	if t := s.table.Load(); t.lookup(e.h) == e {
		s.drop(t, e)
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
	s.table.Store(newSlotTable(minSlots))
	s.n = 0
	s.head.prev, s.head.next = &s.head, &s.head
}

func (c *tokenCache) len() int {
	n := 0
	for i := range c.shards {
		s := &c.shards[i]
		s.mu.Lock()
		n += s.n
		s.mu.Unlock()
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
