package redisstore

import (
	"cmp"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/stytchguard/stytchguard/internal/memstore"

	"github.com/redis/go-redis/v9"
	"golang.org/x/time/rate"

	"github.com/stytchguard/stytchguard/middleware"
)

// Defaults for Config's zero fields.
const (
	DefaultPrefix         = "stytchguard:"
	DefaultTimeout        = 500 * time.Millisecond
	DefaultRemoteTimeout  = 100 * time.Millisecond
	DefaultLoadTimeout    = 10 * time.Second
	DefaultResyncInterval = time.Minute
	DefaultRemoteSize     = 10_000
	DefaultReplicaTimeout = 500 * time.Millisecond
)

// NoReplicas, as Config.Replicas, makes the primary's answer the
// acknowledgement of a revocation or a mark: no replica is waited for.
const NoReplicas = -1

// ErrNotReplicated is wrapped by the error of Revoke and Mark when the
// primary took the entry but fewer replicas than Config.Replicas asks
// acknowledged it within ReplicaTimeout: a failover now could lose it.
// The entry holds on this instance and is queued, and written again until
// the replicas acknowledge it; the middleware answers the logout 503.
var ErrNotReplicated = errors.New("redisstore: not acknowledged by the replicas in time")

// Config configures New. Client and ProjectID are required; every other zero
// field takes the default its comment names.
type Config struct {
	// Client is the Redis (or Valkey) client; a *redis.Client, a cluster or
	// a failover client. The Store does not close it.
	Client redis.UniversalClient
	// ProjectID is the Stytch project whose sessions the store holds. Keys
	// are namespaced by it, so projects never see each other's revocations.
	ProjectID string
	// Prefix starts every key and channel name. Zero means DefaultPrefix.
	Prefix string
	// Timeout bounds each Redis call of Revoke and of the background worker,
	// and Set and Delete of the remote cache. Zero means DefaultTimeout.
	Timeout time.Duration
	// Replicas is how many replicas must acknowledge (WAIT) a revocation or
	// a mark before Revoke or Mark returns nil. Zero means those connected
	// to the primary at the time of the write, in sync or catching up (its
	// INFO replication): none for a Redis without replicas, which then
	// answers as soon as it has the entry.
	// NoReplicas never waits. More than the primary has makes every logout
	// fail with ErrNotReplicated.
	Replicas int
	// ReplicaTimeout bounds the wait for the replicas; past it, Revoke and
	// Mark return an error wrapping ErrNotReplicated. Revoke and Mark
	// return within Timeout + ReplicaTimeout, whatever the client's own
	// timeouts. Zero means DefaultReplicaTimeout.
	ReplicaTimeout time.Duration
	// RemoteTimeout bounds the remote cache's Get, which sits on a request's
	// path: past it, the middleware asks Stytch as on any miss. Zero means
	// DefaultRemoteTimeout.
	RemoteTimeout time.Duration
	// LoadTimeout bounds the full read of the revocations at start and at
	// each resync. Zero means DefaultLoadTimeout.
	LoadTimeout time.Duration
	// ResyncInterval is how often the worker reloads every revocation from
	// Redis, on top of the reload after each reconnect. Zero means
	// DefaultResyncInterval.
	ResyncInterval time.Duration
	// Size bounds the revocations held: in the local mirror, in Redis, and
	// waiting to reach Redis. Each drops its entries in expiry order. Zero
	// means memstore.DefaultListSize.
	Size int
	// MarksSize bounds the marks of people changed elsewhere, held apart
	// from the revocations in the same three places; past it, the marks
	// that end soonest give way to one mark of everyone (middleware.Marks).
	// Zero means memstore.DefaultMarksSize.
	MarksSize int
	// RemoteSize bounds the local copy of the remote cache. Zero means
	// DefaultRemoteSize.
	RemoteSize int
	// Now is the clock; give it the middleware's. Nil means time.Now.
	Now func() time.Time
	// Logger is told, at most every 10 s, when Redis cannot be reached and
	// when it is back. Nil means none. It never sees a session token, a JWT
	// or Redis credentials; session ids only in counts.
	Logger *slog.Logger
}

// Store is a middleware.RevocationList, middleware.Marks and a
// middleware.RemoteCache shared through Redis. Create one with New, give it
// to middleware.Config's Revocations (the middleware takes the marks from
// it too; to share Stytch's answers, also RemoteCache), and Close it on
// shutdown. Safe for concurrent use.
type Store struct {
	cfg         Config
	client      redis.UniversalClient
	revocations *set // session ids, as logouts end them
	marks       *set // user and member ids, as webhooks tell of changes
	remoteKey   string
	canaryCh    string // this instance's own channel, for its canaries
	mirror      *memstore.List
	markMirror  *memstore.Marks
	local       *memstore.Remote[middleware.RemoteEntry]
	connected   atomic.Bool
	kick        chan struct{} // a revocation or mark was queued
	stop        context.CancelFunc
	workers     sync.WaitGroup
	closeOnce   sync.Once
	outageLog   rate.Sometimes
	replicaLog  rate.Sometimes

	psMu   sync.Mutex
	ps     *redis.PubSub
	closed bool
}

// set is one kind of entry the store shares: each kind has its own sorted
// set (id scored by its end in Unix ms), channel ("<id> <end ms>"), local
// mirror and queue, so that neither can push the other's entries out.
type set struct {
	name    string // for errors: "revocation", "mark"
	key     string
	channel string
	size    int
	// everyone, for the marks, is the id whose entry stands for the marks
	// dropped for room: Redis keeps it when it trims, and the queue when it
	// is full. Empty for the revocations, which drop the soonest to end.
	everyone string
	record   func(ctx context.Context, id string, until time.Time)

	mu      sync.Mutex
	pending map[string]time.Time // entries not in Redis yet
}

// New connects the store: it subscribes to the channels, loads every
// revocation and mark that has not expired, and starts the worker that
// keeps the mirrors current. It fails when Redis cannot be reached within
// ctx and LoadTimeout: an instance that starts blind to earlier logouts
// would let them in.
func New(ctx context.Context, cfg Config) (*Store, error) {
	if cfg.Client == nil {
		return nil, errors.New("redisstore: Config.Client is required")
	}
	if cfg.ProjectID == "" {
		return nil, errors.New("redisstore: Config.ProjectID is required")
	}
	if strings.ContainsAny(cfg.Prefix+cfg.ProjectID, "{}") {
		return nil, errors.New("redisstore: Config.Prefix and ProjectID must not hold { or }: the store puts the project in a hash tag of its own")
	}
	if cfg.Replicas < NoReplicas {
		return nil, fmt.Errorf("redisstore: Config.Replicas %d: want a count, 0 (those connected) or NoReplicas", cfg.Replicas)
	}
	if cfg.Timeout < 0 || cfg.ReplicaTimeout < 0 {
		return nil, errors.New("redisstore: Config.Timeout and ReplicaTimeout must not be negative")
	}
	cfg.Prefix = cmp.Or(cfg.Prefix, DefaultPrefix)
	cfg.Timeout = cmp.Or(cfg.Timeout, DefaultTimeout)
	cfg.RemoteTimeout = cmp.Or(cfg.RemoteTimeout, DefaultRemoteTimeout)
	cfg.LoadTimeout = cmp.Or(cfg.LoadTimeout, DefaultLoadTimeout)
	cfg.ResyncInterval = cmp.Or(cfg.ResyncInterval, DefaultResyncInterval)
	cfg.Size = cmp.Or(cfg.Size, memstore.DefaultListSize)
	cfg.MarksSize = cmp.Or(cfg.MarksSize, memstore.DefaultMarksSize)
	cfg.RemoteSize = cmp.Or(cfg.RemoteSize, DefaultRemoteSize)
	cfg.ReplicaTimeout = cmp.Or(cfg.ReplicaTimeout, DefaultReplicaTimeout)
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	// The sorted sets and channels of a project share a hash tag: on a
	// cluster they live in one slot, so that one script may touch them
	// all, and the subscription sits on the primary that holds them. The
	// remote cache's keys have none, so that they spread over the cluster.
	ns := cfg.Prefix + "{" + cfg.ProjectID + "}:"
	s := &Store{
		cfg:        cfg,
		client:     cfg.Client,
		remoteKey:  cfg.Prefix + cfg.ProjectID + ":remote:",
		canaryCh:   ns + "canary:" + rand.Text(),
		mirror:     memstore.NewList(memstore.Config{Size: cfg.Size, Now: cfg.Now, Logger: cfg.Logger}),
		markMirror: memstore.NewMarks(memstore.Config{Size: cfg.MarksSize, Now: cfg.Now, Logger: cfg.Logger}),
		local: memstore.NewRemote(cfg.RemoteSize, cfg.Now,
			func(e *middleware.RemoteEntry) time.Time { return e.Until },
			func(e *middleware.RemoteEntry) bool { return e.Gone }),
		outageLog:  rate.Sometimes{Interval: 10 * time.Second},
		replicaLog: rate.Sometimes{Interval: 10 * time.Second},
		kick:       make(chan struct{}, 1),
	}
	s.revocations = &set{name: "revocation", key: ns + "revoked", channel: ns + "revoked:events", size: cfg.Size,
		pending: map[string]time.Time{}, record: func(ctx context.Context, id string, until time.Time) { _ = s.mirror.Revoke(ctx, id, until) }}
	s.marks = &set{name: "mark", key: ns + "marks", channel: ns + "marks:events", size: cfg.MarksSize, everyone: middleware.Everyone,
		pending: map[string]time.Time{}, record: func(ctx context.Context, id string, until time.Time) { _ = s.markMirror.Mark(ctx, id, until) }}
	// Subscribe before loading, so that no entry falls between the two.
	start, cancel := context.WithTimeout(ctx, cfg.LoadTimeout)
	defer cancel()
	s.ps = s.client.Subscribe(start, s.channels()...)
	for range s.channels() { // one confirmation per channel
		if _, err := s.ps.ReceiveTimeout(start, cfg.LoadTimeout); err != nil {
			_ = s.ps.Close()
			return nil, fmt.Errorf("redisstore: subscribing: %w", err)
		}
	}
	if err := s.hearCanary(start, s.ps); err != nil {
		_ = s.ps.Close()
		return nil, fmt.Errorf("redisstore: hearing the primary on the subscription: %w", err)
	}
	if err := s.load(start); err != nil {
		_ = s.ps.Close()
		return nil, err
	}
	s.connected.Store(true)
	workCtx, stop := context.WithCancel(context.Background())
	s.stop = stop
	s.workers.Add(2)
	go s.receive(workCtx)
	go s.flushing(workCtx)
	return s, nil
}

// Close stops the worker and unsubscribes; it does not close the client.
// Revocations and marks still waiting for Redis are lost with the process,
// as they would be with the in-memory lists.
func (s *Store) Close() error {
	var err error
	s.closeOnce.Do(func() {
		s.stop()
		s.psMu.Lock()
		s.closed = true
		err = s.ps.Close()
		s.psMu.Unlock()
		s.workers.Wait()
	})
	return err
}

// Connected reports whether the worker's connection to Redis is up and its
// subscription hears the primary: false while Redis cannot be reached (or
// after a failover, until the store is back in step), when logouts are
// recorded here and queued.
func (s *Store) Connected() bool { return s.connected.Load() }

// Ready reports whether the store is in step with the other instances:
// connected to Redis, with no revocation or mark of this instance's waiting
// to reach it or its replicas. Out of step, it still decides (from what it loaded and what
// this instance records), so its error wraps middleware.ErrDegraded: the
// middleware's ReadyHandler lists it and stays ready. A Store that New
// returned has loaded the shared state once. It never waits.
func (s *Store) Ready(context.Context) error {
	if !s.Connected() {
		return fmt.Errorf("redisstore: Redis cannot be reached: logouts here are queued, and other instances' are not seen (%w)", middleware.ErrDegraded)
	}
	if n := s.Pending(); n > 0 {
		return fmt.Errorf("redisstore: %d revocations and marks waiting to be written to Redis and acknowledged by its replicas (%w)", n, middleware.ErrDegraded)
	}
	return nil
}

// Pending returns how many revocations and marks are waiting to reach
// Redis, or the replicas Config.Replicas asks for.
func (s *Store) Pending() int { return s.revocations.waiting() + s.marks.waiting() }

func (t *set) waiting() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.pending)
}

// share records one entry in Redis and tells every instance, in one atomic
// script: keep the later end, drop expired entries, trim to the size by
// end, publish. For the marks (ARGV[6], the id that stands for everyone)
// the trimmed entries still hold: the latest end among them goes to that
// id, published too, so that no change is forgotten.
var share = redis.NewScript(`
local cur = redis.call('ZSCORE', KEYS[1], ARGV[1])
if (not cur) or tonumber(cur) < tonumber(ARGV[2]) then
  redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1])
end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[3])
local over = redis.call('ZCARD', KEYS[1]) - tonumber(ARGV[4])
if over > 0 then
  local last = redis.call('ZRANGE', KEYS[1], over - 1, over - 1, 'WITHSCORES')
  redis.call('ZREMRANGEBYRANK', KEYS[1], 0, over - 1)
  if ARGV[6] ~= '' then
    local all = redis.call('ZSCORE', KEYS[1], ARGV[6])
    if (not all) or tonumber(all) < tonumber(last[2]) then
      redis.call('ZADD', KEYS[1], last[2], ARGV[6])
      redis.call('PUBLISH', ARGV[5], ARGV[6] .. ' ' .. last[2])
    end
  end
end
redis.call('PUBLISH', ARGV[5], ARGV[1] .. ' ' .. ARGV[2])
return 1
`)

func (s *Store) share(ctx context.Context, t *set, id string, until time.Time) error {
	bound := s.cfg.Timeout
	if s.cfg.Replicas != NoReplicas {
		bound += s.cfg.ReplicaTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, bound)
	defer cancel()
	var written atomic.Bool
	err := bounded(ctx, func(ctx context.Context) error { return s.write(ctx, t, id, until, &written) })
	if err != nil && ctx.Err() != nil && written.Load() && !errors.Is(err, ErrNotReplicated) {
		err = fmt.Errorf("%w: no answer to WAIT within %v", ErrNotReplicated, s.cfg.ReplicaTimeout)
	}
	if err != nil {
		return fmt.Errorf("redisstore: sharing a %s: %w", t.name, err)
	}
	return nil
}

// write runs the share script for one entry and, unless Replicas is
// NoReplicas, waits for the replicas: on one connection to the primary
// that holds t.key, since WAIT counts the writes of its own connection.
func (s *Store) write(ctx context.Context, t *set, id string, until time.Time, written *atomic.Bool) error {
	keys := []string{t.key}
	args := []any{id, until.UnixMilli(), s.cfg.Now().UnixMilli(), t.size, t.channel, t.everyone}
	if s.cfg.Replicas == NoReplicas {
		err := share.Run(ctx, s.client, keys, args...).Err()
		written.Store(err == nil)
		return err
	}
	return s.onPrimary(ctx, t.key, func(c primaryConn) error {
		want := s.cfg.Replicas
		if want == 0 {
			n, err := connectedReplicas(ctx, c)
			if err != nil {
				return err
			}
			want = n
		}
		if err := share.Run(ctx, c, keys, args...).Err(); err != nil {
			return err
		}
		written.Store(true)
		if want == 0 {
			return nil
		}
		got, err := c.Wait(ctx, want, s.cfg.ReplicaTimeout).Result()
		if err != nil {
			return fmt.Errorf("%w: WAIT: %w", ErrNotReplicated, err)
		}
		if int(got) < want {
			return fmt.Errorf("%w: %d of %d replicas within %v", ErrNotReplicated, got, want, s.cfg.ReplicaTimeout)
		}
		return nil
	})
}

// primaryConn is one connection to a primary: a *redis.Conn or a
// *redis.Tx.
type primaryConn interface {
	redis.Cmdable
	Wait(ctx context.Context, numReplicas int, timeout time.Duration) *redis.IntCmd
}

// onPrimary runs f on one connection to the primary that holds key: a
// connection of the pool for a plain or a failover client; for a cluster
// (or a ring), the one Watch holds to the key's primary, following
// redirections (nothing is run in a transaction).
func (s *Store) onPrimary(ctx context.Context, key string, f func(primaryConn) error) error {
	if c, ok := s.client.(*redis.Client); ok {
		conn := c.Conn()
		defer conn.Close()
		return f(conn)
	}
	done := false
	err := s.client.Watch(ctx, func(tx *redis.Tx) error {
		if err := f(tx); err != nil {
			return err
		}
		done = true
		return nil
	}, key)
	if err == nil && !done {
		// go-redis's ClusterClient.Watch (v9.23) returns nil when its
		// last attempt was redirected (MOVED, READONLY), without calling
		// f: during a failover that would acknowledge a logout never
		// written.
		err = errors.New("redisstore: the cluster kept redirecting the write (a failover under way)")
	}
	return err
}

// connectedReplicas returns how many replicas are connected to the
// primary (INFO replication's connected_slaves), in sync or catching up:
// WAIT waits for a catching-up one too, so that a logout taken while a
// replica resyncs is not acknowledged by the primary alone. It fails on a
// server that is not a primary (a stale address after a failover): a
// write there would not last.
func connectedReplicas(ctx context.Context, c redis.Cmdable) (int, error) {
	info, err := c.Info(ctx, "replication").Result()
	if err != nil {
		return 0, fmt.Errorf("counting the replicas (INFO replication; Config.Replicas set to a count skips it): %w", err)
	}
	role, n := "", -1
	for line := range strings.SplitSeq(info, "\n") {
		line = strings.TrimSpace(line)
		if v, ok := strings.CutPrefix(line, "role:"); ok {
			role = v
		}
		if v, ok := strings.CutPrefix(line, "connected_slaves:"); ok {
			n, err = strconv.Atoi(v)
			if err != nil {
				return 0, fmt.Errorf("INFO replication: connected_slaves %q", v)
			}
		}
	}
	if role != "master" || n < 0 {
		return 0, fmt.Errorf("the server is not a primary (role %q)", role)
	}
	return n, nil
}

// bounded returns f's error, or ctx's once it ends, whichever comes
// first: go-redis bounds its wait for a reply by the client's ReadTimeout
// (and WAIT's by its timeout plus 10 s), not by ctx, unless the client was
// built with ContextTimeoutEnabled. f goes on until the client gives up.
func bounded(ctx context.Context, f func(context.Context) error) error {
	done := make(chan error, 1)
	go func() { done <- f(ctx) }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Revoke implements middleware.RevocationList. The revocation is recorded in
// this instance's mirror first, then in Redis and published to every
// instance before Revoke returns; where the primary has replicas, once
// they acknowledged it (Config.Replicas). When Redis cannot be reached, or
// the replicas do not acknowledge it within ReplicaTimeout, it stays
// recorded here, is queued, and is written again until Redis (and its
// replicas) have it; Revoke then returns an error (wrapping
// ErrNotReplicated in the second case), so that the middleware answers
// the logout with a 503 and the user repeats it. It returns within
// Timeout + ReplicaTimeout.
func (s *Store) Revoke(ctx context.Context, sessionID string, until time.Time) error {
	return s.record(ctx, s.revocations, sessionID, until)
}

// IsRevoked implements middleware.RevocationList from the local mirror: no
// network call on a request's path.
func (s *Store) IsRevoked(ctx context.Context, sessionID string) bool {
	return s.mirror.IsRevoked(ctx, sessionID)
}

// Mark implements middleware.Marks as Revoke does revocations, in a sorted
// set and a channel of their own: a flood of logouts cannot push a mark out.
// When Redis holds MarksSize marks, those it drops for room are covered by a
// mark under middleware.Everyone.
func (s *Store) Mark(ctx context.Context, subject string, until time.Time) error {
	return s.record(ctx, s.marks, subject, until)
}

// MarkedUntil implements middleware.Marks from the local mirror.
func (s *Store) MarkedUntil(ctx context.Context, subject string) (time.Time, bool) {
	return s.markMirror.MarkedUntil(ctx, subject)
}

// record keeps an entry of t here, then in Redis, or queued for it.
func (s *Store) record(ctx context.Context, t *set, id string, until time.Time) error {
	if !until.After(s.cfg.Now()) {
		return nil
	}
	t.record(ctx, id, until)
	if err := s.share(ctx, t, id, until); err != nil {
		t.queue(id, until, s.cfg.Now())
		select {
		case s.kick <- struct{}{}:
		default:
		}
		s.trouble(err)
		return fmt.Errorf("%w; recorded on this instance and queued to be written again", err)
	}
	return nil
}

// queue keeps an entry for Redis, dropping expired ones, and the one that
// ends soonest when size are waiting (for the marks, covered by the
// everyone entry).
func (t *set) queue(id string, until, now time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if cur, ok := t.pending[id]; ok && !until.After(cur) {
		return
	}
	if len(t.pending) >= t.size {
		soonest, first := "", time.Time{}
		for k, u := range t.pending {
			if !u.After(now) {
				delete(t.pending, k)
				continue
			}
			if k != t.everyone && (soonest == "" || u.Before(first)) {
				soonest, first = k, u
			}
		}
		if len(t.pending) >= t.size && soonest != "" {
			delete(t.pending, soonest)
			if t.everyone != "" && first.After(t.pending[t.everyone]) {
				t.pending[t.everyone] = first
			}
		}
	}
	t.pending[id] = until
}

// flush sends the queued entries to Redis; those that fail stay queued.
func (s *Store) flush(ctx context.Context) error {
	for _, t := range []*set{s.revocations, s.marks} {
		t.mu.Lock()
		batch := maps.Clone(t.pending)
		t.mu.Unlock()
		now := s.cfg.Now()
		for id, until := range batch {
			if until.After(now) {
				if err := s.share(ctx, t, id, until); err != nil {
					return err
				}
			}
			t.mu.Lock()
			if t.pending[id].Equal(until) {
				delete(t.pending, id)
			}
			t.mu.Unlock()
		}
	}
	return nil
}

// load reads every unexpired revocation and mark from Redis into the
// mirrors.
func (s *Store) load(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.LoadTimeout)
	defer cancel()
	for _, t := range []*set{s.revocations, s.marks} {
		entries, err := s.client.ZRangeByScoreWithScores(ctx, t.key, &redis.ZRangeBy{
			Min: strconv.FormatInt(s.cfg.Now().UnixMilli()+1, 10),
			Max: "+inf",
		}).Result()
		if err != nil {
			return fmt.Errorf("redisstore: loading %ss: %w", t.name, err)
		}
		for _, z := range entries {
			if id, ok := z.Member.(string); ok {
				t.record(ctx, id, time.UnixMilli(int64(z.Score)))
			}
		}
	}
	return nil
}

// apply records a published entry in its mirror.
func (s *Store) apply(ctx context.Context, m *redis.Message) {
	var t *set
	switch m.Channel {
	case s.revocations.channel:
		t = s.revocations
	case s.marks.channel:
		t = s.marks
	default:
		return // a canary of this instance, heard late
	}
	id, ms, ok := strings.Cut(m.Payload, " ")
	if !ok || id == "" {
		return
	}
	n, err := strconv.ParseInt(ms, 10, 64)
	if err != nil {
		return
	}
	t.record(ctx, id, time.UnixMilli(n))
}

// Timing of the worker.
const (
	// heartbeat is how often the worker proves that its subscription
	// hears the primary (a canary); one not heard within 2 retryMax is a
	// dead subscription (a partition, or a frozen server, leaves the
	// connection open) or one on the wrong server, replaced.
	heartbeat = time.Second
	// retryMin and retryMax bound the pause between attempts while Redis
	// cannot be reached: short, so that after a failover every instance
	// is back in step well within a second of the new primary serving.
	retryMin = 50 * time.Millisecond
	retryMax = 200 * time.Millisecond
)

// receive keeps the mirrors current: it applies published entries, and
// proves, every heartbeat, that its subscription hears what the primary
// publishes: it publishes a canary on a channel of its own through the
// primary that holds its keys, and waits for it. A canary not heard means
// the subscription is dead, or sits on a server that no longer hears the
// primary (a demoted primary: go-redis's failover client does not move
// subscriptions; a restarted one on a cluster): it subscribes again. On
// every (re)subscription, every ResyncInterval and after any outage it
// reloads everything, once a canary came back, so that what was published
// while it was not listening is recovered and nothing published after the
// reload is missed.
func (s *Store) receive(ctx context.Context) {
	defer s.workers.Done()
	lastLoad, proven := time.Now(), time.Now()
	resync := false
	var c canary
	backoff := retryMin
	for {
		ps := s.pubsub()
		if ps == nil {
			return
		}
		msg, err := ps.ReceiveTimeout(ctx, retryMax)
		if ctx.Err() != nil {
			return
		}
		heard := false
		switch m := msg.(type) {
		case *redis.Message:
			if m.Channel == s.canaryCh {
				heard = c.is(m)
			} else {
				s.apply(ctx, m)
			}
		case *redis.Subscription:
			resync = true // a reconnect: what was published meanwhile is lost
		}
		if err != nil && !isTimeout(err) {
			c = canary{} // sent on a connection now gone: send another
			s.outage(err)
			if !sleep(ctx, backoff) {
				return
			}
			s.readSlots(ctx) // so that the reconnect goes to the slot's primary
			backoff = min(2*backoff, retryMax)
			continue
		}
		backoff = retryMin
		if !s.connected.Load() || time.Since(lastLoad) >= s.cfg.ResyncInterval {
			resync = true
		}
		switch {
		case heard:
			proven, c = time.Now(), canary{}
			if !resync {
				continue
			}
			if err := s.load(ctx); err != nil {
				s.outage(err)
				continue
			}
			lastLoad, resync = time.Now(), false
			if !s.connected.Swap(true) {
				s.cfg.Logger.LogAttrs(ctx, slog.LevelWarn, "redisstore: Redis is back; revocations resynchronised")
			}
		case c.waitedTooLong():
			// The primary took the canary and this subscription did not
			// hear it: subscribe again, somewhere that does.
			s.outage(errors.New("redisstore: the subscription does not hear the primary"))
			s.readSlots(ctx)
			if !s.resubscribe(ctx) {
				return
			}
			c = canary{}
		case c.payload == "" && (resync || time.Since(proven) >= heartbeat),
			c.payload != "" && c.sent.IsZero() && time.Since(c.last) >= retryMax:
			if err := s.sendCanary(ctx, &c); err != nil {
				s.outage(err)
			}
		}
	}
}

// canary is a message a store publishes on its own channel through the
// primary that holds its keys, to learn whether its subscription hears
// that primary.
type canary struct {
	payload string
	sent    time.Time // when the primary took it
	last    time.Time // when it was last sent
}

func (c *canary) is(m *redis.Message) bool { return c.payload != "" && m.Payload == c.payload }

// waitedTooLong reports whether the primary took the canary long enough
// ago, and it never came back.
func (c *canary) waitedTooLong() bool {
	return !c.sent.IsZero() && time.Since(c.sent) > 2*retryMax
}

// publishCanary publishes ARGV[2] on ARGV[1] from the primary holding
// KEYS[1] (the revocations' sorted set), as share publishes entries.
var publishCanary = redis.NewScript(`
redis.call('PUBLISH', ARGV[1], ARGV[2])
return 1
`)

// sendCanary publishes c, a new one if it has none, through the primary.
func (s *Store) sendCanary(ctx context.Context, c *canary) error {
	if c.payload == "" {
		*c = canary{payload: rand.Text()}
	}
	c.last = time.Now()
	ctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	defer cancel()
	payload := c.payload // the goroutine may outlive this call
	err := bounded(ctx, func(ctx context.Context) error {
		return publishCanary.Run(ctx, s.client, []string{s.revocations.key}, s.canaryCh, payload).Err()
	})
	if err == nil && c.sent.IsZero() {
		c.sent = time.Now()
	}
	return err
}

// hearCanary sends a canary on ps and waits for it, applying what else
// comes meanwhile, until ctx ends.
func (s *Store) hearCanary(ctx context.Context, ps *redis.PubSub) error {
	var c canary
	var failed error // the last send that failed; sends are retried until ctx ends
	for {
		if c.payload == "" || c.sent.IsZero() && time.Since(c.last) >= retryMax {
			if failed = s.sendCanary(ctx, &c); failed != nil && !sleep(ctx, retryMin) {
				return failed
			}
		}
		msg, err := ps.ReceiveTimeout(ctx, retryMax)
		if m, ok := msg.(*redis.Message); ok {
			if m.Channel == s.canaryCh && c.is(m) {
				return nil
			}
			s.apply(ctx, m)
		}
		if ctx.Err() != nil {
			return cmp.Or(failed, ctx.Err())
		}
		if err != nil && !isTimeout(err) {
			return err
		}
	}
}

// readSlots has a cluster client read the slots again before it returns
// (ReloadState only starts a read), so that a subscription made next goes
// to the primary that holds the store's keys now. Other clients find the
// primary as they dial.
func (s *Store) readSlots(ctx context.Context) {
	if c, ok := s.client.(*redis.ClusterClient); ok {
		ctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
		defer cancel()
		// ForEachMaster reads the slots first; the function does nothing.
		_ = c.ForEachMaster(ctx, func(context.Context, *redis.Client) error { return nil })
	}
}

// channels returns the channels the store subscribes to.
func (s *Store) channels() []string {
	return []string{s.revocations.channel, s.marks.channel, s.canaryCh}
}

// pubsub returns the current subscription, nil once the store is closed.
func (s *Store) pubsub() *redis.PubSub {
	s.psMu.Lock()
	defer s.psMu.Unlock()
	if s.closed {
		return nil
	}
	return s.ps
}

// resubscribe replaces the subscription with a new one, on a new
// connection; the confirmations it brings make receive reload.
func (s *Store) resubscribe(ctx context.Context) bool {
	s.psMu.Lock()
	defer s.psMu.Unlock()
	if s.closed {
		return false
	}
	_ = s.ps.Close()
	s.ps = s.client.Subscribe(ctx, s.channels()...)
	return true
}

// flushing writes the queued entries to Redis: when one is queued, and
// every retryMax while some wait. It writes them apart from receive, so
// that a write waiting for the replicas never holds up the mirror.
func (s *Store) flushing(ctx context.Context) {
	defer s.workers.Done()
	for {
		var retry <-chan time.Time
		if s.Pending() > 0 {
			retry = time.After(retryMax)
		}
		select {
		case <-ctx.Done():
			return
		case <-s.kick:
		case <-retry:
		}
		if s.Pending() > 0 {
			if err := s.flush(ctx); err != nil {
				s.trouble(err)
			}
		}
	}
}

// trouble records a failed write: an outage, or replicas that did not
// acknowledge in time (logged apart: Redis itself answers).
func (s *Store) trouble(err error) {
	if !errors.Is(err, ErrNotReplicated) {
		s.outage(err)
		return
	}
	s.replicaLog.Do(func() {
		s.cfg.Logger.LogAttrs(context.Background(), slog.LevelError,
			"redisstore: the replicas did not acknowledge a logout in time; it is queued and written again, and the logout answered 503",
			slog.Int("queued", s.Pending()), slog.String("error", err.Error()))
	})
}

// outage records that Redis could not be reached and logs it, at most every
// 10 s.
func (s *Store) outage(err error) {
	s.connected.Store(false)
	// A cluster client learns a failover from a redirection, which a dead
	// primary never sends: have it read the slots again.
	if c, ok := s.client.(interface{ ReloadState(context.Context) }); ok {
		c.ReloadState(context.Background())
	}
	s.outageLog.Do(func() {
		s.cfg.Logger.LogAttrs(context.Background(), slog.LevelError,
			"redisstore: Redis unreachable; logouts are recorded on this instance and queued, other instances learn of them when it is back",
			slog.Int("queued", s.Pending()), slog.String("error", err.Error()))
	})
}

func isTimeout(err error) bool {
	var t interface{ Timeout() bool }
	return errors.As(err, &t) && t.Timeout()
}

func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
