package middleware

import "testing"

func TestCookieValues(t *testing.T) {
	tests := []struct {
		name  string
		lines []string
		a, b  string
	}{
		{"none", nil, "", ""},
		{"both", []string{"stytch_session_jwt=j; stytch_session=t"}, "j", "t"},
		{"others around", []string{"theme=dark;stytch_session=t ; lang=en"}, "", "t"},
		{"quoted", []string{`stytch_session="t"`}, "", "t"},
		{"first wins", []string{"stytch_session=one; stytch_session=two"}, "", "one"},
		{"several lines", []string{"stytch_session_jwt=j", "stytch_session=t"}, "j", "t"},
		{"name prefix is not a match", []string{"stytch_session_jwtx=j; xstytch_session=t"}, "", ""},
		{"no value", []string{"stytch_session; stytch_session_jwt="}, "", ""},
	}
	for _, tt := range tests {
		a, b := cookieValues(tt.lines, "stytch_session_jwt", "stytch_session")
		if a != tt.a || b != tt.b {
			t.Errorf("%s: %q %q, want %q %q", tt.name, a, b, tt.a, tt.b)
		}
	}
	if n := testing.AllocsPerRun(100, func() {
		cookieValues([]string{"a=1; stytch_session_jwt=j; stytch_session=t"}, "stytch_session_jwt", "stytch_session")
	}); n != 0 {
		t.Fatalf("%v allocations", n)
	}
}

func TestLocalPath(t *testing.T) {
	tests := []struct{ in, want string }{
		{"/orgs/acme/documents", "/orgs/acme/documents"},
		{"/documents?added=1", "/documents?added=1"},
		{"", "/"},
		{"documents", "/"},
		{"//evil.example", "/"},
		{"/%2F%2Fevil.example", "/"},
		{"/\\evil.example", "/"},
		{"/%5Cevil.example", "/"},
		{"https://evil.example/", "/"},
		{"/a\r\nSet-Cookie: x=1", "/"},
		{"/%zz", "/"},
	}
	for _, tt := range tests {
		if got := LocalPath(tt.in); got != tt.want {
			t.Errorf("LocalPath(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
