// Package demo holds what the two example apps share: the Stytch they talk
// to (a real project, or the emulator with a demo policy and demo logins),
// a toy document store, and serving until interrupted.
package demo
