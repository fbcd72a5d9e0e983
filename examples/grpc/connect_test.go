package main

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/stytchguard/stytchguard"
	"github.com/stytchguard/stytchguard/internal/adaptertest"
	"github.com/stytchguard/stytchguard/stytchtest"
)

// TestConnectNeedsNoAdapter: a Connect service is a net/http handler, so
// the middleware and guards stack in front of it as in front of any other,
// and Connect's client reads their refusals as the right codes.
func TestConnectNeedsNoAdapter(t *testing.T) {
	f := adaptertest.New(t)
	me := func(ctx context.Context, _ *connect.Request[wrapperspb.StringValue]) (*connect.Response[wrapperspb.StringValue], error) {
		u, _ := stytchguard.ConsumerFromContext(ctx)
		return connect.NewResponse(wrapperspb.String("user " + u.Session.UserID)), nil
	}
	mux := http.NewServeMux()
	guarded := func(guards ...func(http.Handler) http.Handler) func(string, http.Handler) {
		return func(path string, h http.Handler) {
			for i := len(guards) - 1; i >= 0; i-- {
				h = guards[i](h)
			}
			mux.Handle(path, h)
		}
	}
	guarded(f.Consumer.Require)("/demo.Documents/Me", connect.NewUnaryHandler("/demo.Documents/Me", me))
	guarded(f.Consumer.Require, f.ConsumerRBAC.Require("documents", "write"))("/demo.Documents/Write", connect.NewUnaryHandler("/demo.Documents/Write", me))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)

	viewer := f.Start(t, f.ViewerID)
	outage := f.Start(t, f.ViewerID)
	tests := []struct {
		name, procedure, bearer string
		fault                   bool
		want                    connect.Code // 0: success
	}{
		{"session", "/demo.Documents/Me", viewer.SessionJWT, false, 0},
		{"no credential", "/demo.Documents/Me", "", false, connect.CodeUnauthenticated},
		{"missing permission", "/demo.Documents/Write", viewer.SessionJWT, false, connect.CodePermissionDenied},
		{"outage", "/demo.Documents/Me", outage.SessionToken, true, connect.CodeUnavailable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.fault {
				f.Server.InjectFault(stytchtest.Authenticate, stytchtest.Fault{Status: 503})
				defer f.Server.ClearFaults()
			}
			client := connect.NewClient[wrapperspb.StringValue, wrapperspb.StringValue](srv.Client(), srv.URL+tt.procedure)
			req := connect.NewRequest(wrapperspb.String(""))
			if tt.bearer != "" {
				req.Header().Set("Authorization", "Bearer "+tt.bearer)
			}
			res, err := client.CallUnary(context.Background(), req)
			if tt.want == 0 {
				if err != nil || res.Msg.GetValue() != "user "+f.ViewerID {
					t.Fatalf("%v %v", res, err)
				}
				return
			}
			if connect.CodeOf(err) != tt.want {
				t.Fatalf("%v, want %v", err, tt.want)
			}
		})
	}
}
