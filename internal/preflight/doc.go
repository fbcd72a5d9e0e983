// Package preflight is plumbing shared by middleware and authz: how a
// guard answers a CORS preflight, which browsers send without credentials
// and so without a principal.
//
// A guard's next handler runs only with a principal in the request's
// context. A preflight has none, so every guard answers it itself: 204, no
// body, next not called. An app whose CORS layer sits inside its guards
// sets middleware.CrossOrigin.PassPreflights: the middleware's guards then
// pass preflights on, marked (Pass), and every guard after them does too.
package preflight
