// Package svix signs and checks Svix webhook signatures, the scheme
// Stytch's webhooks use: webhook verifies deliveries with it, and the
// emulator (stytchtest) sends them.
package svix
