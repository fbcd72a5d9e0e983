package grpcguard_test

import (
	"context"
	"net"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/test/bufconn"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/stytchguard/stytchguard/grpcguard"
	"github.com/stytchguard/stytchguard/internal/adaptertest"
)

// BenchmarkUnary measures a unary call over an in-memory connection whose
// session JWT the middleware has seen before, on a server without
// authentication (bare) and with grpcguard's interceptor (grpcguard), and
// the interceptor's decision alone (authorize). grpcguard ÷ bare is what
// authentication costs a call; the target is 1.1× at most.
func BenchmarkUnary(b *testing.B) {
	f := adaptertest.New(b)
	g, err := grpcguard.New(grpcguard.Config{Middleware: f.Consumer})
	if err != nil {
		b.Fatal(err)
	}
	ctx := metadata.AppendToOutgoingContext(context.Background(), "authorization", "Bearer "+f.Token(b))
	b.Run("bare", func(b *testing.B) { benchCalls(b, ctx, nil) })
	b.Run("grpcguard", func(b *testing.B) { benchCalls(b, ctx, g) })
	b.Run("authorize", func(b *testing.B) {
		md, _ := metadata.FromOutgoingContext(ctx)
		in := metadata.NewIncomingContext(context.Background(), md)
		if _, err := g.Authorize(in, "/demo.Documents/Me"); err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		b.ResetTimer()
		for range b.N {
			if _, err := g.Authorize(in, "/demo.Documents/Me"); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func benchCalls(b *testing.B, ctx context.Context, g *grpcguard.Guard) {
	ln := bufconn.Listen(1 << 20)
	var opts []grpc.ServerOption
	if g != nil {
		opts = append(opts, grpc.ChainUnaryInterceptor(g.Unary()))
	}
	srv := grpc.NewServer(opts...)
	for i := range services {
		srv.RegisterService(&services[i], struct{}{})
	}
	go func() { _ = srv.Serve(ln) }()
	defer srv.Stop()
	conn, err := grpc.NewClient("passthrough:///bufnet",
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return ln.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close()
	in, out := wrapperspb.String("hi"), new(wrapperspb.StringValue)
	if err := conn.Invoke(ctx, "/demo.Documents/Me", in, out); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		if err := conn.Invoke(ctx, "/demo.Documents/Me", in, out); err != nil {
			b.Fatal(err)
		}
	}
}
