package memstore

import (
	"context"
	"time"

	lru "github.com/hashicorp/golang-lru/v2"
)

// Remote is the in-memory middleware.RemoteCache: two bounded LRUs, one for
// sessions and one for "gone" answers, so that a storm of dead tokens
// evicts only other dead tokens. E is middleware.RemoteEntry, read through
// the functions NewRemote takes (this package cannot import middleware).
type Remote[E any] struct {
	now      func() time.Time
	until    func(*E) time.Time
	isGone   func(*E) bool
	sessions *lru.Cache[string, *E]
	gone     *lru.Cache[string, *E]
}

// NewRemote returns an empty cache of at most size sessions and size "gone"
// answers (10,000 each when size <= 0), judged by the clock now (time.Now
// when nil); until and gone read an entry's end and whether it says gone.
func NewRemote[E any](size int, now func() time.Time, until func(*E) time.Time, gone func(*E) bool) *Remote[E] {
	if size <= 0 {
		size = 10_000
	}
	if now == nil {
		now = time.Now
	}
	sessions, _ := lru.New[string, *E](size) // size > 0: no error
	goneLRU, _ := lru.New[string, *E](size)
	return &Remote[E]{now: now, until: until, isGone: gone, sessions: sessions, gone: goneLRU}
}

// Get implements middleware.RemoteCache.
func (c *Remote[E]) Get(_ context.Context, key string) (*E, bool) {
	for _, l := range [...]*lru.Cache[string, *E]{c.sessions, c.gone} {
		e, ok := l.Get(key)
		if !ok {
			continue
		}
		if !c.until(e).After(c.now()) {
			l.Remove(key)
			return nil, false
		}
		return e, true
	}
	return nil, false
}

// Set implements middleware.RemoteCache.
func (c *Remote[E]) Set(_ context.Context, key string, e *E) {
	if c.isGone(e) {
		c.sessions.Remove(key)
		c.gone.Add(key, e)
		return
	}
	c.gone.Remove(key)
	c.sessions.Add(key, e)
}

// Delete implements middleware.RemoteCache.
func (c *Remote[E]) Delete(_ context.Context, key string) {
	c.sessions.Remove(key)
	c.gone.Remove(key)
}

// Len returns how many answers are held, sessions and gone ones, for a
// gauge (middleware.Stats).
func (c *Remote[E]) Len() int { return c.sessions.Len() + c.gone.Len() }
