// Package demo holds what the two example apps share: the Stytch they talk
// to (a real project, or the emulator with a demo policy, demo logins and,
// for B2B, two demo organizations of which the second requires MFA), a small
// document store, the pages (Site: sign-in, home, documents, the MFA step of
// an organization switch, readable refusals; a stylesheet and one script,
// all embedded), serving until interrupted, and the stories their tests walk
// (RunStory over HTTP, RunBrowserStory in headless Chromium).
package demo
