package grpcguard_test

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/test/bufconn"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/stytchguard/stytchguard"
	"github.com/stytchguard/stytchguard/grpcguard"
	"github.com/stytchguard/stytchguard/internal/adaptertest"
	"github.com/stytchguard/stytchguard/stytchtest"
)

// who answers the subject the guards put in the call's context.
func who(ctx context.Context) string {
	c, _ := stytchguard.ConsumerFromContext(ctx)
	m, _ := stytchguard.MemberFromContext(ctx)
	machine, _ := stytchguard.MachineFromContext(ctx)
	return adaptertest.Who(c, m, machine)
}

// unary is the generated code's method handler for full, written out:
// it answers who.
func unary(full string) func(any, context.Context, func(any) error, grpc.UnaryServerInterceptor) (any, error) {
	return func(srv any, ctx context.Context, dec func(any) error, icpt grpc.UnaryServerInterceptor) (any, error) {
		in := new(wrapperspb.StringValue)
		if err := dec(in); err != nil {
			return nil, err
		}
		h := func(ctx context.Context, _ any) (any, error) { return wrapperspb.String(who(ctx)), nil }
		if icpt == nil {
			return h(ctx, in)
		}
		return icpt(ctx, in, &grpc.UnaryServerInfo{Server: srv, FullMethod: full}, h)
	}
}

// watch is a server stream answering who three times.
func watch(_ any, ss grpc.ServerStream) error {
	in := new(wrapperspb.StringValue)
	if err := ss.RecvMsg(in); err != nil {
		return err
	}
	for range 3 {
		if err := ss.SendMsg(wrapperspb.String(who(ss.Context()))); err != nil {
			return err
		}
	}
	return nil
}

var services = []grpc.ServiceDesc{
	{
		ServiceName: "demo.Documents",
		HandlerType: (*any)(nil),
		Methods: []grpc.MethodDesc{
			{MethodName: "Read", Handler: unary("/demo.Documents/Read")},
			{MethodName: "Write", Handler: unary("/demo.Documents/Write")},
			{MethodName: "Me", Handler: unary("/demo.Documents/Me")},
		},
		Streams: []grpc.StreamDesc{{StreamName: "Watch", Handler: watch, ServerStreams: true}},
	},
	{
		ServiceName: "demo.Reports",
		HandlerType: (*any)(nil),
		Methods:     []grpc.MethodDesc{{MethodName: "Get", Handler: unary("/demo.Reports/Get")}},
	},
	{
		ServiceName: "demo.Public",
		HandlerType: (*any)(nil),
		Methods:     []grpc.MethodDesc{{MethodName: "Ping", Handler: unary("/demo.Public/Ping")}},
	},
}

// serve starts a gRPC server guarded by g over an in-memory listener and
// returns a connection to it.
func serve(t *testing.T, g *grpcguard.Guard) *grpc.ClientConn {
	t.Helper()
	ln := bufconn.Listen(1 << 20)
	srv := grpc.NewServer(grpc.ChainUnaryInterceptor(g.Unary()), grpc.ChainStreamInterceptor(g.Stream()))
	for i := range services {
		srv.RegisterService(&services[i], struct{}{})
	}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(srv.Stop)
	conn, err := grpc.NewClient("passthrough:///bufnet",
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return ln.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	return conn
}

func newGuard(t *testing.T, f *adaptertest.Fixture) *grpcguard.Guard {
	t.Helper()
	mw, rbac := f.Consumer, f.ConsumerRBAC
	g, err := grpcguard.New(grpcguard.Config{
		Middleware: mw,
		Methods: map[string][]func(http.Handler) http.Handler{
			"/demo.Documents/Read":  {mw.Require, rbac.Require("documents", "read")},
			"/demo.Documents/Write": {mw.Require, rbac.Require("documents", "write")},
			"/demo.Reports/":        {mw.RequireMachine("read:reports")},
			"/demo.Public/":         {},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	return g
}

// call invokes method with bearer (none when empty) and returns the answer.
func call(conn *grpc.ClientConn, method, bearer string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if bearer != "" {
		ctx = metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+bearer)
	}
	out := new(wrapperspb.StringValue)
	err := conn.Invoke(ctx, method, wrapperspb.String("hi"), out)
	return out.GetValue(), err
}

func TestUnary(t *testing.T) {
	f := adaptertest.New(t)
	conn := serve(t, newGuard(t, f))
	editor := f.Start(t, f.EditorID)
	viewer := f.Start(t, f.ViewerID)
	revoked := f.Start(t, f.ViewerID)
	if err := f.Server.RevokeSession(revoked.SessionID); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, method, bearer string
		code                 codes.Code
		answer, reason       string
	}{
		{"no credential", "/demo.Documents/Me", "", codes.Unauthenticated, "", "unauthenticated"},
		{"session JWT", "/demo.Documents/Me", editor.SessionJWT, codes.OK, "user " + f.EditorID, ""},
		{"session token", "/demo.Documents/Me", editor.SessionToken, codes.OK, "user " + f.EditorID, ""},
		{"garbage", "/demo.Documents/Me", "x.y.z", codes.Unauthenticated, "", "invalid_token"},
		{"revoked", "/demo.Documents/Me", revoked.SessionToken, codes.Unauthenticated, "", "invalid_token"},
		{"permission", "/demo.Documents/Read", viewer.SessionJWT, codes.OK, "user " + f.ViewerID, ""},
		{"missing permission", "/demo.Documents/Write", viewer.SessionJWT, codes.PermissionDenied, "", stytchguard.CodeConsumerDenied},
		{"editor writes", "/demo.Documents/Write", editor.SessionJWT, codes.OK, "user " + f.EditorID, ""},
		{"machine on a person's method", "/demo.Documents/Me", f.MachineToken, codes.PermissionDenied, "", "session_required"},
		{"machine method", "/demo.Reports/Get", f.MachineToken, codes.OK, "machine ", ""},
		{"person on a machine method", "/demo.Reports/Get", editor.SessionJWT, codes.PermissionDenied, "", "insufficient_scope"},
		{"public method", "/demo.Public/Ping", "", codes.OK, "anonymous", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := call(conn, tt.method, tt.bearer)
			s := status.Convert(err)
			if s.Code() != tt.code {
				t.Fatalf("%v, want %v", err, tt.code)
			}
			if !strings.HasPrefix(got, tt.answer) {
				t.Fatalf("answer %q, want %q", got, tt.answer)
			}
			if tt.reason != "" {
				if info := errorInfo(s); info == nil || info.Reason != tt.reason || info.Domain != "stytchguard" {
					t.Fatalf("ErrorInfo %v, want reason %q", info, tt.reason)
				}
			}
			for _, secret := range []string{editor.SessionJWT, editor.SessionToken, viewer.SessionJWT, revoked.SessionToken, f.MachineToken} {
				if strings.Contains(s.Message(), secret) {
					t.Fatal("a credential in the status message")
				}
			}
		})
	}
}

// TestOutageIsUnavailable: Stytch down is Unavailable with a RetryInfo,
// never Unauthenticated, and the insufficient scope names the scopes.
func TestOutageIsUnavailable(t *testing.T) {
	f := adaptertest.New(t)
	conn := serve(t, newGuard(t, f))
	tok := f.Start(t, f.ViewerID)
	f.Server.InjectFault(stytchtest.Authenticate, stytchtest.Fault{Status: 503})
	_, err := call(conn, "/demo.Documents/Me", tok.SessionToken)
	s := status.Convert(err)
	if s.Code() != codes.Unavailable {
		t.Fatalf("during an outage: %v, want Unavailable", err)
	}
	var retry *errdetails.RetryInfo
	for _, d := range s.Details() {
		if r, ok := d.(*errdetails.RetryInfo); ok {
			retry = r
		}
	}
	if retry == nil || retry.GetRetryDelay().AsDuration() <= 0 {
		t.Fatalf("no RetryInfo in %v", s.Details())
	}
	f.Server.ClearFaults()
	if got, err := call(conn, "/demo.Documents/Me", tok.SessionToken); err != nil || got != "user "+f.ViewerID {
		t.Fatalf("after the outage: %q %v", got, err)
	}
	_, err = call(conn, "/demo.Reports/Get", tok.SessionJWT)
	if info := errorInfo(status.Convert(err)); info == nil || info.Metadata["scopes"] != "read:reports" {
		t.Fatalf("insufficient scope: %v", info)
	}
}

func errorInfo(s *status.Status) *errdetails.ErrorInfo {
	for _, d := range s.Details() {
		if info, ok := d.(*errdetails.ErrorInfo); ok {
			return info
		}
	}
	return nil
}

// TestStream: the stream is decided when it opens, by Default (Require),
// and its handler sees the session in the stream's context.
func TestStream(t *testing.T) {
	f := adaptertest.New(t)
	conn := serve(t, newGuard(t, f))
	tok := f.Start(t, f.EditorID)
	for _, tt := range []struct {
		name, bearer string
		code         codes.Code
	}{{"no credential", "", codes.Unauthenticated}, {"session", tok.SessionJWT, codes.OK}} {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if tt.bearer != "" {
				ctx = metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+tt.bearer)
			}
			st, err := conn.NewStream(ctx, &grpc.StreamDesc{ServerStreams: true}, "/demo.Documents/Watch")
			if err != nil {
				t.Fatal(err)
			}
			if err := st.SendMsg(wrapperspb.String("hi")); err != nil {
				t.Fatal(err)
			}
			_ = st.CloseSend()
			n := 0
			for {
				out := new(wrapperspb.StringValue)
				err := st.RecvMsg(out)
				if errors.Is(err, io.EOF) {
					break
				}
				if err != nil {
					if status.Code(err) != tt.code {
						t.Fatalf("%v, want %v", err, tt.code)
					}
					return
				}
				if out.GetValue() != "user "+f.EditorID {
					t.Fatalf("stream answered %q", out.GetValue())
				}
				n++
			}
			if tt.code != codes.OK || n != 3 {
				t.Fatalf("%d messages, want %v", n, tt.code)
			}
		})
	}
}

func TestNewRefusesBadConfig(t *testing.T) {
	f := adaptertest.New(t)
	tests := []struct {
		name string
		cfg  grpcguard.Config
		want string
	}{
		{"no middleware", grpcguard.Config{}, "Config.Middleware"},
		{"bad method name", grpcguard.Config{Middleware: f.Consumer, Methods: map[string][]func(http.Handler) http.Handler{"demo.Documents/Read": nil}}, "Config.Methods"},
		{"empty default", grpcguard.Config{Middleware: f.Consumer, Default: []func(http.Handler) http.Handler{}}, "Config.Default"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := grpcguard.New(tt.cfg); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("%v, want an error naming %s", err, tt.want)
			}
		})
	}
}
