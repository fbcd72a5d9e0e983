package memstore

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestListDropsInExpiryOrder(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name            string
		size            int
		expired, live   int
		wantDropped     int
		wantLiveRevoked int
	}{
		// Room for every live one: only expired ones go, whatever the
		// shards their ids hash to.
		{"expired make room", 1000, 900, 1000, 0, 1000},
		{"a few expired among many live", 1000, 10, 1000, 0, 1000},
		// Full of live ones: the soonest to end go, and are counted.
		{"full of live revocations", 1000, 0, 1500, 500, 1000},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			now := time.Now()
			var mu sync.Mutex
			clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
			var logs bytes.Buffer
			l := NewList(Config{Size: tt.size, Now: clock, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
			for i := range tt.expired {
				_ = l.Revoke(ctx, fmt.Sprint("expired-", i), now.Add(time.Second))
			}
			mu.Lock()
			now = now.Add(2 * time.Second) // they expire
			mu.Unlock()
			for i := range tt.live {
				_ = l.Revoke(ctx, fmt.Sprint("live-", i), now.Add(time.Duration(i+1)*time.Second))
			}
			if l.Len() > tt.size {
				t.Fatalf("%d entries, bound %d", l.Len(), tt.size)
			}
			if got := int(l.Dropped()); got != tt.wantDropped {
				t.Fatalf("dropped %d unexpired revocations, want %d", got, tt.wantDropped)
			}
			revoked := 0
			for i := range tt.live {
				if l.IsRevoked(ctx, fmt.Sprint("live-", i)) {
					revoked++
				} else if i >= tt.wantDropped {
					t.Fatalf("live-%d was dropped before one that ends sooner", i)
				}
			}
			if revoked != tt.wantLiveRevoked {
				t.Fatalf("%d live revocations held, want %d", revoked, tt.wantLiveRevoked)
			}
			if l.IsRevoked(ctx, "expired-3") {
				t.Fatal("an expired revocation still counts")
			}
			if logged := strings.Contains(logs.String(), "revocation list is full"); logged != (tt.wantDropped > 0) {
				t.Fatalf("logged a drop: %v, want %v: %s", logged, tt.wantDropped > 0, logs.String())
			}
		})
	}
}

func TestListKeepsTheLaterEnd(t *testing.T) {
	ctx := context.Background()
	now := time.Now()
	l := NewList(Config{Now: func() time.Time { return now }})
	_ = l.Revoke(ctx, "s", now.Add(time.Hour))
	_ = l.Revoke(ctx, "s", now.Add(time.Minute)) // an earlier end does not shorten it
	_ = l.Revoke(ctx, "past", now.Add(-time.Second))
	if !l.IsRevoked(ctx, "s") || l.Len() != 1 {
		t.Fatalf("revoked %v, len %d", l.IsRevoked(ctx, "s"), l.Len())
	}
}

// TestRemoteKeepsSessionsApartFromGone: a storm of "gone" answers evicts
// only other gone answers, never a session.
func TestRemoteKeepsSessionsApartFromGone(t *testing.T) {
	type entry struct {
		until time.Time
		gone  bool
	}
	ctx := context.Background()
	now := time.Now()
	c := NewRemote(10, func() time.Time { return now },
		func(e *entry) time.Time { return e.until }, func(e *entry) bool { return e.gone })
	c.Set(ctx, "expired", &entry{until: now.Add(-time.Second)})
	if _, ok := c.Get(ctx, "expired"); ok {
		t.Fatal("an expired entry was returned")
	}
	for i := range 10 {
		c.Set(ctx, fmt.Sprint("live-", i), &entry{until: now.Add(time.Minute)})
	}
	for i := range 10_000 {
		c.Set(ctx, fmt.Sprint("dead-", i), &entry{until: now.Add(time.Minute), gone: true})
	}
	for i := range 10 {
		if e, ok := c.Get(ctx, fmt.Sprint("live-", i)); !ok || e.gone {
			t.Fatalf("live-%d was evicted by gone answers", i)
		}
	}
	c.Set(ctx, "live-0", &entry{until: now.Add(time.Minute), gone: true})
	if e, _ := c.Get(ctx, "live-0"); e == nil || !e.gone {
		t.Fatal("a session answer outlived the gone answer that replaced it")
	}
}

// TestMarksCoverWhatTheyDrop: past its size, a mark dropped for room is
// covered by a mark of everyone, so no change is forgotten.
func TestMarksCoverWhatTheyDrop(t *testing.T) {
	ctx := context.Background()
	now := time.Now()
	m := NewMarks(Config{Size: 10, Now: func() time.Time { return now }})
	for i := range 20 {
		_ = m.Mark(ctx, fmt.Sprint("member-", i), now.Add(time.Duration(i+1)*time.Minute))
	}
	for i := range 20 {
		if _, ok := m.MarkedUntil(ctx, fmt.Sprint("member-", i)); !ok {
			t.Fatalf("member-%d is not marked, dropped without a mark of everyone", i)
		}
	}
	if _, ok := m.MarkedUntil(ctx, "someone-else"); !ok || m.Dropped() == 0 {
		t.Fatalf("no mark of everyone after %d drops", m.Dropped())
	}
}
