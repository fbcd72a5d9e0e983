package mcpagent

import (
	"encoding/base64"
	"encoding/json"
	"strings"
)

// clientID reads the client_id claim of an access token, without
// verifying it: only to say which client the agent was known as.
func clientID(token string) string {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return ""
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return ""
	}
	var c struct {
		ClientID string `json:"client_id"`
	}
	if json.Unmarshal(b, &c) != nil {
		return ""
	}
	return c.ClientID
}
