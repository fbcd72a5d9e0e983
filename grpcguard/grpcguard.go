package grpcguard

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/protoadapt"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/stytchguard/stytchguard"
	"github.com/stytchguard/stytchguard/middleware"
)

// Config says how each method is guarded.
type Config struct {
	// Middleware is the app's middleware, whose pipeline decides every call.
	// Required.
	Middleware *middleware.Middleware
	// Methods maps a method's full name ("/pkg.Service/Method"), or a
	// service ("/pkg.Service/": every method it has), to the library's
	// net/http middlewares and guards that guard it, outermost first: one
	// of the middleware's (mw.Require, mw.Authenticate,
	// mw.RequireMachine(...), mw.RequireSessionOrMachine(...)), then any
	// guards (rbac.Require(...), mw.RequireFactor(...), ...). A method
	// mapped to none is served without a credential. A full name wins over
	// its service.
	Methods map[string][]func(http.Handler) http.Handler
	// Default guards the methods Methods does not name. Nil means
	// Middleware.Require: a person's session, nothing more.
	Default []func(http.Handler) http.Handler
}

// Guard holds the compiled guards of each method; its interceptors are safe
// for concurrent use.
type Guard struct {
	methods map[string]http.Handler // nil: served without a credential
	def     http.Handler
}

// New compiles cfg's guards.
func New(cfg Config) (*Guard, error) {
	if cfg.Middleware == nil {
		return nil, errors.New("grpcguard: Config.Middleware is required")
	}
	g := &Guard{methods: make(map[string]http.Handler, len(cfg.Methods))}
	for name, guards := range cfg.Methods {
		if !strings.HasPrefix(name, "/") || strings.Count(name, "/") != 2 {
			return nil, fmt.Errorf("grpcguard: Config.Methods: %q is neither \"/pkg.Service/Method\" nor \"/pkg.Service/\"", name)
		}
		g.methods[name] = chain(guards)
	}
	if cfg.Default == nil {
		cfg.Default = []func(http.Handler) http.Handler{cfg.Middleware.Require}
	}
	if g.def = chain(cfg.Default); g.def == nil {
		return nil, errors.New("grpcguard: Config.Default is empty: every method not named would be served without a credential; name them in Methods with no guards instead")
	}
	return g, nil
}

// chain composes guards, outermost first, around admit; none is nil.
func chain(guards []func(http.Handler) http.Handler) http.Handler {
	if len(guards) == 0 {
		return nil
	}
	h := http.Handler(http.HandlerFunc(admit))
	for i := len(guards) - 1; i >= 0; i-- {
		h = guards[i](h)
	}
	return h
}

// Unary returns the unary server interceptor.
func (g *Guard) Unary() grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		ctx, err := g.Authorize(ctx, info.FullMethod)
		if err != nil {
			return nil, err
		}
		return handler(ctx, req)
	}
}

// Stream returns the stream server interceptor: the call is decided once,
// when the stream opens.
func (g *Guard) Stream() grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
		ctx, err := g.Authorize(ss.Context(), info.FullMethod)
		if err != nil {
			return err
		}
		return handler(srv, &stream{ServerStream: ss, ctx: ctx})
	}
}

// stream is a ServerStream whose context holds the session.
type stream struct {
	grpc.ServerStream
	ctx context.Context
}

func (s *stream) Context() context.Context { return s.ctx }

// Authorize decides the call of method with ctx's incoming metadata and
// peer: it returns the context the handler gets, holding the session or
// machine, or the refusal as a status error. The interceptors call it; a
// server that dispatches on its own (grpc.UnknownServiceHandler, say) can
// too.
func (g *Guard) Authorize(ctx context.Context, method string) (context.Context, error) {
	h, ok := g.methods[method]
	if !ok {
		if i := strings.LastIndexByte(method, '/'); i > 0 {
			h, ok = g.methods[method[:i+1]]
		}
	}
	if !ok {
		h = g.def
	}
	if h == nil {
		return ctx, nil // named with no guards
	}
	c := new(call)
	r := request(stytchguard.WithErrorHandler(context.WithValue(ctx, callKey{}, c), capture), method)
	h.ServeHTTP(&c.w, r)
	switch {
	case c.refusal != nil:
		return nil, Status(c.refusal).Err()
	case c.ctx == nil:
		return nil, status.Error(codes.Internal, "grpcguard: a guard neither refused the call nor let it through")
	}
	return c.ctx, nil
}

// call is one call's passage through the guards.
type call struct {
	w       discard
	ctx     context.Context // set when the guards let the call through
	refusal *stytchguard.Refusal
}

type callKey struct{}

func callOf(r *http.Request) *call {
	c, _ := r.Context().Value(callKey{}).(*call)
	return c
}

// admit is the innermost handler: the guards let the call through.
func admit(_ http.ResponseWriter, r *http.Request) {
	if c := callOf(r); c != nil {
		c.ctx = r.Context()
	}
}

// capture is the ErrorHandler the guards answer through: it keeps the
// refusal for Authorize, which turns it into a status.
func capture(_ http.ResponseWriter, r *http.Request, e *stytchguard.Refusal) {
	if c := callOf(r); c != nil {
		c.refusal = e
	}
}

// request is the HTTP request the middleware would see for the call.
func request(ctx context.Context, method string) *http.Request {
	md, _ := metadata.FromIncomingContext(ctx)
	h := make(http.Header, 1)
	if v := md.Get("authorization"); len(v) > 0 {
		h["Authorization"] = v
	}
	r := &http.Request{
		Method:     http.MethodPost,
		URL:        &url.URL{Path: method},
		RequestURI: method,
		Proto:      "HTTP/2.0",
		ProtoMajor: 2,
		Header:     h,
		Body:       http.NoBody,
	}
	if a := md.Get(":authority"); len(a) > 0 {
		r.Host = a[0]
	}
	if p, ok := peer.FromContext(ctx); ok && p.Addr != nil {
		r.RemoteAddr = p.Addr.String()
	}
	return r.WithContext(ctx)
}

// discard is the response writer the guards get: what they would write
// (refreshed cookies, for one) has no place in a gRPC answer.
type discard struct{ h http.Header }

func (d *discard) Header() http.Header {
	if d.h == nil {
		d.h = make(http.Header)
	}
	return d.h
}
func (d *discard) Write(p []byte) (int, error) { return len(p), nil }
func (d *discard) WriteHeader(int)             {}

// Status returns e as a gRPC status: its code from e's HTTP status, its
// message e's (safe to show: never a token), an ErrorInfo detail naming
// e's code and, for 503 and 429, a RetryInfo detail.
func Status(e *stytchguard.Refusal) *status.Status {
	code := codeOf(e.Status)
	s := status.New(code, e.Message)
	info := &errdetails.ErrorInfo{Reason: e.Code, Domain: "stytchguard"}
	if len(e.Scopes) > 0 {
		info.Metadata = map[string]string{"scopes": strings.Join(e.Scopes, " ")}
	}
	if len(e.Factors) > 0 {
		info.Metadata = map[string]string{"factors": strings.Join(e.Factors, " "), "max_age": strconv.Itoa(int(e.MaxAge / time.Second))}
	}
	details := []protoadapt.MessageV1{info}
	if code == codes.Unavailable || code == codes.ResourceExhausted {
		d := e.RetryAfter
		if d <= 0 {
			d = 5 * time.Second
		}
		details = append(details, &errdetails.RetryInfo{RetryDelay: durationpb.New(d)})
	}
	if withDetails, err := s.WithDetails(details...); err == nil {
		s = withDetails
	}
	return s
}

// codeOf maps a refusal's HTTP status to the gRPC code for it.
func codeOf(httpStatus int) codes.Code {
	switch httpStatus {
	case http.StatusBadRequest:
		return codes.InvalidArgument
	case http.StatusUnauthorized:
		return codes.Unauthenticated
	case http.StatusForbidden:
		return codes.PermissionDenied
	case http.StatusNotFound:
		return codes.NotFound
	case http.StatusTooManyRequests:
		return codes.ResourceExhausted
	case http.StatusServiceUnavailable, http.StatusBadGateway, http.StatusGatewayTimeout:
		return codes.Unavailable
	}
	return codes.Internal
}
