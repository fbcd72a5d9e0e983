// Package redisstore shares stytchguard's revocations, the marks of people
// changed elsewhere (middleware.WebhookHandler), and optionally Stytch's
// answers, between the instances of an app through Redis (6 or newer) or
// Valkey, so that a logout on one instance is refused on every instance at
// once, and after a restart.
//
//	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:6379"})
//	store, err := redisstore.New(ctx, redisstore.Config{Client: rdb, ProjectID: projectID})
//	...
//	defer store.Close()
//	mw, err := middleware.New(middleware.Config{Client: client, Stores: middleware.Stores{Revocations: store, RemoteCache: store}})
//
// It is a module of its own, so that stytchguard itself never requires a
// Redis client.
//
// # How it works
//
// The request path makes no network call: IsRevoked reads a local mirror of
// the revocations (the middleware's bounded in-memory list, dropping entries
// in expiry order). The mirror is filled from a sorted set in Redis (session
// id scored by expiry) at New and kept current through pub/sub: Revoke
// writes the sorted set and publishes in one atomic script before the logout
// answers, and every instance applies the message on arrival. After every
// reconnect, and every ResyncInterval (1 min), the worker reloads the whole
// set, so a message missed while disconnected is recovered, never lost.
// Redis holds at most Size entries (100,000), expired ones pruned on every
// write; every Redis call has a timeout. The marks (Mark, MarkedUntil) take
// the same way through a sorted set, a channel and a mirror of their own,
// so that a flood of logouts cannot push a mark out; past MarksSize, the
// marks that end soonest give way to one mark of everyone
// (middleware.Everyone), never to nothing.
//
// The remote cache (RemoteCache: store) keeps each of Stytch's answers
// locally and in Redis under the credential's SHA-256 digest, with the
// answer's remaining life as its TTL, so an opaque token answered on one
// instance is not asked about again on another. Values are the answer (the
// session, the user or member), never the credential.
//
// # One Redis, Sentinel, Cluster
//
// Config.Client is any redis.UniversalClient: redis.NewClient for one
// Redis, redis.NewFailoverClient (or NewUniversalClient with MasterName)
// for Sentinel, redis.NewClusterClient for Redis Cluster. The store's suite
// runs on all three (TestOnOneRedis, TestOnSentinel: a primary, a replica,
// three sentinels; TestOnCluster: three primaries, each with a replica).
// A project's sorted sets and channels share the hash tag {ProjectID}, so
// that on a cluster one primary holds them and every script touches one
// slot; the remote cache's keys have no tag, and spread. Pub/sub is
// Redis's regular kind, not sharded: it works on Redis 6, Valkey and every
// deployment alike, and logouts are too few for a cluster's broadcast to
// cost anything. Every second the worker publishes a canary on a channel
// of its own through the primary that holds its keys, and subscribes
// again when it does not hear it: a subscription left on a demoted primary
// (go-redis's failover client does not move subscriptions) or on a
// restarted one that does not yet hear the new primary is replaced within
// a second, and the worker reloads once the canary comes back.
//
// # What a logout waits for
//
// Where the primary has replicas, a logout is acknowledged only once they
// have it: Revoke runs the script, then WAIT on the same connection, for
// Config.Replicas replicas (zero: those connected to the primary at the
// time, in sync or catching up) within ReplicaTimeout (500 ms). Fewer in
// time, and Revoke returns an error wrapping ErrNotReplicated; the
// middleware answers the logout 503 (repeat it), the revocation holds on
// this instance and on every instance that heard it, and the store writes
// it again until the replicas have it. Revoke returns within Timeout +
// ReplicaTimeout (1 s) whatever the client's own timeouts. NoReplicas
// never waits: the primary's answer is the acknowledgement, as with one
// Redis without replicas, which works as it always did.
//
// # Failures, and what a user sees
//
// Redis down (or cut off by a partition): instances keep serving;
// revocations already known stay in the mirror, and the remote cache falls
// back to its local copy. A logout still revokes the session at Stytch and
// on the instance that served it; the revocation is queued and the logout
// answers 503 within 1 s (the user repeats it, cookies kept). When Redis is
// back, the queue is written and published and every instance reloads.
// The window an outage opens: another instance accepts the logged-out
// session's JWT until that JWT goes stale (at most 5 minutes after it was
// issued, when the middleware asks Stytch, which refuses it) or until
// Redis is back, whichever comes first; an opaque token is refused
// everywhere at once, since Stytch is asked about it. Ready says degraded
// meanwhile. An instance that cannot reach Redis at start fails New rather
// than serve blind to earlier logouts.
//
// A failover (Sentinel or Cluster, the primary killed): logouts answer 503
// until a replica is promoted (about 2 s in the tests' settings; the
// deployment's down-after or node timeout, plus an election, in
// production), the revocations queued meanwhile are written to the new
// primary, and every instance is back in step within a second of the new
// primary serving. No acknowledged logout is lost: the failover test kills
// the primary five times during a stream of logouts, on each deployment.
//
// What this does not cover: a primary lost for good while no replica is
// connected (one Redis without replicas, or a replica down or not yet
// reattached) takes with it the logouts it acknowledged alone. A Redis
// killed and restarted with its append-only file keeps them, unless
// appendfsync everysec put writing them off behind a slow fsync (up to
// 2 s; always and no write before answering); a machine that crashes
// loses what was not yet fsynced. A split brain (a primary the sentinels replaced
// but some clients still reach, before it is demoted) acknowledges
// logouts that are then dropped. Config.Replicas set to the number of
// replicas (or Redis's min-replicas-to-write) turns both into 503s, at
// the price of 503s whenever a replica is away. A logout so lost was still
// revoked at Stytch: its session's JWTs are refused everywhere once they
// go stale (5 minutes at most), and at once on the instance that took it.
//
// # Figures
//
// BenchmarkMiddleware compares a cached-JWT request with this store and with
// the in-memory list; BenchmarkPropagation times a logout's way from Revoke on
// one instance to IsRevoked on another; BenchmarkStartupLoad times New with
// 10,000 revocations in Redis and the mirror's heap. bench/RESULTS.md has
// their figures (bench/run.sh runs them where redis-server is installed);
// bench.sh here runs them alone.
//
// Redis itself must keep its data across a restart (append-only file or
// snapshots) for an instance started afterwards to know earlier logouts;
// while Redis runs, its set holds at most Size entries of about 100 bytes.
// Each instance costs Redis one subscription and one canary a second.
//
// # Settings
//
// Client and ProjectID (required); Prefix (stytchguard:); Timeout (500 ms,
// each Redis call), RemoteTimeout (100 ms, a remote-cache read on a
// request's path), LoadTimeout (10 s, a full load); Replicas (0: those
// connected) and ReplicaTimeout (500 ms); ResyncInterval (1 min); Size,
// MarksSize (100,000 each), RemoteSize (10,000); Now; Logger. On the
// client, go-redis bounds a read by its ReadTimeout (3 s), not by the
// call's context, unless ContextTimeoutEnabled is set: set it so that
// RemoteTimeout holds on a request's path too (Revoke and Mark hold their
// bound either way).
package redisstore
