package jwtlocal

import (
	"fmt"
	"math/rand/v2"
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
// that its list, walked both ways, and its table hold the same entries.
func shardOrder(t *testing.T, s *cacheShard) []string {
	t.Helper()
	table := s.table.Load()
	var back, fwd []string
	for e := s.head.prev; e != &s.head; e = e.prev {
		if table.lookup(e.h) != e {
			t.Fatalf("%s is in the list, not in the table", e.v.Subject)
		}
		back = append(back, e.v.Subject)
	}
	for e := s.head.next; e != &s.head; e = e.next {
		fwd = append(fwd, e.v.Subject)
	}
	slices.Reverse(fwd)
	inTable := 0
	for i := range table.slots {
		if table.slots[i].Load() != nil {
			inTable++
		}
	}
	if !slices.Equal(back, fwd) || len(back) != inTable || len(back) != s.n {
		t.Fatalf("list %v backwards, %v forwards, %d in the table, count %d", back, fwd, inTable, s.n)
	}
	if 2*inTable > len(table.slots) {
		t.Fatalf("table of %d slots holds %d", len(table.slots), inTable)
	}
	return back
}

// TestSlotTableFindsWhatItHolds inserts and deletes keys that crowd a few
// home slots, around the table's end too, and checks after every step that
// each key held is found and each key deleted is not: a deletion's shift
// must never cut an entry off from its home.
func TestSlotTableFindsWhatItHolds(t *testing.T) {
	tests := []struct {
		name  string
		homes []uint64 // the home slots keys are drawn from
	}{
		{"one home", []uint64{3}},
		{"neighbours", []uint64{5, 6, 7}},
		{"around the end", []uint64{14, 15, 0}},
		{"everywhere", []uint64{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			const slots = 16
			rng := rand.New(rand.NewPCG(1, uint64(len(tt.homes))))
			table := newSlotTable(slots)
			held := map[uint64]*cacheEntry{}
			for step := range 2000 {
				// A key: its home in the slot bits, a distinct number above.
				h := tt.homes[rng.IntN(len(tt.homes))]<<8 | uint64(rng.IntN(12))<<12
				if e := held[h]; e != nil {
					i, got := table.find(h)
					if got != e {
						t.Fatalf("step %d: find(%x) = %v, want the held entry", step, h, got)
					}
					table.delete(i)
					delete(held, h)
				} else if 2*(len(held)+1) <= slots {
					e := &cacheEntry{h: h}
					i, _ := table.find(h)
					table.slots[i].Store(e)
					held[h] = e
				}
				for k := uint64(0); k < 16<<12; k += 1 << 8 {
					if got, want := table.lookup(k), held[k]; got != want {
						t.Fatalf("step %d: lookup(%x) = %v, want %v", step, k, got, want)
					}
				}
			}
		})
	}
}

// TestCacheUnderConcurrentUse: hits, additions, evictions and removals from
// several goroutines (run it with -race) never answer a token with another's
// entry, and leave every shard within its size and its list agreeing with
// its table.
func TestCacheUnderConcurrentUse(t *testing.T) {
	c := newTokenCache(4 * cacheShards)
	done := make(chan struct{})
	for g := range 4 {
		go func() {
			defer func() { done <- struct{}{} }()
			for i := range 2000 {
				tok := fmt.Sprintf("token-%d", (g*7+i)%200)
				h := c.hash(tok)
				e, _, ok := c.get(tok)
				if ok && e.v.Subject != tok { // get compared the token; the session must be its own too
					t.Errorf("get(%s) answered the entry of %s", tok, e.v.Subject)
					return
				}
				switch {
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
