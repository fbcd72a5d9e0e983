// Package webhook verifies and reads the webhooks Stytch sends through Svix:
// each delivery's svix-signature (HMAC-SHA256 over "<svix-id>.<svix-timestamp>.<body>",
// keyed with the endpoint secret's base64 part), its timestamp (5 minutes
// either way), and that an accepted delivery id does not come back. It is
// the standard scheme, written out (about a hundred lines), rather than
// Svix's Go library, whose generated API client would reach every user's
// module graph; the tests hold it to the example in Svix's documentation.
//
// middleware's WebhookHandler uses it to turn user and member changes made
// in Stytch's dashboard, by SCIM or by another service into marks that stop
// older JWTs of that person being trusted locally.
package webhook
