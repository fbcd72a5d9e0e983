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
// # When Redis is down
//
// Instances keep serving: revocations already known stay in the mirror, and
// the remote cache falls back to its local copy. A logout still revokes the
// session at Stytch and on the instance that served it; the revocation is
// queued and Revoke returns an error, so the middleware answers 503 (its
// rule for a revocation list that could not record: the user repeats the
// logout, cookies kept). When Redis is back, the queue is written and
// published and every instance reloads. The window an outage opens: another
// instance accepts the logged-out session's JWT until that JWT goes stale
// (at most 5 minutes after it was issued, when the middleware asks Stytch,
// which refuses it) or until Redis is back, whichever comes first; an opaque
// token is refused everywhere at once, since Stytch is asked about it. An
// instance that cannot reach Redis at start fails New rather than serve
// blind to earlier logouts.
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
package redisstore
