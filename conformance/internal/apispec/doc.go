// Package apispec checks HTTP exchanges against Stytch's OpenAPI description
// of the Sessions and RBAC APIs (openapi-sessions.yml beside this file, a copy
// of ../shared/stytch/openapi-sessions.yml kept equal by a test; see NOTICE).
// The emulator's tests use it to prove that every answer the emulator gives
// is one Stytch could give, and that the client's requests are ones Stytch
// accepts. It is test support: nothing outside tests imports it.
package apispec
