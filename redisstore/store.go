package redisstore

import (
	"cmp"
	"context"
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
)

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
	mirror      *memstore.List
	markMirror  *memstore.Marks
	local       *memstore.Remote[middleware.RemoteEntry]
	ps          *redis.PubSub
	connected   atomic.Bool
	stop        context.CancelFunc
	done        chan struct{}
	closeOnce   sync.Once
	outageLog   rate.Sometimes
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
	cfg.Prefix = cmp.Or(cfg.Prefix, DefaultPrefix)
	cfg.Timeout = cmp.Or(cfg.Timeout, DefaultTimeout)
	cfg.RemoteTimeout = cmp.Or(cfg.RemoteTimeout, DefaultRemoteTimeout)
	cfg.LoadTimeout = cmp.Or(cfg.LoadTimeout, DefaultLoadTimeout)
	cfg.ResyncInterval = cmp.Or(cfg.ResyncInterval, DefaultResyncInterval)
	cfg.Size = cmp.Or(cfg.Size, memstore.DefaultListSize)
	cfg.MarksSize = cmp.Or(cfg.MarksSize, memstore.DefaultMarksSize)
	cfg.RemoteSize = cmp.Or(cfg.RemoteSize, DefaultRemoteSize)
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	ns := cfg.Prefix + cfg.ProjectID + ":"
	s := &Store{
		cfg:        cfg,
		client:     cfg.Client,
		remoteKey:  ns + "remote:",
		mirror:     memstore.NewList(memstore.Config{Size: cfg.Size, Now: cfg.Now, Logger: cfg.Logger}),
		markMirror: memstore.NewMarks(memstore.Config{Size: cfg.MarksSize, Now: cfg.Now, Logger: cfg.Logger}),
		local: memstore.NewRemote(cfg.RemoteSize, cfg.Now,
			func(e *middleware.RemoteEntry) time.Time { return e.Until },
			func(e *middleware.RemoteEntry) bool { return e.Gone }),
		outageLog: rate.Sometimes{Interval: 10 * time.Second},
		done:      make(chan struct{}),
	}
	s.revocations = &set{name: "revocation", key: ns + "revoked", channel: ns + "revoked:events", size: cfg.Size,
		pending: map[string]time.Time{}, record: func(ctx context.Context, id string, until time.Time) { _ = s.mirror.Revoke(ctx, id, until) }}
	s.marks = &set{name: "mark", key: ns + "marks", channel: ns + "marks:events", size: cfg.MarksSize, everyone: middleware.Everyone,
		pending: map[string]time.Time{}, record: func(ctx context.Context, id string, until time.Time) { _ = s.markMirror.Mark(ctx, id, until) }}
	// Subscribe before loading, so that no entry falls between the two.
	start, cancel := context.WithTimeout(ctx, cfg.LoadTimeout)
	defer cancel()
	s.ps = s.client.Subscribe(start, s.revocations.channel, s.marks.channel)
	for range 2 { // one confirmation per channel
		if _, err := s.ps.ReceiveTimeout(start, cfg.LoadTimeout); err != nil {
			_ = s.ps.Close()
			return nil, fmt.Errorf("redisstore: subscribing: %w", err)
		}
	}
	if err := s.load(start); err != nil {
		_ = s.ps.Close()
		return nil, err
	}
	s.connected.Store(true)
	workCtx, stop := context.WithCancel(context.Background())
	s.stop = stop
	go s.work(workCtx)
	return s, nil
}

// Close stops the worker and unsubscribes; it does not close the client.
// Revocations and marks still waiting for Redis are lost with the process,
// as they would be with the in-memory lists.
func (s *Store) Close() error {
	var err error
	s.closeOnce.Do(func() {
		s.stop()
		err = s.ps.Close()
		<-s.done
	})
	return err
}

// Connected reports whether the worker's connection to Redis is up: false
// while Redis cannot be reached, when logouts are recorded here and queued.
func (s *Store) Connected() bool { return s.connected.Load() }

// Ready reports whether the store is in step with the other instances:
// connected to Redis, with no revocation or mark of this instance's waiting
// to reach it. Out of step, it still decides (from what it loaded and what
// this instance records), so its error wraps middleware.ErrDegraded: the
// middleware's ReadyHandler lists it and stays ready. A Store that New
// returned has loaded the shared state once. It never waits.
func (s *Store) Ready(context.Context) error {
	if !s.Connected() {
		return fmt.Errorf("redisstore: Redis cannot be reached: logouts here are queued, and other instances' are not seen (%w)", middleware.ErrDegraded)
	}
	if n := s.Pending(); n > 0 {
		return fmt.Errorf("redisstore: %d revocations and marks waiting to reach Redis (%w)", n, middleware.ErrDegraded)
	}
	return nil
}

// Pending returns how many revocations and marks are waiting to reach
// Redis.
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
	ctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	defer cancel()
	err := share.Run(ctx, s.client, []string{t.key},
		id, until.UnixMilli(), s.cfg.Now().UnixMilli(), t.size, t.channel, t.everyone).Err()
	if err != nil {
		return fmt.Errorf("redisstore: sharing a %s: %w", t.name, err)
	}
	return nil
}

// Revoke implements middleware.RevocationList. The revocation is recorded in
// this instance's mirror first, then in Redis and published to every
// instance before Revoke returns. When Redis cannot be reached it stays
// recorded here, is queued, and reaches Redis (and every instance) when
// Redis is back; Revoke then returns an error, so that the middleware
// answers the logout with a 503 and the user repeats it.
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
		s.outage(err)
		return fmt.Errorf("%w; recorded on this instance and queued until Redis is back", err)
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
	t := s.revocations
	if m.Channel == s.marks.channel {
		t = s.marks
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

// work keeps the mirror current: it applies published revocations, and on
// every (re)subscription, every ResyncInterval and while revocations are
// queued, it flushes the queue and reloads everything from Redis, so that
// messages missed while disconnected are recovered.
func (s *Store) work(ctx context.Context) {
	defer close(s.done)
	lastLoad := time.Now()
	backoff := 100 * time.Millisecond
	for {
		msg, err := s.ps.ReceiveTimeout(ctx, time.Second)
		if ctx.Err() != nil {
			return
		}
		resync := time.Since(lastLoad) >= s.cfg.ResyncInterval || s.Pending() > 0 || !s.connected.Load()
		switch m := msg.(type) {
		case *redis.Message:
			s.apply(ctx, m)
		case *redis.Subscription:
			resync = true // a reconnect: what was published meanwhile is lost
		}
		if err != nil && !isTimeout(err) {
			s.outage(err)
			if !sleep(ctx, backoff) {
				return
			}
			backoff = min(2*backoff, 2*time.Second)
			continue
		}
		backoff = 100 * time.Millisecond
		if !resync {
			continue
		}
		if err := s.flush(ctx); err != nil {
			s.outage(err)
			continue
		}
		if err := s.load(ctx); err != nil {
			s.outage(err)
			continue
		}
		lastLoad = time.Now()
		if !s.connected.Swap(true) {
			s.cfg.Logger.LogAttrs(ctx, slog.LevelWarn, "redisstore: Redis is back; revocations resynchronised")
		}
	}
}

// outage records that Redis could not be reached and logs it, at most every
// 10 s.
func (s *Store) outage(err error) {
	s.connected.Store(false)
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
