package jwtlocal

import (
	"encoding/base64"
	"encoding/json"
	"maps"
	"strings"
	"sync/atomic"
)

// header is what parse needs of a JWS header.
type header struct {
	Alg string `json:"alg"`
	Kid string `json:"kid"`
	// Crit names extensions the token says must be understood (RFC 7515
	// 4.1.11). Stytch sets none and this package understands none, so a
	// token with one is refused.
	Crit json.RawMessage `json:"crit"`
}

// maxHeaders bounds the headers remembered: one per signing key the project
// has used lately, so a handful.
const maxHeaders = 8

// headerCache remembers the decoded headers of tokens whose signature
// verified. Every token a key signs has the same header segment, so a
// first-seen token's header costs a map lookup instead of a base64 and a
// JSON decode. Decoding is a pure function of the segment: what is
// remembered can never be wrong, only absent. Garbage is never added (its
// signature does not verify), so it cannot fill the cache.
type headerCache struct {
	m atomic.Pointer[map[string]header] // copied on write: written once per key
}

func (c *headerCache) get(segment string) (header, bool) {
	if m := c.m.Load(); m != nil {
		h, ok := (*m)[segment]
		return h, ok
	}
	return header{}, false
}

// add remembers segment's header, unless maxHeaders are remembered already.
// Concurrent adds may lose one another's entry, which costs a decode later.
func (c *headerCache) add(segment string, h header) {
	m := map[string]header{}
	if old := c.m.Load(); old != nil {
		if len(*old) >= maxHeaders {
			return
		}
		maps.Copy(m, *old)
	}
	m[strings.Clone(segment)] = h // segment is a slice of the caller's string
	c.m.Store(&m)
}

// decodeHeader decodes a JWS header segment.
func decodeHeader(segment string) (header, *Error) {
	var h header
	b, err := base64.RawURLEncoding.DecodeString(segment)
	if err != nil {
		return h, invalid("malformed header", err)
	}
	if err := json.Unmarshal(b, &h); err != nil {
		return h, invalid("malformed header", err)
	}
	return h, nil
}
