// Command mcp is an MCP server that AI agents (Claude, ChatGPT, IDEs, any
// MCP client with OAuth) call for a person, with the access tokens Stytch
// issues them through Connected Apps. It has two tools over the demo's
// documents: list_documents (scope documents:read) and add_document (scope
// documents:write), and the consent page where a person signs in and
// approves or denies the agent's request.
//
// Tokens verify locally; once older than five minutes (MCP_INTROSPECT_AFTER)
// they are checked with Stytch's introspection, as the server's own
// confidential Connected Apps client (STYTCH_RESOURCE_CLIENT_ID and
// STYTCH_RESOURCE_CLIENT_SECRET; registered for it in emulator mode), so
// that an agent whose grant the person revoked stops working.
//
// Without STYTCH_PROJECT_ID and STYTCH_SECRET it runs Stytch's emulator in
// its own process as the authorization server:
//
//	cd examples && go run ./mcp [-addr 127.0.0.1:8090]
//
// and prints the MCP server's URL for an MCP client. Against a real
// project, set STYTCH_PROJECT_ID, STYTCH_SECRET and STYTCH_DOMAIN (the
// project's domain or custom domain, from the dashboard), set the
// dashboard's Connected Apps authorization URL to this server's
// /oauth/authorize, and -public-url to the URL clients reach it at.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/stytchguard/stytchguard/examples/internal/demo"
	"github.com/stytchguard/stytchguard/middleware"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "mcp:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	fs := flag.NewFlagSet("mcp", flag.ContinueOnError)
	addr := fs.String("addr", "127.0.0.1:8090", "address to listen on")
	publicURL := fs.String("public-url", "", "the URL clients reach this server at (default: http://<addr>)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	be, err := demo.NewBackend(getenv, false, nil)
	if err != nil {
		return err
	}
	defer be.Close()
	if be.Warning != nil {
		fmt.Fprintf(stdout, "warning: %v\n", be.Warning)
	}
	var servers []string
	if d := strings.TrimRight(getenv("STYTCH_DOMAIN"), "/"); d != "" {
		servers = []string{d}
	} else if be.Emulator == nil {
		return errors.New("set STYTCH_DOMAIN to the project's domain (or custom domain): it issues the access tokens")
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	base := strings.TrimRight(*publicURL, "/")
	if base == "" {
		base = "http://" + ln.Addr().String()
	}
	logger := slog.New(slog.NewTextHandler(stdout, nil))
	intro, err := introspection(be, base, getenv)
	if err != nil {
		ln.Close()
		return err
	}
	a, err := newApp(be, base, servers, intro, logger)
	if err != nil {
		ln.Close()
		return err
	}
	defer a.close()
	if be.Emulator != nil {
		// As a project's Connected Apps settings name the consent page.
		be.Emulator.SetAuthorizationURL(base + "/oauth/authorize")
		fmt.Fprintf(stdout, "No STYTCH_PROJECT_ID/STYTCH_SECRET: the Stytch emulator at %s is the authorization server (project %s)\n", be.Emulator.URL, be.Emulator.ProjectID())
	}
	fmt.Fprintf(stdout, "MCP server: %s/mcp (metadata: %s)\n", base, a.res.MetadataURL())
	fmt.Fprintf(stdout, "listening on %s\n", base)
	return demo.ServeListener(ctx, ln, a.routes())
}

// app is the MCP server, its consent page and the demo's sign-in.
type app struct {
	be   *demo.Backend
	mw   *middleware.Middleware
	res  *middleware.Resource
	mcp  http.Handler // the MCP server behind its guard
	docs demo.Documents
	// mcpURL is the resource: the MCP endpoint's URL.
	mcpURL string
}

// introspection is the resource server's own Connected Apps client, from
// the environment, or registered with the emulator; nil without one.
func introspection(be *demo.Backend, base string, getenv func(string) string) (*middleware.Introspection, error) {
	in := &middleware.Introspection{ClientID: getenv("STYTCH_RESOURCE_CLIENT_ID"), ClientSecret: getenv("STYTCH_RESOURCE_CLIENT_SECRET")}
	if v := getenv("MCP_INTROSPECT_AFTER"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			return nil, fmt.Errorf("MCP_INTROSPECT_AFTER: %q is not a positive duration", v)
		}
		in.After = d
	}
	switch {
	case in.ClientID != "":
		return in, nil
	case be.Emulator == nil:
		return nil, nil // tokens stay valid until their exp, revoked or not
	}
	c, err := be.Emulator.RegisterConnectedApp("Documents MCP server", true, base+"/unused")
	if err != nil {
		return nil, err
	}
	in.ClientID, in.ClientSecret = c.ClientID, c.ClientSecret
	return in, nil
}

func newApp(be *demo.Backend, base string, servers []string, intro *middleware.Introspection, logger *slog.Logger) (*app, error) {
	a := &app{be: be, mcpURL: base + "/mcp"}
	mw, err := middleware.New(middleware.Config{
		Client:       be.Client,
		Logger:       logger,
		Verification: middleware.Verification{Issuers: append(be.Issuers, servers...)},
		// Served over plain http on this machine: drop behind TLS.
		Cookies: middleware.Cookies{Insecure: true, HTTPOnly: true},
	})
	if err != nil {
		return nil, err
	}
	a.mw = mw
	a.res, err = mw.Resource(middleware.ProtectedResource{
		URL:                  a.mcpURL,
		AuthorizationServers: servers,
		// No offline_access: MCP servers should not advertise it; clients
		// find it in the authorization server's metadata.
		Scopes:        []string{demo.ScopeRead, demo.ScopeWrite},
		Name:          "Documents (stytchguard demo)",
		Introspection: intro,
		// Only tokens requested for this server (RFC 8707's resource, which
		// MCP clients send): one for another server of the project is
		// refused.
		Audiences: []string{a.mcpURL},
	})
	if err != nil {
		mw.Close()
		return nil, err
	}
	if a.mcp, err = a.mcpHandler(); err != nil {
		mw.Close()
		return nil, err
	}
	return a, nil
}

func (a *app) close() { a.mw.Close() }

func (a *app) routes() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET "+a.res.MetadataPath(), a.res.MetadataHandler())
	mux.Handle("/mcp", a.mcp)
	mux.Handle("GET /oauth/authorize", a.mw.Authenticate(http.HandlerFunc(a.consentPage)))
	mux.Handle("POST /oauth/authorize", a.mw.Require(http.HandlerFunc(a.decide)))
	mux.Handle("POST /logout", a.mw.LogoutHandler())
	if a.be.Emulator != nil {
		mux.Handle("POST /demo/login", demo.SameOrigin(a.be.LoginHandler(false, a.mw.SetSessionCookies)))
	}
	mux.Handle("/static/", demo.Static())
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprintf(w, "An MCP server: point an MCP client at %s\n", a.mcpURL)
	})
	return mux
}
