// Command agent is an MCP client that acts for you against examples/mcp,
// with the MCP Go SDK's own OAuth client, so that you can try the server
// without an MCP client of your own:
//
//	cd examples
//	go run ./mcp &       # the MCP server, the emulator inside
//	go run ./mcp/agent   # this agent
//
// It finds the authorization server from the server's 401, identifies
// itself by a Client ID Metadata Document it serves on this machine (or
// registers, with -no-cimd or where the server takes no such document),
// prints the consent URL and waits for you to sign in and decide in a
// browser. Then it lists the tools, calls list_documents, and calls
// add_document: sign in as a viewer, or grant only documents:read, and
// that call is refused (403 insufficient_scope, then a consent that cannot
// grant documents:write).
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/stytchguard/stytchguard/examples/internal/mcpagent"
)

func main() {
	url := flag.String("url", "http://127.0.0.1:8090/mcp", "the MCP server's endpoint")
	noCIMD := flag.Bool("no-cimd", false, "register (Dynamic Client Registration) instead of serving a Client ID Metadata Document")
	title := flag.String("title", "", "the title of the document add_document writes")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if _, err := mcpagent.Run(ctx, mcpagent.Config{MCPURL: *url, NoCIMD: *noCIMD, Title: *title}, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "agent:", err)
		os.Exit(1)
	}
}
