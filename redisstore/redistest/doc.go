// Package redistest starts real redis-servers for tests, as httptest starts
// HTTP servers: on free loopback ports, with persistence in temporary
// directories so that Stop and Start act as a crash and a restart, stopped
// when the test ends. No mock: the store's tests need Redis's own pub/sub,
// scripts, replication and failovers.
//
// Start runs one server; StartCluster a Redis Cluster of three primaries,
// each with a replica; StartSentinel a primary and a replica watched by
// three redis-sentinels. All three are a Deployment, so that one suite runs
// on each; the last two are Replicated: Failover kills (SIGKILL) a
// primary, waits until the cluster or the sentinels promote its replica,
// and brings the killed server back as the new primary's replica. Pause
// and Resume freeze a server (SIGSTOP), as a partition would.
//
// Without redis-server (or redis-sentinel, for StartSentinel) on PATH a
// test is skipped with a message starting "SKIPPED", except when the
// environment sets CI, where it fails.
package redistest
