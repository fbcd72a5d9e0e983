// Package bench compares stytchguard with what a Go user of Stytch would pick
// instead, on the same machine in the same run: auth0/go-jwt-middleware v2
// with its caching JWKS provider, the hand-rolled golang-jwt + keyfunc path
// that stytch-go's AuthenticateJWTLocal takes, and the floor (golang-jwt
// parse and RS256 verify with a static key). It is its own module, so the
// peers' dependencies never enter the library's go.mod.
//
// run.sh runs every benchmark with enough counts for benchstat, the library
// packages' own benchmarks, and profile.sh (CPU profile of first-seen tokens;
// mutex, block and CPU profiles at GOMAXPROCS 1 and 2), and writes
// RESULTS.md from all of it.
package bench
