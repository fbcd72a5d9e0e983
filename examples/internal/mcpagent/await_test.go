package mcpagent

import (
	"context"
	"io"
	"net"
	"strings"
	"testing"
	"time"
)

// TestAwaitListening: the agent started beside a server still building
// waits for it to listen, and says when nothing came.
func TestAwaitListening(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close() // nothing listens, for now
	var said strings.Builder
	if err := awaitListening(context.Background(), "http://"+addr+"/mcp", 300*time.Millisecond, &said); err == nil || !strings.Contains(err.Error(), "nothing listens") {
		t.Fatalf("nothing listening: %v", err)
	}
	if !strings.Contains(said.String(), "waiting for the MCP server") {
		t.Fatalf("it did not say it waits: %q", said.String())
	}
	go func() {
		time.Sleep(300 * time.Millisecond)
		if l, err := net.Listen("tcp", addr); err == nil {
			t.Cleanup(func() { l.Close() })
		}
	}()
	if err := awaitListening(context.Background(), "http://"+addr+"/mcp", time.Minute, io.Discard); err != nil {
		t.Fatalf("a server that listens later: %v", err)
	}
}
