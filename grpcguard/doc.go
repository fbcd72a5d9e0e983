// Package grpcguard runs stytchguard in a gRPC server: unary and stream
// interceptors that take the credential from the call's "authorization"
// metadata ("Bearer <session JWT, session token or M2M access token>") and
// run it through the library's own middleware and guards, per method.
//
//	g, err := grpcguard.New(grpcguard.Config{
//		Middleware: mw,
//		Methods: map[string][]func(http.Handler) http.Handler{
//			"/docs.Documents/Read":   {mw.Require, rbac.Require("documents", "read")},
//			"/docs.Documents/Write":  {mw.Require, rbac.Require("documents", "write")},
//			"/reports.Reports/":      {mw.RequireMachine("read:reports")}, // every method of the service
//			"/grpc.health.v1.Health/": {},                                // no credential needed
//		},
//	})
//	srv := grpc.NewServer(grpc.ChainUnaryInterceptor(g.Unary()), grpc.ChainStreamInterceptor(g.Stream()))
//
// Nothing is decided here: each call becomes the request the net/http
// middleware would see (POST to the method's full name, the authorization
// metadata as the Authorization header, the peer as the remote address),
// and the guards decide on it as they do over HTTP. Their refusal, a
// *stytchguard.Refusal, becomes the call's status: 401 Unauthenticated,
// 403 PermissionDenied, 400 InvalidArgument, 429 ResourceExhausted and 503
// Unavailable, the last two with a RetryInfo detail; every refusal carries
// an ErrorInfo detail whose reason is the refusal's code (domain
// "stytchguard"), with the scopes or factors that would open the method in
// its metadata. The handler gets the session (or the machine) in its
// context: stytchguard.ConsumerFromContext, MemberFromContext,
// MachineFromContext.
//
// Cookies are not read, so cross-origin protection never applies; logout
// and the other handlers are HTTP endpoints, served beside the gRPC server.
package grpcguard
