// Package conformance holds the tests that prove the emulator and the
// session client speak Stytch's wire format: every exchange validated
// against Stytch's OpenAPI description (internal/apispec), every answer
// decoded in strict structs shaped as Stytch's Go SDK reads them, and the
// Arazzo workflow and session recipes of shared/seeds run as written.
//
// It is a module of its own so that the OpenAPI validator and its
// dependencies stay out of the module graph of anyone who imports
// stytchguard. It has no API; run its tests with
//
//	cd conformance && go test ./...
package conformance
