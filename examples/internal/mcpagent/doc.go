// Package mcpagent is a small MCP client that acts for a person, with the
// MCP Go SDK's own OAuth client: it discovers the MCP server's
// authorization server, identifies itself by a Client ID Metadata Document
// it serves from this machine (or registers, when the authorization server
// takes no such document), has the person consent in a browser, then lists
// the server's tools and calls them. examples/mcp/agent is the command;
// examples/mcp's tests drive it too.
package mcpagent
