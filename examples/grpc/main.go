// Command grpc serves a small gRPC service guarded by grpcguard: the
// caller's Stytch session (or M2M token) comes as "authorization: Bearer"
// metadata and goes through the same middleware and guards as over HTTP.
// With -call it is the client instead, calling one method with $TOKEN.
//
// Run it against Stytch's emulator: in one terminal,
// go run github.com/stytchguard/stytchguard/cmd/stytch-emulator, and in
// another the export lines it prints, then go run ./grpc, and in a third
// TOKEN=$DEMO_SESSION_TOKEN go run ./grpc -call /demo.Documents/Me
//
// The service is written out by hand (what protoc-gen-go-grpc would
// generate), with wrapperspb.StringValue messages, so that the example
// needs no code generation.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/stytchguard/stytchguard"
	"github.com/stytchguard/stytchguard/authz"
	"github.com/stytchguard/stytchguard/grpcguard"
	"github.com/stytchguard/stytchguard/middleware"
	"github.com/stytchguard/stytchguard/session"
)

func main() {
	call := flag.String("call", "", "call this method (/demo.Documents/Me, Read or Write) with $TOKEN and print the answer, instead of serving")
	flag.Parse()
	addr := "localhost:9090"
	if a := os.Getenv("ADDR"); a != "" {
		addr = a
	}
	if *call != "" {
		if err := invoke(addr, *call, os.Getenv("TOKEN")); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		return
	}

	client, err := session.New(session.Config{
		ProjectID: os.Getenv("STYTCH_PROJECT_ID"),
		Secret:    os.Getenv("STYTCH_SECRET"),
		BaseURL:   os.Getenv("STYTCH_BASE_URL"), // empty: Stytch itself
	})
	if err != nil {
		log.Fatal(err)
	}
	if err := client.Check(context.Background()); errors.Is(err, session.ErrCredentials) {
		log.Fatal(err)
	}
	mw, err := middleware.New(middleware.Config{Client: client})
	if err != nil {
		log.Fatal(err)
	}
	rbac, err := authz.New(authz.Config{Client: client})
	if err != nil {
		log.Fatal(err)
	}
	guard, err := grpcguard.New(grpcguard.Config{
		Middleware: mw,
		Methods: map[string][]func(http.Handler) http.Handler{
			"/demo.Documents/Me":    {mw.Require},
			"/demo.Documents/Read":  {mw.Require, rbac.Require("documents", "read")},
			"/demo.Documents/Write": {mw.Require, rbac.Require("documents", "write")},
		},
	})
	if err != nil {
		log.Fatal(err)
	}
	srv := grpc.NewServer(grpc.ChainUnaryInterceptor(guard.Unary()), grpc.ChainStreamInterceptor(guard.Stream()))
	srv.RegisterService(&documents, struct{}{})
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		log.Fatal(err)
	}
	log.Printf("serving gRPC on %s", addr)
	log.Fatal(srv.Serve(ln))
}

// documents is the demo.Documents service: each method answers who called.
var documents = grpc.ServiceDesc{
	ServiceName: "demo.Documents",
	HandlerType: (*any)(nil),
	Methods: []grpc.MethodDesc{
		{MethodName: "Me", Handler: answerWho("/demo.Documents/Me")},
		{MethodName: "Read", Handler: answerWho("/demo.Documents/Read")},
		{MethodName: "Write", Handler: answerWho("/demo.Documents/Write")},
	},
}

// answerWho is a unary method handler, as generated code has one, that
// answers the caller's user id.
func answerWho(full string) func(any, context.Context, func(any) error, grpc.UnaryServerInterceptor) (any, error) {
	return func(srv any, ctx context.Context, dec func(any) error, interceptor grpc.UnaryServerInterceptor) (any, error) {
		in := new(wrapperspb.StringValue)
		if err := dec(in); err != nil {
			return nil, err
		}
		h := func(ctx context.Context, _ any) (any, error) {
			u, ok := stytchguard.ConsumerFromContext(ctx)
			if !ok {
				return wrapperspb.String("anonymous"), nil
			}
			return wrapperspb.String("user " + u.Session.UserID), nil
		}
		if interceptor == nil {
			return h(ctx, in)
		}
		return interceptor(ctx, in, &grpc.UnaryServerInfo{Server: srv, FullMethod: full}, h)
	}
}

// invoke calls method on addr with token as the Bearer credential.
func invoke(addr, method, token string) error {
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return err
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if token != "" {
		ctx = metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+token)
	}
	out := new(wrapperspb.StringValue)
	if err := conn.Invoke(ctx, method, wrapperspb.String(""), out); err != nil {
		s := status.Convert(err)
		return fmt.Errorf("%s: %s", s.Code(), s.Message())
	}
	fmt.Println(out.GetValue())
	return nil
}
