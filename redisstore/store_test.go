package redisstore_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/stytchguard/stytchguard/middleware"
	"github.com/stytchguard/stytchguard/redisstore"
	"github.com/stytchguard/stytchguard/redisstore/redistest"
	"github.com/stytchguard/stytchguard/session"
	"github.com/stytchguard/stytchguard/stytchtest"
)

// instance is one app instance: a middleware on its own Store and its own
// Redis client, sharing the emulator and the Redis server with the others.
type instance struct {
	store *redisstore.Store
	mw    *middleware.Middleware
	h     http.Handler
}

func newStore(t testing.TB, rdb redis.UniversalClient, srv *stytchtest.Server, mod func(*redisstore.Config)) *redisstore.Store {
	t.Helper()
	// Generous timeouts: on a loaded machine a replica may take more than
	// the default 500 ms to acknowledge, which the tests of other things
	// must not trip on. The tests of the bounds set them.
	cfg := redisstore.Config{Client: rdb, ProjectID: srv.ProjectID(), Now: srv.Now, ResyncInterval: time.Minute,
		Timeout: 5 * time.Second, ReplicaTimeout: 5 * time.Second}
	if mod != nil {
		mod(&cfg)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s, err := redisstore.New(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func newInstance(t testing.TB, d redistest.Deployment, srv *stytchtest.Server, mod func(*redisstore.Config)) *instance {
	t.Helper()
	s := newStore(t, d.Connect(), srv, mod)
	mw, err := middleware.New(middleware.Config{Client: srv.Client(), Now: srv.Now, Stores: middleware.Stores{Revocations: s, RemoteCache: s}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(mw.Close)
	mux := http.NewServeMux()
	mux.Handle("GET /me", mw.Require(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusOK)
	})))
	mux.Handle("/logout", mw.LogoutHandler())
	mux.Handle("/logout-all", mw.LogoutAllHandler())
	return &instance{store: s, mw: mw, h: mux}
}

// get asks for /me with a JWT cookie (or, with token, an opaque token).
func (in *instance) get(jwt, token string) int {
	r := httptest.NewRequest("GET", "/me", nil)
	if jwt != "" {
		r.AddCookie(&http.Cookie{Name: "stytch_session_jwt", Value: jwt})
	}
	if token != "" {
		r.AddCookie(&http.Cookie{Name: "stytch_session", Value: token})
	}
	w := httptest.NewRecorder()
	in.h.ServeHTTP(w, r)
	return w.Code
}

func (in *instance) post(path, jwt string) int {
	r := httptest.NewRequest("POST", path, nil)
	r.AddCookie(&http.Cookie{Name: "stytch_session_jwt", Value: jwt})
	w := httptest.NewRecorder()
	in.h.ServeHTTP(w, r)
	return w.Code
}

// refusedWithin polls until in refuses jwt, and returns how long that took,
// or fails after limit.
func refusedWithin(t *testing.T, in *instance, jwt string, limit time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	for {
		if in.get(jwt, "") == http.StatusUnauthorized {
			return time.Since(start)
		}
		if time.Since(start) > limit {
			t.Fatalf("still accepted %v after the logout", limit)
		}
		time.Sleep(time.Millisecond)
	}
}

// twoInstances starts an emulator with a frozen clock, and two app
// instances sharing it and d.
func twoInstances(t *testing.T, d redistest.Deployment) (*stytchtest.Server, *instance, *instance) {
	t.Helper()
	srv := stytchtest.NewServer(stytchtest.WithFrozenClock(time.Now()))
	t.Cleanup(srv.Close)
	return srv, newInstance(t, d, srv, nil), newInstance(t, d, srv, nil)
}

// setKey returns the name of one of a project's sorted sets in Redis.
func setKey(projectID, name string) string {
	return redisstore.DefaultPrefix + "{" + projectID + "}:" + name
}

// allKeys returns every key in Redis: on a cluster, of every primary.
func allKeys(t *testing.T, rdb redis.UniversalClient) []string {
	t.Helper()
	ctx := context.Background()
	cc, ok := rdb.(*redis.ClusterClient)
	if !ok {
		keys, err := rdb.Keys(ctx, "*").Result()
		if err != nil {
			t.Fatal(err)
		}
		return keys
	}
	var mu sync.Mutex
	var keys []string
	err := cc.ForEachMaster(ctx, func(ctx context.Context, c *redis.Client) error {
		k, err := c.Keys(ctx, "*").Result()
		mu.Lock()
		keys = append(keys, k...)
		mu.Unlock()
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return keys
}

// suite is every test of the store that runs on each kind of deployment:
// one Redis, a cluster, a Sentinel set. replicated ones need replicas.
var suite = []struct {
	name       string
	run        func(*testing.T, redistest.Deployment)
	replicated bool
}{
	{"LogoutOnOneInstanceIsRefusedOnAll", testLogoutOnOneInstanceIsRefusedOnAll, false},
	{"LogoutAllReachesEveryInstance", testLogoutAllReachesEveryInstance, false},
	{"RemoteAnswersAreSharedWithoutCredentials", testRemoteAnswersAreSharedWithoutCredentials, false},
	{"ProjectsAndPrefixesDoNotMix", testProjectsAndPrefixesDoNotMix, false},
	{"RedisHoldsAtMostSizeInExpiryOrder", testRedisHoldsAtMostSizeInExpiryOrder, false},
	{"MarksLiveApartFromLogouts", testMarksLiveApartFromLogouts, false},
	{"WebhookMarksReachEveryInstance", testWebhookMarksReachEveryInstance, false},
	{"KeysOfAProjectShareASlot", testKeysOfAProjectShareASlot, false},
	{"ReplicasAcknowledgeLogouts", testReplicasAcknowledgeLogouts, false},
	{"RedisOutageOpensOnlyTheDocumentedWindow", testRedisOutageOpensOnlyTheDocumentedWindow, false},
	{"LaggingReplicaLosesOnlyUnacknowledgedLogouts", testLaggingReplicaLosesOnlyUnacknowledgedLogouts, true},
	{"FailoverLosesNoAcknowledgedLogout", testFailoverLosesNoAcknowledgedLogout, true},
}

func runSuite(t *testing.T, d redistest.Deployment) {
	_, replicated := d.(redistest.Replicated)
	for _, tt := range suite {
		if tt.replicated && !replicated {
			continue
		}
		d.Start() // in case a failed test left it down
		d.Flush()
		t.Run(tt.name, func(t *testing.T) { tt.run(t, d) })
	}
}

// TestOnOneRedis runs the suite on one redis-server without replicas.
// The three suites run in parallel, after the tests that count goroutines.
func TestOnOneRedis(t *testing.T) {
	t.Parallel()
	runSuite(t, redistest.Start(t))
}

// TestOnCluster runs the suite on a Redis Cluster of three primaries, each
// with a replica.
func TestOnCluster(t *testing.T) {
	t.Parallel()
	runSuite(t, redistest.StartCluster(t))
}

// TestOnSentinel runs the suite on a primary and a replica watched by
// three sentinels.
func TestOnSentinel(t *testing.T) {
	t.Parallel()
	runSuite(t, redistest.StartSentinel(t))
}

func newSession(t testing.TB, srv *stytchtest.Server) stytchtest.Tokens {
	t.Helper()
	u := srv.CreateUser(stytchtest.UserParams{Email: "ada@example.com"})
	tok, err := srv.StartSession(u.UserID, stytchtest.SessionParams{})
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func testLogoutOnOneInstanceIsRefusedOnAll(t *testing.T, d redistest.Deployment) {
	srv, a, b := twoInstances(t, d)
	tok := newSession(t, srv)
	if a.get(tok.SessionJWT, "") != 200 || b.get(tok.SessionJWT, "") != 200 {
		t.Fatal("a fresh JWT refused before any logout")
	}
	if c := a.post("/logout", tok.SessionJWT); c != http.StatusNoContent {
		t.Fatalf("logout on A: %d", c)
	}
	// Under a second, the store's promise; on an idle machine, well under
	// a millisecond (logged). A loaded machine must not fail the test.
	took := refusedWithin(t, b, tok.SessionJWT, time.Second)
	t.Logf("B refused the session %v after A's logout answered", took)

	// An instance started after the logout knows it from Redis.
	restarted := newInstance(t, d, srv, nil)
	if c := restarted.get(tok.SessionJWT, ""); c != http.StatusUnauthorized {
		t.Fatalf("an instance started after the logout accepted the session: %d", c)
	}
}

func testLogoutAllReachesEveryInstance(t *testing.T, d redistest.Deployment) {
	srv, a, b := twoInstances(t, d)
	u := srv.CreateUser(stytchtest.UserParams{Email: "ada@example.com"})
	var toks []stytchtest.Tokens
	for range 5 {
		tok, err := srv.StartSession(u.UserID, stytchtest.SessionParams{})
		if err != nil {
			t.Fatal(err)
		}
		if b.get(tok.SessionJWT, "") != 200 {
			t.Fatal("fresh JWT refused")
		}
		toks = append(toks, tok)
	}
	if c := a.post("/logout-all", toks[0].SessionJWT); c != http.StatusNoContent {
		t.Fatalf("logout-all on A: %d", c)
	}
	for _, tok := range toks {
		refusedWithin(t, b, tok.SessionJWT, time.Second)
	}
}

func testRedisOutageOpensOnlyTheDocumentedWindow(t *testing.T, d redistest.Deployment) {
	srv, a, b := twoInstances(t, d)
	before, during, bystander := newSession(t, srv), newSession(t, srv), newSession(t, srv)
	if c := a.post("/logout", before.SessionJWT); c != http.StatusNoContent {
		t.Fatalf("logout before the outage: %d", c)
	}
	refusedWithin(t, b, before.SessionJWT, time.Second)

	d.Stop()
	// Instances keep serving, and keep what they knew.
	if a.get(bystander.SessionJWT, "") != 200 || b.get(bystander.SessionJWT, "") != 200 {
		t.Fatal("a live session refused while Redis is down")
	}
	if b.get(before.SessionJWT, "") != http.StatusUnauthorized {
		t.Fatal("a logout from before the outage forgotten while Redis is down")
	}
	// A logout still revokes at Stytch and on its instance, and says it
	// could not be shared: 503, repeat it.
	if c := a.post("/logout", during.SessionJWT); c != http.StatusServiceUnavailable {
		t.Fatalf("logout while Redis is down: %d, want 503", c)
	}
	if srv.SessionAlive(during.SessionID) {
		t.Fatal("the logout did not revoke the session at Stytch")
	}
	if a.get(during.SessionJWT, "") != http.StatusUnauthorized {
		t.Fatal("the instance that took the logout still accepts the session")
	}
	if a.store.Pending() != 1 || a.store.Connected() {
		t.Fatalf("pending %d, connected %v", a.store.Pending(), a.store.Connected())
	}
	// The store's own error says so, names no secret, and is no sign-out.
	err := a.store.Revoke(context.Background(), "session-test-during", time.Now().Add(time.Minute))
	if err == nil || !strings.Contains(err.Error(), "queued") || strings.Contains(err.Error(), srv.Secret()) {
		t.Fatalf("Revoke with Redis down: %v", err)
	}
	if errors.Is(err, session.ErrSessionGone) || errors.Is(err, redisstore.ErrNotReplicated) {
		t.Fatalf("a store outage reads as a sign-out or a replica's lag: %v", err)
	}
	// Readiness says so, and why: not in step with the other instances.
	if err := a.store.Ready(context.Background()); !errors.Is(err, middleware.ErrDegraded) || !strings.Contains(err.Error(), "Redis cannot be reached") {
		t.Fatalf("Ready while Redis is down: %v", err)
	}
	// Degraded, not unready: every instance still decides, and taking them
	// all out of the load balancer would be the outage.
	if err := a.mw.Ready(context.Background()); err != nil {
		t.Fatalf("the middleware's Ready while Redis is down: %v", err)
	}
	// The documented window: B still accepts the fresh JWT, until Redis is
	// back or the JWT goes stale.
	if b.get(during.SessionJWT, "") != 200 {
		t.Fatal("B refused the session without hearing of the logout; the window is narrower than documented (update the docs)")
	}
	srv.Advance(5*time.Minute + time.Second)
	if b.get(during.SessionJWT, "") != http.StatusUnauthorized {
		t.Fatal("B accepted a stale JWT of a session Stytch revoked")
	}
	srv.Advance(-(5*time.Minute + time.Second))

	d.Start()
	took := refusedWithin(t, b, during.SessionJWT, 10*time.Second)
	t.Logf("after Redis came back, B refused the session logged out during the outage in %v", took)
	if !waitFor(func() bool { return a.store.Pending() == 0 && a.store.Connected() && b.store.Connected() }, 5*time.Second) {
		t.Fatalf("pending %d; connected %v %v", a.store.Pending(), a.store.Connected(), b.store.Connected())
	}
	if err := a.store.Ready(context.Background()); err != nil {
		t.Fatalf("Ready once Redis is back and the logout shared: %v", err)
	}
	// And an instance started now knows both logouts.
	c := newInstance(t, d, srv, nil)
	if c.get(before.SessionJWT, "") != http.StatusUnauthorized || c.get(during.SessionJWT, "") != http.StatusUnauthorized {
		t.Fatal("a new instance does not know the logouts from before and during the outage")
	}
}

func waitFor(cond func() bool, limit time.Duration) bool {
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(10 * time.Millisecond)
	}
	return true
}

func testRemoteAnswersAreSharedWithoutCredentials(t *testing.T, d redistest.Deployment) {
	srv, a, b := twoInstances(t, d)
	tok := newSession(t, srv)
	srv.ResetCalls()
	if a.get("", tok.SessionToken) != 200 || b.get("", tok.SessionToken) != 200 {
		t.Fatal("opaque token refused")
	}
	if n := srv.Calls(stytchtest.Authenticate); n != 1 {
		t.Fatalf("%d calls to Stytch for one token on two instances, want 1", n)
	}
	rdb := d.Connect()
	ctx := context.Background()
	keys := allKeys(t, rdb)
	remote := 0
	for _, k := range keys {
		if !strings.HasPrefix(k, redisstore.DefaultPrefix+"{"+srv.ProjectID()+"}:") &&
			!strings.HasPrefix(k, redisstore.DefaultPrefix+srv.ProjectID()+":remote:") {
			t.Errorf("key %q outside the project's namespace", k)
		}
		if strings.Contains(k, tok.SessionToken) || strings.Contains(k, tok.SessionJWT) {
			t.Errorf("a key holds a credential")
		}
		if strings.Contains(k, ":remote:") {
			remote++
			v, err := rdb.Get(ctx, k).Result()
			if err != nil {
				t.Fatal(err)
			}
			if strings.Contains(v, tok.SessionToken) || strings.Contains(v, tok.SessionJWT) || !strings.Contains(v, tok.SessionID) {
				t.Errorf("a remote value holds a credential, or not the session: %.80s", v)
			}
			if ttl := rdb.PTTL(ctx, k).Val(); ttl <= 0 || ttl > (5*time.Minute) {
				t.Errorf("remote entry TTL %v", ttl)
			}
		}
	}
	if remote != 1 {
		t.Fatalf("%d remote entries, want 1: %v", remote, keys)
	}
}

func testProjectsAndPrefixesDoNotMix(t *testing.T, r redistest.Deployment) {
	srv := stytchtest.NewServer()
	t.Cleanup(srv.Close)
	other := stytchtest.NewServer()
	t.Cleanup(other.Close)
	ctx := context.Background()
	mine := newStore(t, r.Connect(), srv, nil)
	theirs := newStore(t, r.Connect(), other, nil)
	prefixed := newStore(t, r.Connect(), srv, func(c *redisstore.Config) { c.Prefix = "staging:" })
	same := newStore(t, r.Connect(), srv, nil) // subscribed like the others, in mine's namespace
	if err := mine.Revoke(ctx, "session-test-1", time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	// Redis sends a message to every subscriber of its channel as it is
	// published: once the same namespace's store has it, no other wait
	// would bring it to the others.
	if !waitFor(func() bool { return same.IsRevoked(ctx, "session-test-1") }, 5*time.Second) {
		t.Fatal("the same project and prefix did not hear of it")
	}
	if theirs.IsRevoked(ctx, "session-test-1") || prefixed.IsRevoked(ctx, "session-test-1") {
		t.Fatal("a revocation crossed into another project or prefix by pub/sub")
	}
	// Nor through the sorted set: stores loading afresh.
	if newStore(t, r.Connect(), other, nil).IsRevoked(ctx, "session-test-1") ||
		newStore(t, r.Connect(), srv, func(c *redisstore.Config) { c.Prefix = "staging:" }).IsRevoked(ctx, "session-test-1") {
		t.Fatal("a revocation crossed into another project or prefix by load")
	}
	if !newStore(t, r.Connect(), srv, nil).IsRevoked(ctx, "session-test-1") {
		t.Fatal("a store of the same project and prefix, loading afresh, did not see it")
	}
}

func testRedisHoldsAtMostSizeInExpiryOrder(t *testing.T, r redistest.Deployment) {
	srv := stytchtest.NewServer()
	t.Cleanup(srv.Close)
	ctx := context.Background()
	s := newStore(t, r.Connect(), srv, func(c *redisstore.Config) { c.Size = 100 })
	now := time.Now()
	for i := range 150 {
		if err := s.Revoke(ctx, "session-test-"+string(rune('a'+i/26))+string(rune('a'+i%26)), now.Add(time.Hour+time.Duration(i)*time.Second)); err != nil {
			t.Fatal(err)
		}
	}
	_ = s.Revoke(ctx, "session-test-expired", now.Add(-time.Second))
	rdb := r.Connect()
	key := setKey(srv.ProjectID(), "revoked")
	if n := rdb.ZCard(ctx, key).Val(); n != 100 {
		t.Fatalf("%d entries in Redis, want 100", n)
	}
	// The 50 that expire soonest went first.
	if rdb.ZScore(ctx, key, "session-test-aa").Err() != redis.Nil || rdb.ZScore(ctx, key, "session-test-fr").Err() != nil {
		t.Fatal("trimmed out of expiry order")
	}
}

// testMarksLiveApartFromLogouts holds that a flood of logouts past Size
// leaves every mark in Redis, and that marks trimmed past MarksSize are
// covered, on every instance, by the mark of everyone.
func testMarksLiveApartFromLogouts(t *testing.T, r redistest.Deployment) {
	srv := stytchtest.NewServer()
	t.Cleanup(srv.Close)
	ctx := context.Background()
	small := func(c *redisstore.Config) { c.Size, c.MarksSize = 10, 5 }
	s := newStore(t, r.Connect(), srv, small)
	now := time.Now()
	if err := s.Mark(ctx, "user-test-demoted", now.Add(7*time.Minute)); err != nil {
		t.Fatal(err)
	}
	for i := range 50 {
		if err := s.Revoke(ctx, fmt.Sprintf("session-test-%02d", i), now.Add(7*time.Minute+time.Duration(i)*time.Second)); err != nil {
			t.Fatal(err)
		}
	}
	rdb := r.Connect()
	if n := rdb.ZCard(ctx, setKey(srv.ProjectID(), "revoked")).Val(); n != 10 {
		t.Fatalf("%d revocations in Redis, want 10", n)
	}
	if rdb.ZScore(ctx, setKey(srv.ProjectID(), "marks"), "user-test-demoted").Err() != nil {
		t.Fatal("a logout flood pushed a mark out of Redis")
	}
	if _, ok := s.MarkedUntil(ctx, "user-test-demoted"); !ok {
		t.Fatal("a logout flood pushed a mark out of the mirror")
	}
	for i := range 10 {
		if err := s.Mark(ctx, fmt.Sprintf("member-test-%02d", i), now.Add(8*time.Minute+time.Duration(i)*time.Second)); err != nil {
			t.Fatal(err)
		}
	}
	if n := rdb.ZCard(ctx, setKey(srv.ProjectID(), "marks")).Val(); n > 6 {
		t.Fatalf("%d marks in Redis, want at most 5 and the mark of everyone", n)
	}
	if rdb.ZScore(ctx, setKey(srv.ProjectID(), "marks"), middleware.Everyone).Err() != nil {
		t.Fatal("marks were trimmed and nobody stands for them")
	}
	// Another instance, starting now, and this one: the first mark still
	// holds on both, through the mark of everyone.
	for i, st := range []*redisstore.Store{s, newStore(t, r.Connect(), srv, small)} {
		if until, ok := st.MarkedUntil(ctx, "user-test-demoted"); !ok || until.Before(now.Add(7*time.Minute)) {
			t.Fatalf("instance %d: the trimmed mark holds until %v, %v", i, until, ok)
		}
	}
}

func TestNewFailsWhenRedisIsUnreachable(t *testing.T) {
	r := redistest.Start(t)
	r.Stop()
	srv := stytchtest.NewServer()
	t.Cleanup(srv.Close)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	start := time.Now()
	_, err := redisstore.New(ctx, redisstore.Config{Client: r.Client(), ProjectID: srv.ProjectID(), LoadTimeout: time.Second})
	if err == nil || time.Since(start) > 3*time.Second {
		t.Fatalf("New with Redis down: %v after %v", err, time.Since(start))
	}
}

func TestConfigIsChecked(t *testing.T) {
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1"})
	defer rdb.Close()
	tests := []struct {
		name string
		cfg  redisstore.Config
	}{
		{"no client", redisstore.Config{ProjectID: "project-test-1"}},
		{"no project", redisstore.Config{Client: rdb}},
		// A brace would move the project's keys out of their hash tag.
		{"brace in the project", redisstore.Config{Client: rdb, ProjectID: "project-{test}"}},
		{"brace in the prefix", redisstore.Config{Client: rdb, ProjectID: "project-test-1", Prefix: "app{"}},
		{"replicas below NoReplicas", redisstore.Config{Client: rdb, ProjectID: "project-test-1", Replicas: -2}},
		{"negative replica timeout", redisstore.Config{Client: rdb, ProjectID: "project-test-1", ReplicaTimeout: -time.Second}},
		{"negative timeout", redisstore.Config{Client: rdb, ProjectID: "project-test-1", Timeout: -time.Second}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := redisstore.New(context.Background(), tt.cfg); err == nil {
				t.Fatal("accepted")
			}
		})
	}
}

func TestCloseLeavesNoGoroutines(t *testing.T) {
	r := redistest.Start(t)
	srv := stytchtest.NewServer()
	t.Cleanup(srv.Close)
	before := runtime.NumGoroutine()
	rdb := redis.NewClient(&redis.Options{Addr: r.Addr()})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	s, err := redisstore.New(ctx, redisstore.Config{Client: rdb, ProjectID: srv.ProjectID()})
	if err != nil {
		t.Fatal(err)
	}
	_ = s.Revoke(ctx, "session-test-1", time.Now().Add(time.Minute))
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	rdb.Close()
	if !waitFor(func() bool { return runtime.NumGoroutine() <= before }, 5*time.Second) {
		t.Fatalf("%d goroutines before, %d after Close", before, runtime.NumGoroutine())
	}
}

// testWebhookMarksReachEveryInstance delivers Stytch's webhook for a deleted
// user to instance A only: B, sharing Redis, refuses the user's still-fresh
// JWT at once.
func testWebhookMarksReachEveryInstance(t *testing.T, d redistest.Deployment) {
	const secret = "whsec_c3R5dGNoZ3VhcmQtd2ViaG9vay10ZXN0LXNlY3JldA=="
	srv, a, b := twoInstances(t, d)
	wh, err := a.mw.WebhookHandler(secret)
	if err != nil {
		t.Fatal(err)
	}
	delivered := make(chan int, 10)
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		rec := httptest.NewRecorder()
		wh.ServeHTTP(rec, req)
		w.WriteHeader(rec.Code)
		delivered <- rec.Code
	}))
	t.Cleanup(ts.Close)
	srv.SetWebhooks(stytchtest.WebhookConfig{Secret: secret, URLs: []string{ts.URL}})
	tok := newSession(t, srv)
	if b.get(tok.SessionJWT, "") != 200 {
		t.Fatal("fresh JWT refused")
	}
	srv.CreateUser(stytchtest.UserParams{Email: "other@example.com"}) // a create: accepted, changes nothing
	if code := <-delivered; code != http.StatusNoContent {
		t.Fatalf("create delivery: %d", code)
	}
	uid := subjectOf(t, srv, tok)
	if err := srv.DeleteUser(uid); err != nil {
		t.Fatal(err)
	}
	select {
	case code := <-delivered:
		if code != http.StatusNoContent {
			t.Fatalf("delete delivery: %d", code)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no delivery")
	}
	refusedWithin(t, b, tok.SessionJWT, time.Second)
}

// subjectOf returns the user id of a session.
func subjectOf(t *testing.T, srv *stytchtest.Server, tok stytchtest.Tokens) string {
	t.Helper()
	res, err := srv.Client().Consumer.Authenticate(context.Background(), session.AuthenticateParams{SessionToken: tok.SessionToken})
	if err != nil {
		t.Fatal(err)
	}
	return res.User.UserID
}
