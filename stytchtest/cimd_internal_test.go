package stytchtest

import (
	"net/http"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/stytchguard/stytchguard/session"
)

// TestRefusedAddr: the addresses a Client ID Metadata Document may not be
// fetched from, IPv4 ones also as IPv6 mapped, NAT64 and 6to4 addresses
// (which embed an IPv4 one), and the public ones that stay allowed.
func TestRefusedAddr(t *testing.T) {
	tests := []struct {
		addr          string
		allowLoopback bool
		refused       bool
	}{
		{"8.8.8.8", false, false},
		{"2606:4700:4700::1111", false, false},
		{"127.0.0.1", false, true},
		{"127.0.0.1", true, false},
		{"127.8.9.10", true, false},
		{"::1", false, true},
		{"::1", true, false},
		{"::ffff:127.0.0.1", false, true},
		{"10.1.2.3", true, true},
		{"::ffff:10.1.2.3", true, true},
		{"172.16.0.1", false, true},
		{"192.168.1.1", false, true},
		{"169.254.169.254", true, true}, // cloud metadata services
		{"fe80::1", false, true},
		{"fc00::1", false, true},
		{"fd12:3456::1", true, true},
		{"100.64.0.1", false, true},
		{"0.0.0.0", true, true},
		{"::", true, true},
		{"224.0.0.1", false, true},
		{"ff02::1", false, true},
		{"255.255.255.255", false, true},
		{"198.18.0.1", false, true},
		{"64:ff9b::a00:1", false, true}, // NAT64 of 10.0.0.1
		{"2002:a00:1::1", false, true},  // 6to4 of 10.0.0.1
		{"2001:db8::1", false, true},
	}
	for _, tt := range tests {
		why := refusedAddr(netip.MustParseAddr(tt.addr), tt.allowLoopback)
		if (why != "") != tt.refused {
			t.Errorf("%s (loopback allowed %v): refused %q, want refused %v", tt.addr, tt.allowLoopback, why, tt.refused)
		}
	}
}

// TestCheckClientIDURL holds section 3 of the draft: https, a path, no dot
// segments, no fragment, no user; http to a loopback host in local mode
// only.
func TestCheckClientIDURL(t *testing.T) {
	strict, local := newCIMDFetcher(ClientMetadataFetch{}), newCIMDFetcher(ClientMetadataFetch{AllowLoopback: true})
	tests := []struct {
		url         string
		strict, loc bool // accepted
	}{
		{"https://agent.example/client.json", true, true},
		{"https://agent.example:8443/oauth/client?v=1", true, true},
		{"https://agent.example", false, false},
		{"https://agent.example/", false, false},
		{"https://agent.example/a/../client.json", false, false},
		{"https://agent.example/a/%2e%2E/client.json", false, false},
		{"https://agent.example/./client.json", false, false},
		{"https://agent.example/client.json#x", false, false},
		{"https://user:pass@agent.example/client.json", false, false},
		{"http://agent.example/client.json", false, false},
		{"http://127.0.0.1:8080/client.json", false, true},
		{"http://localhost:8080/client.json", false, true},
		{"http://[::1]:8080/client.json", false, true},
		{"ftp://agent.example/client.json", false, false},
		{"https:/client.json", false, false},
		{"https://agent.example/" + strings.Repeat("a", maxURILength), false, false},
	}
	for _, tt := range tests {
		if got := strict.checkClientIDURL(tt.url) == ""; got != tt.strict {
			t.Errorf("%.60s: accepted %v, want %v (public addresses only)", tt.url, got, tt.strict)
		}
		if got := local.checkClientIDURL(tt.url) == ""; got != tt.loc {
			t.Errorf("%.60s: accepted %v, want %v (loopback allowed)", tt.url, got, tt.loc)
		}
	}
}

// TestFreshness: how long a document is kept by its caching headers,
// within a day; errors and no-store keep nothing.
func TestFreshness(t *testing.T) {
	date := time.Date(2026, 8, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name   string
		header http.Header
		life   time.Duration
		kept   bool
	}{
		{"max-age", http.Header{"Cache-Control": {"public, max-age=600"}}, 10 * time.Minute, true},
		{"max-age past the cap", http.Header{"Cache-Control": {"max-age=31536000"}}, 24 * time.Hour, true},
		{"max-age=0", http.Header{"Cache-Control": {"max-age=0"}}, 0, false},
		{"no-store", http.Header{"Cache-Control": {"no-store"}}, 0, false},
		{"no-cache wins over max-age", http.Header{"Cache-Control": {"max-age=600", "no-cache"}}, 0, false},
		{"an unreadable max-age", http.Header{"Cache-Control": {"max-age=soon"}}, 0, false},
		{"Expires", http.Header{"Date": {date.Format(http.TimeFormat)}, "Expires": {date.Add(time.Hour).Format(http.TimeFormat)}}, time.Hour, true},
		{"an invalid Expires", http.Header{"Date": {date.Format(http.TimeFormat)}, "Expires": {"0"}}, 0, false},
		{"max-age wins over Expires", http.Header{"Cache-Control": {"max-age=60"}, "Date": {date.Format(http.TimeFormat)}, "Expires": {date.Add(time.Hour).Format(http.TimeFormat)}}, time.Minute, true},
		{"no caching headers", http.Header{}, clientMetadataHeuristicAge, true},
	}
	for _, tt := range tests {
		life, kept := freshness(tt.header)
		if life != tt.life || kept != tt.kept {
			t.Errorf("%s: %v %v, want %v %v", tt.name, life, kept, tt.life, tt.kept)
		}
	}
}

// TestScopeSatisfied holds the scope hierarchy rule: a scope is satisfied
// by itself, or by one held scope of the policy that carries every
// permission it carries; not by scopes added up, and a scope without
// permissions, or an OpenID one, only by itself.
func TestScopeSatisfied(t *testing.T) {
	perm := func(resource string, actions ...string) session.Permission {
		return session.Permission{ResourceID: resource, Actions: actions}
	}
	policy := &session.Policy{Scopes: []session.Scope{
		{Scope: "docs:read", Permissions: []session.Permission{perm("docs", "read")}},
		{Scope: "docs:write", Permissions: []session.Permission{perm("docs", "write")}},
		{Scope: "docs:all", Permissions: []session.Permission{perm("docs", "read", "write")}},
		{Scope: "docs:admin", Permissions: []session.Permission{perm("docs", "*")}},
		{Scope: "docs:read-and-notes", Permissions: []session.Permission{perm("docs", "read"), perm("notes", "read")}},
		{Scope: "mcp", Permissions: nil},
		{Scope: "notes:read", Permissions: []session.Permission{perm("notes", "read")}},
	}}
	tests := []struct {
		held []string
		need string
		ok   bool
	}{
		{[]string{"docs:read"}, "docs:read", true},
		{[]string{"docs:all"}, "docs:read", true},
		{[]string{"docs:all"}, "docs:write", true},
		{[]string{"docs:admin"}, "docs:all", true},
		{[]string{"docs:all"}, "docs:admin", false}, // "*" is more than read and write
		{[]string{"docs:read"}, "docs:all", false},
		{[]string{"docs:read", "docs:write"}, "docs:all", false}, // not added up
		{[]string{"docs:read-and-notes"}, "notes:read", true},
		{[]string{"docs:admin"}, "docs:read-and-notes", false},
		{[]string{"docs:admin"}, "mcp", false},
		{[]string{"mcp"}, "mcp", true},
		{[]string{"docs:admin"}, "openid", false},
		{[]string{"docs:admin"}, "offline_access", false},
		{[]string{"unknown"}, "docs:read", false},
		{nil, "docs:read", false},
	}
	for _, tt := range tests {
		if got := scopeSatisfied(policy, tt.held, tt.need); got != tt.ok {
			t.Errorf("%v satisfies %s: %v, want %v", tt.held, tt.need, got, tt.ok)
		}
	}
}
