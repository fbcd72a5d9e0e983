package middleware

import (
	"net/url"
	"slices"
	"strings"
	"testing"
)

func TestCookieValues(t *testing.T) {
	tests := []struct {
		name  string
		lines []string
		a, b  string
		again bool
	}{
		{"none", nil, "", "", false},
		{"both", []string{"stytch_session_jwt=j; stytch_session=t"}, "j", "t", false},
		{"others around", []string{"theme=dark;stytch_session=t ; lang=en"}, "", "t", false},
		{"quoted", []string{`stytch_session="t"`}, "", "t", false},
		{"first wins, again told", []string{"stytch_session=one; stytch_session=two"}, "", "one", true},
		{"the same value twice is once", []string{"stytch_session=one; stytch_session=one"}, "", "one", false},
		{"several lines", []string{"stytch_session_jwt=j", "stytch_session=t"}, "j", "t", false},
		{"again on another line", []string{"stytch_session_jwt=j", "stytch_session_jwt=k"}, "j", "", true},
		{"name prefix is not a match", []string{"stytch_session_jwtx=j; xstytch_session=t"}, "", "", false},
		{"no value", []string{"stytch_session; stytch_session_jwt="}, "", "", false},
		{"an empty value does not hide the next", []string{"stytch_session=; stytch_session=t"}, "", "t", false},
	}
	for _, tt := range tests {
		a, b, again := cookieValues(tt.lines, "stytch_session_jwt", "stytch_session")
		if a != tt.a || b != tt.b || again != tt.again {
			t.Errorf("%s: %q %q %v, want %q %q %v", tt.name, a, b, again, tt.a, tt.b, tt.again)
		}
	}
	if n := testing.AllocsPerRun(100, func() {
		cookieValues([]string{"a=1; stytch_session_jwt=j; stytch_session=t"}, "stytch_session_jwt", "stytch_session")
	}); n != 0 {
		t.Fatalf("%v allocations", n)
	}
}

func TestDistinctCookieValues(t *testing.T) {
	for _, tt := range []struct {
		lines  []string
		want   []string
		capped bool
	}{
		{[]string{"s=a; s=b; other=x; s=a", "s=c; s=; s=d; s=e; s=f"}, []string{"a", "b", "c", "d"}, true},
		{[]string{"s=a; s=b; s=a", "s=c; s=; s=d; s=d"}, []string{"a", "b", "c", "d"}, false},
		{[]string{"other=x"}, nil, false},
	} {
		got, capped := distinctCookieValues(tt.lines, "s")
		if !slices.Equal(got, tt.want) || capped != tt.capped {
			t.Fatalf("%q: %q %v, want %q %v (distinct, in order, at most %d)", tt.lines, got, capped, tt.want, tt.capped, maxCookieValues)
		}
	}
}

// knownBypasses are redirect targets that have taken browsers to another
// site through checks like LocalPath's: each must come out as "/". They are
// also FuzzLocalPath's seed corpus.
var knownBypasses = []string{
	"//evil.example",
	"///evil.example",
	"/%2F%2Fevil.example",
	"/%2f/evil.example",
	"/\\evil.example",
	"\\/evil.example",
	"/%5Cevil.example",
	"/%5c/evil.example",
	"/\t/evil.example",
	"/\n/evil.example",
	"/\r/evil.example",
	"/\r\n/evil.example",
	"\t//evil.example",
	"/%09/evil.example",
	"/%0a/evil.example",
	" //evil.example",
	"  /\\evil.example",
	"\x00//evil.example",
	"https://evil.example/",
	"https:evil.example",
	"javascript:alert(1)",
}

// refusedAnyway stay on this site in a browser but are refused all the
// same: a header injection, and the control characters a browser keeps.
var refusedAnyway = []string{
	"/a\r\nSet-Cookie: x=1",
	"/\x7f/evil.example",
	"/a\x01b",
}

func TestLocalPath(t *testing.T) {
	tests := []struct{ in, want string }{
		{"/orgs/acme/documents", "/orgs/acme/documents"},
		{"/documents?added=1", "/documents?added=1"},
		{"/documents?next=//evil.example", "/documents?next=//evil.example"}, // a query is not a host
		{"/.//evil.example", "/.//evil.example"},                             // a path on this site, however odd
		{"", "/"},
		{"documents", "/"},
		{"/%zz", "/"},
	}
	for _, in := range append(knownBypasses, refusedAnyway...) {
		tests = append(tests, struct{ in, want string }{in, "/"})
	}
	for _, tt := range tests {
		if got := LocalPath(tt.in); got != tt.want {
			t.Errorf("LocalPath(%q) = %q, want %q", tt.in, got, tt.want)
		}
		if tt.want != "/" && leavesSite(tt.in) {
			t.Errorf("the browser model reads %q as another site", tt.in)
		}
	}
	for _, in := range knownBypasses {
		if !leavesSite(in) && !leavesSite(unescapedPath(in)) {
			// The model must know each bypass, or the fuzzer checks nothing.
			t.Errorf("the browser model does not see %q leave the site", in)
		}
	}
}

// FuzzLocalPath holds LocalPath to a model of how a browser reads a
// Location header (the WHATWG URL parser, relative to an https page): what
// it lets through is p itself, and neither p nor p with its path
// percent-decoded can be read as another site.
func FuzzLocalPath(f *testing.F) {
	for _, s := range knownBypasses {
		f.Add(s)
	}
	f.Add("/orgs/acme/documents?tab=2")
	f.Fuzz(func(t *testing.T, p string) {
		got := LocalPath(p)
		if got == "/" {
			return
		}
		if got != p {
			t.Fatalf("LocalPath(%q) = %q: neither p nor /", p, got)
		}
		if leavesSite(p) || leavesSite(unescapedPath(p)) {
			t.Fatalf("LocalPath let %q through, which a browser reads as another site", p)
		}
	})
}

// leavesSite models a browser reading loc as a Location relative to
// https://site.example/page: it strips leading and trailing C0 controls and
// spaces, drops every tab and newline, reads a backslash as a slash (http
// and https are special schemes), and then the URL has a host of its own
// when it starts with two slashes, or a scheme when it starts with one.
func leavesSite(loc string) bool {
	s := strings.TrimFunc(loc, func(r rune) bool { return r <= 0x20 })
	s = strings.Map(func(r rune) rune {
		switch r {
		case '\t', '\n', '\r':
			return -1
		case '\\':
			return '/'
		}
		return r
	}, s)
	if strings.HasPrefix(s, "//") {
		return true
	}
	if i := strings.IndexByte(s, ':'); i > 0 {
		scheme := s[:i]
		ok := scheme[0] >= 'a' && scheme[0] <= 'z' || scheme[0] >= 'A' && scheme[0] <= 'Z'
		for _, c := range scheme[1:] {
			ok = ok && (c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '+' || c == '-' || c == '.')
		}
		return ok
	}
	return false
}

// unescapedPath is p with its path percent-decoded once, as a server that
// decodes before redirecting again would have it; p itself when it does not
// decode.
func unescapedPath(p string) string {
	path, query, hasQuery := strings.Cut(p, "?")
	d, err := url.PathUnescape(path)
	if err != nil {
		return p
	}
	if hasQuery {
		return d + "?" + query
	}
	return d
}
