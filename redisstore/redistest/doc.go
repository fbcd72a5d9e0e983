// Package redistest starts real redis-servers for tests, as httptest starts
// HTTP servers: on a free loopback port, with persistence in a temporary
// directory so that Stop and Start act as a crash and a restart, stopped
// when the test ends. No mock: the store's tests need Redis's own pub/sub,
// scripts and reconnects.
package redistest
