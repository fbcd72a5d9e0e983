// Package adaptertest is the story every framework adapter (ginguard,
// echoguard) must tell exactly as net/http does: the routes an adapter's
// test mounts in its framework, and the requests it then answers, each with
// the status and body a user relies on. It is test code, imported only by
// tests: the adapters translate, the core decides, and this story checks
// that the translation loses nothing.
package adaptertest
