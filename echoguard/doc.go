// Package echoguard runs stytchguard in Echo (v4): the same middleware,
// guards, handlers and refusals as in net/http, translated, never
// reimplemented.
//
// Wrap turns any of the library's net/http middlewares and guards into an
// echo.MiddlewareFunc:
//
//	e.Use(echoguard.Wrap(mw.Authenticate))                      // session, if any
//	org := e.Group("/orgs/:organization_id", echoguard.Wrap(mw.Require),
//		echoguard.Wrap(authz.RequireOrganization(authz.PathValue("organization_id"))))
//	org.POST("/documents", write, echoguard.Wrap(rbac.Require("documents", "write")))
//	e.GET("/reports", reports, echoguard.Wrap(mw.RequireMachine("read:reports")))
//	e.POST("/logout", echo.WrapHandler(mw.LogoutHandler()))
//
// Guard does the same for one route, composing its guards once, when the
// route is registered. Echo v4 applies route, group and Use middleware anew
// on every request, a closure each; Guard's chain is built once, and one
// step into net/http and back serves all of its guards. Prefer it on busy
// routes:
//
//	e.POST("/documents", echoguard.Guard(write, mw.Require, rbac.Require("documents", "write")))
//
// A refused request is answered by the middleware's ErrorHandler, exactly as
// in net/http, and the next handler is not called. A request let through
// goes on with the session in its request context, which Consumer, Member
// and Machine read. Echo's path parameters are copied to the request's path
// values first, so authz.PathValue reads ":organization_id" as it reads
// "{organization_id}" in a ServeMux pattern.
//
// The handlers (LogoutHandler, LogoutAllHandler, SessionsHandler,
// WebhookHandler, ...) are plain http.Handlers: echo.WrapHandler serves them.
package echoguard
