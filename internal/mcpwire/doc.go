// Package mcpwire reads the JSON-RPC body of a request to an MCP server
// (the Streamable HTTP transport's POST) the one strict way the middleware's
// MCP guard decides from: the method of each message and the tool, prompt or
// resource it names, exactly as the MCP Go SDK's own decoding will read them,
// or an error where the SDK and a looser reader could disagree.
//
// The MCP Go SDK decodes with case-sensitive keys, unescapes keys, and keeps
// the last of duplicate keys; encoding/json matches keys without regard to
// case (Unicode folding included: "ſ" for "s"). A body on which the two could
// read different methods or names is refused here: a duplicate of a key the
// SDK reads, in any letter case or spelled with escapes, and a key that
// differs from one of those only in letter case. The whole body is checked:
// JSON syntax (RFC 8259, with UTF-8 text and nothing after the value),
// nesting at most MaxDepth deep.
package mcpwire
