// Package demotest drives the example apps from outside, for their tests:
// the HTTP story every example must pass, and the same story in a headless
// Chromium. It is imported only by tests, so that the demo binaries link
// neither the browser driver nor package testing.
package demotest
