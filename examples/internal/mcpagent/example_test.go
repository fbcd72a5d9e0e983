package mcpagent_test

import (
	"context"
	"os"

	"github.com/stytchguard/stytchguard/examples/internal/mcpagent"
)

// The agent against examples/mcp: it prints the consent URL and waits for
// the person's browser to come back.
func ExampleRun() {
	if _, err := mcpagent.Run(context.Background(), mcpagent.Config{MCPURL: "http://127.0.0.1:8090/mcp"}, os.Stdout); err != nil {
		os.Exit(1)
	}
}
