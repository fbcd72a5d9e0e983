// Package ginguard runs stytchguard in gin: the same middleware, guards,
// handlers and refusals as in net/http, translated, never reimplemented.
//
// Wrap turns any of the library's net/http middlewares and guards into a
// gin.HandlerFunc:
//
//	r.Use(ginguard.Wrap(mw.Authenticate))                       // session, if any
//	docs := r.Group("/orgs/:organization_id", ginguard.Wrap(mw.Require),
//		ginguard.Wrap(authz.RequireOrganization(authz.PathValue("organization_id"))))
//	docs.POST("/documents", ginguard.Wrap(rbac.Require("documents", "write")), write)
//	r.GET("/reports", ginguard.Wrap(mw.RequireMachine("read:reports")), reports)
//	r.POST("/logout", gin.WrapH(mw.LogoutHandler()))
//
// A refused request is answered by the middleware's ErrorHandler, exactly as
// in net/http, and the gin chain is aborted. A request let through goes on
// with the session in its request context, which Consumer, Member and Machine
// read: c.Request.Context() is where the library's own guards, and any
// net/http code the app shares, look for it too. Gin's path parameters are
// copied to the request's path values first, so authz.PathValue reads
// ":organization_id" as it reads "{organization_id}" in a ServeMux pattern.
//
// The handlers (LogoutHandler, LogoutAllHandler, SessionsHandler,
// WebhookHandler, ...) are plain http.Handlers: gin.WrapH serves them.
package ginguard
