package jwtlocal

import (
	"fmt"
	"slices"
	"testing"
)

// TestCacheShardIsAnLRU drives one shard of two entries (so every hit
// moves its entry, as in a plain LRU) through additions, hits, removals and
// purges, and checks after each step which tokens it holds, oldest first,
// and that its map and its list agree.
func TestCacheShardIsAnLRU(t *testing.T) {
	type step struct {
		op    string // add, get, remove, replace (add another token under the key of the one named), purge
		token string
		want  []string // the shard's tokens afterwards, oldest first
	}
	tests := []struct {
		name  string
		steps []step
	}{
		{"the oldest leaves", []step{
			{"add", "a", []string{"a"}}, {"add", "b", []string{"a", "b"}}, {"add", "c", []string{"b", "c"}},
		}},
		{"a hit makes a token the newest", []step{
			{"add", "a", []string{"a"}}, {"add", "b", []string{"a", "b"}}, {"get", "a", []string{"b", "a"}},
			{"add", "c", []string{"a", "c"}},
		}},
		{"an entry removed once its key was taken stays out", []step{
			{"add", "a", []string{"a"}}, {"replace", "a", []string{"a'"}}, {"remove", "a", []string{"a'"}},
		}},
		{"remove", []step{
			{"add", "a", []string{"a"}}, {"add", "b", []string{"a", "b"}}, {"remove", "a", []string{"b"}},
			{"add", "c", []string{"b", "c"}},
		}},
		{"purge, then use again", []step{
			{"add", "a", []string{"a"}}, {"add", "b", []string{"a", "b"}}, {"purge", "", nil},
			{"get", "a", nil}, {"add", "c", []string{"c"}},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newTokenCache(2 * cacheShards)
			s := c.shard(0)
			tokens := shardTokens(c, 0, "a", "b", "c")
			entries := map[string]*cacheEntry{}
			for i, st := range tt.steps {
				tok := tokens[st.token]
				switch st.op {
				case "add":
					c.add(c.hash(tok), tok, &Verified{Subject: st.token}, 0, 0)
					entries[st.token], _, _ = c.get(tok)
				case "get":
					c.get(tok)
				case "replace": // a token of its own under tok's key: a tail collision
					c.add(c.hash(tok), tok+"'", &Verified{Subject: st.token + "'"}, 0, 0)
				case "remove":
					c.remove(entries[st.token])
				case "purge":
					c.purge()
				}
				if got := shardOrder(t, s); !slices.Equal(got, st.want) {
					t.Fatalf("step %d (%s %s): shard holds %v, want %v", i, st.op, st.token, got, st.want)
				}
			}
		})
	}
}

// shardTokens returns a token for each name whose key falls in shard n.
func shardTokens(c *tokenCache, n int, names ...string) map[string]string {
	tokens := map[string]string{}
	for i := 0; len(tokens) < len(names); i++ {
		tok := fmt.Sprintf("token-%d", i)
		if c.hash(tok)%cacheShards == uint64(n) {
			tokens[names[len(tokens)]] = tok
		}
	}
	return tokens
}

// shardOrder returns the subjects s holds, oldest first, after checking
// that its list, walked both ways, and its map hold the same entries.
func shardOrder(t *testing.T, s *cacheShard) []string {
	t.Helper()
	var back, fwd []string
	for e := s.head.prev; e != &s.head; e = e.prev {
		if s.m[e.h] != e {
			t.Fatalf("%s is in the list, not in the map", e.v.Subject)
		}
		back = append(back, e.v.Subject)
	}
	for e := s.head.next; e != &s.head; e = e.next {
		fwd = append(fwd, e.v.Subject)
	}
	slices.Reverse(fwd)
	if !slices.Equal(back, fwd) || len(back) != len(s.m) {
		t.Fatalf("list %v backwards, %v forwards, %d in the map", back, fwd, len(s.m))
	}
	return back
}

// TestCacheUnderConcurrentUse: hits, additions, evictions and removals from
// several goroutines (run it with -race) leave every shard within its size
// and its list agreeing with its map.
func TestCacheUnderConcurrentUse(t *testing.T) {
	c := newTokenCache(4 * cacheShards)
	done := make(chan struct{})
	for g := range 4 {
		go func() {
			defer func() { done <- struct{}{} }()
			for i := range 2000 {
				tok := fmt.Sprintf("token-%d", (g*7+i)%200)
				h := c.hash(tok)
				switch e, _, ok := c.get(tok); {
				case ok && i%5 == 0:
					c.remove(e)
				case !ok:
					c.add(h, tok, &Verified{Subject: tok}, 0, 0)
				}
			}
		}()
	}
	for range 4 {
		<-done
	}
	for i := range c.shards {
		s := &c.shards[i]
		if n := len(shardOrder(t, s)); n > s.size {
			t.Fatalf("shard %d holds %d entries, size %d", i, n, s.size)
		}
	}
}
