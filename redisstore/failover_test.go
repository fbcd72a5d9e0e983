package redisstore_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stytchguard/stytchguard/redisstore/redistest"
)

// failovers is how many times the failover test kills the primary.
const failovers = 5

// attempt is one Revoke of the failover test's stream.
type attempt struct {
	id    string
	at    time.Time // when Revoke returned
	acked bool      // it returned nil
}

// testFailoverLosesNoAcknowledgedLogout runs two instances, A and B, each
// with its own client, while A revokes a session every 2 ms and the
// primary holding the revocations is killed (SIGKILL) and its replica
// promoted, failovers times, each once both instances are back in step
// after the last. Every logout A acknowledged must then be
// revoked on A, on B and in Redis (an instance started afterwards); the
// ones A refused must be there too once A's queue drained; and each
// acknowledged logout must reach B's mirror within a second, failovers
// included.
func testFailoverLosesNoAcknowledgedLogout(t *testing.T, d redistest.Deployment) {
	rep := d.(redistest.Replicated)
	ctx := context.Background()
	const project = "project-test-failover"
	k := setKey(project, "revoked")
	a := newProjectStore(t, d.Connect(), project, nil)
	b := newProjectStore(t, d.Connect(), project, nil)

	var (
		mu       sync.Mutex
		attempts []attempt
		seen     = map[string]time.Duration{} // acknowledged id -> how long until B had it
	)
	acked := make(chan attempt, 1<<16)
	stop := make(chan struct{})
	streamDone := make(chan struct{})
	go func() { // A: a stream of logouts
		defer close(streamDone)
		defer close(acked)
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			id := fmt.Sprintf("session-test-failover-%06d", i)
			err := a.Revoke(ctx, id, time.Now().Add(time.Hour))
			at := attempt{id: id, at: time.Now(), acked: err == nil}
			mu.Lock()
			attempts = append(attempts, at)
			mu.Unlock()
			if at.acked {
				acked <- at
			}
			time.Sleep(2 * time.Millisecond)
		}
	}()
	watchDone := make(chan struct{})
	go func() { // B: when does each acknowledged logout reach its mirror?
		defer close(watchDone)
		var waiting []attempt
		for open := true; open || len(waiting) > 0; {
		drain:
			for {
				select {
				case at, ok := <-acked:
					if !ok {
						open = false
						break drain
					}
					waiting = append(waiting, at)
				default:
					break drain
				}
			}
			waiting = slices.DeleteFunc(waiting, func(at attempt) bool {
				switch {
				case b.IsRevoked(ctx, at.id):
					mu.Lock()
					seen[at.id] = time.Since(at.at)
					mu.Unlock()
					return true
				case time.Since(at.at) > 10*time.Second:
					return true // never: counted as lost on B
				}
				return false
			})
			time.Sleep(time.Millisecond)
		}
	}()
	acks := func() int {
		mu.Lock()
		defer mu.Unlock()
		n := 0
		for _, at := range attempts {
			if at.acked {
				n++
			}
		}
		return n
	}
	// Between failovers, 20 logouts are acknowledged and both instances
	// are back in step (connected, resynchronised, nothing queued): a
	// failover does not follow the last one by a few milliseconds.
	flowing := func(when string) {
		n := acks()
		if !waitFor(func() bool {
			return acks() >= n+20 && a.Ready(ctx) == nil && b.Ready(ctx) == nil
		}, 10*time.Second) {
			t.Fatalf("%s: %d logouts acknowledged after %d; A ready: %v; B ready: %v", when, acks(), n, a.Ready(ctx), b.Ready(ctx))
		}
	}
	var fs []redistest.Failover
	start := time.Now()
	for i := range failovers {
		flowing(fmt.Sprintf("before failover %d", i+1))
		fs = append(fs, rep.Failover(k))
	}
	flowing("after the last failover")
	close(stop)
	<-streamDone
	<-watchDone
	elapsed := time.Since(start)

	// What A could not have acknowledged is queued: once the queue drains,
	// every logout of the stream is in Redis.
	if !waitFor(func() bool { return a.Pending() == 0 }, 10*time.Second) {
		t.Fatalf("%d logouts still queued on A", a.Pending())
	}
	later := newProjectStore(t, d.Connect(), project, nil) // reads Redis only
	var lostRedis, lostA, lostB, refused, refusedMissing int
	var lat []time.Duration
	var missing []string // what went missing where, for the log
	where := func(at attempt, inRedis, onB bool) {
		since := "before the first failover"
		for i, f := range fs {
			if !at.at.Before(f.KilledAt) {
				since = fmt.Sprintf("%v after kill %d", at.at.Sub(f.KilledAt).Round(time.Millisecond), i+1)
			}
		}
		missing = append(missing, fmt.Sprintf("%s (acknowledged %v, %s): in Redis %v, on B %v", at.id, at.acked, since, inRedis, onB))
	}
	for _, at := range attempts {
		inRedis := later.IsRevoked(ctx, at.id)
		if !at.acked {
			refused++
			if onB := waitFor(func() bool { return b.IsRevoked(ctx, at.id) }, time.Second); !inRedis || !onB {
				refusedMissing++
				where(at, inRedis, onB)
			}
			continue
		}
		if !inRedis {
			lostRedis++
		}
		if !a.IsRevoked(ctx, at.id) {
			lostA++
		}
		took, onB := seen[at.id]
		if onB {
			lat = append(lat, took)
		} else {
			lostB++
		}
		if !inRedis || !onB {
			where(at, inRedis, onB)
		}
	}
	slices.Sort(lat)
	pct := func(p int) time.Duration {
		if len(lat) == 0 {
			return 0
		}
		return lat[min(len(lat)-1, len(lat)*p/100)]
	}
	t.Logf("%d failovers in %v: %d logouts from A, %d acknowledged, %d refused (an error: a 503) and queued",
		len(fs), elapsed.Round(time.Millisecond), len(attempts), len(attempts)-refused, refused)
	t.Logf("acknowledged but lost: %d in Redis, %d on A, %d on B; refused and missing once A's queue drained: %d",
		lostRedis, lostA, lostB, refusedMissing)
	t.Logf("A to B, acknowledged logouts: p50 %v, p99 %v, max %v", pct(50), pct(99), pct(100))
	for i, f := range fs {
		var failed int
		var firstAck *attempt
		var slowest time.Duration
		for _, at := range attempts {
			if at.at.Before(f.KilledAt) || at.at.After(f.Healed.Add(time.Second)) {
				continue
			}
			if !at.acked {
				failed++
				continue
			}
			if firstAck == nil {
				firstAck = &at
			}
			slowest = max(slowest, seen[at.id])
		}
		line := fmt.Sprintf("failover %d: %s killed, %s promoted %v later, healed %v later; %d logouts refused",
			i+1, f.Killed, f.Promoted, f.PromotedAt.Sub(f.KilledAt).Round(time.Millisecond), f.Healed.Sub(f.KilledAt).Round(time.Millisecond), failed)
		if firstAck != nil {
			line += fmt.Sprintf(", the first acknowledged %v after the kill and on B %v later; the slowest to B until 1 s after healing %v",
				firstAck.at.Sub(f.KilledAt).Round(time.Millisecond), seen[firstAck.id].Round(time.Microsecond), slowest.Round(time.Microsecond))
		}
		t.Log(line)
	}
	if lostRedis+lostA+lostB+refusedMissing > 0 {
		t.Logf("missing: %s", strings.Join(missing[:min(len(missing), 10)], "; "))
		t.Errorf("lost: %d acknowledged logouts in Redis, %d on A, %d on B; %d refused ones never written", lostRedis, lostA, lostB, refusedMissing)
	}
	if len(lat) > 0 && lat[len(lat)-1] >= time.Second {
		t.Errorf("an acknowledged logout took %v to reach B, want under 1 s", lat[len(lat)-1])
	}
}
