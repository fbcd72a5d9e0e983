package middleware

import (
	"net/http"
	"slices"
	"strings"

	"github.com/stytchguard/stytchguard"
)

// Where a credential came from.
const (
	fromHeader = "header"
	fromCookie = "cookie"
)

// credential is what a request presents to be authenticated. The zero
// credential means none: the request is anonymous.
type credential struct {
	// JWT is a session JWT, if one was presented.
	JWT string
	// Token is an opaque session token, if one was presented.
	Token string
	// From is fromHeader or fromCookie: cookies are refreshed and cleared
	// only for credentials that came from them.
	From string
	// tossed holds every value of session cookies sent more than once, nil
	// when each came once (see resolveTossed).
	tossed *tossed
}

// maxCookieValues bounds the values of one session cookie that are tried
// when it is sent more than once.
const maxCookieValues = 4

// tossed is what a request sent of session cookies that came more than
// once: each distinct value, in the browser's order (longest Path first),
// at most maxCookieValues of each name.
type tossed struct {
	jwts, tokens []string
	// capped is set when either name came with more than maxCookieValues
	// distinct values: those past the cap are not tried.
	capped bool
}

// candidates returns each value alone as a cookie credential, JWTs first:
// a JWT settles locally, without spending a call to Stytch.
func (t *tossed) candidates() []credential {
	out := make([]credential, 0, len(t.jwts)+len(t.tokens))
	for _, v := range t.jwts {
		out = append(out, credential{JWT: v, From: fromCookie})
	}
	for _, v := range t.tokens {
		out = append(out, credential{Token: v, From: fromCookie})
	}
	return out
}

// Empty reports whether no credential was presented.
func (c credential) Empty() bool { return c.JWT == "" && c.Token == "" }

// extractorFunc finds the credential in a request. It returns the zero
// credential when there is none (not an error) and an *stytchguard.Refusal (status 400)
// when the request is malformed.
type extractorFunc func(r *http.Request) (credential, *stytchguard.Refusal)

// extractor is the default extractorFunc: "Authorization: Bearer <jwt or token>",
// then the JWT cookie, then the token cookie (both kept when both are set).
// Another scheme in Authorization is ignored; two Authorization headers, or
// an empty Bearer, are a malformed request.
func extractor(jwtCookie, tokenCookie string) extractorFunc {
	return func(r *http.Request) (credential, *stytchguard.Refusal) {
		// The header map's keys are canonical (net/http's server and
		// Header.Set make them so): indexing skips canonicalizing the key
		// on every request.
		switch auths := r.Header["Authorization"]; len(auths) {
		case 0:
		case 1:
			scheme, value, ok := strings.Cut(strings.TrimSpace(auths[0]), " ")
			if !ok && strings.EqualFold(scheme, "Bearer") {
				return credential{}, badRequest("empty Bearer token")
			}
			if ok && strings.EqualFold(scheme, "Bearer") {
				value = strings.TrimSpace(value)
				if value == "" {
					return credential{}, badRequest("empty Bearer token")
				}
				if looksLikeJWT(value) {
					return credential{JWT: value, From: fromHeader}, nil
				}
				return credential{Token: value, From: fromHeader}, nil
			}
		default:
			return credential{}, badRequest("more than one Authorization header")
		}
		var c credential
		var again bool
		c.JWT, c.Token, again = cookieValues(r.Header["Cookie"], jwtCookie, tokenCookie)
		if !c.Empty() {
			c.From = fromCookie
		}
		if again {
			jwts, jwtsCapped := distinctCookieValues(r.Header["Cookie"], jwtCookie)
			tokens, tokensCapped := distinctCookieValues(r.Header["Cookie"], tokenCookie)
			c.tossed = &tossed{jwts: jwts, tokens: tokens, capped: jwtsCapped || tokensCapped}
		}
		return c, nil
	}
}

// cookieValues finds two cookies' values in Cookie header lines, the first
// non-empty one of each name, without allocating: request cookies are read
// on every request. Values in double quotes are unquoted, as net/http does.
// again reports that either name came with another non-empty value too.
func cookieValues(lines []string, nameA, nameB string) (a, b string, again bool) {
	for _, line := range lines {
		for part := range strings.SplitSeq(line, ";") {
			name, value, ok := cookiePart(part)
			if !ok {
				continue
			}
			switch {
			case name == nameA && a == "":
				a = value
			case name == nameB && b == "":
				b = value
			case name == nameA && value != a, name == nameB && value != b:
				again = true
			}
		}
	}
	return a, b, again
}

// cookiePart splits one "name=value" of a Cookie line, unquoting the
// value; ok is false when there is no non-empty value.
func cookiePart(part string) (name, value string, ok bool) {
	name, value, ok = strings.Cut(strings.TrimSpace(part), "=")
	if len(value) > 1 && value[0] == '"' && value[len(value)-1] == '"' {
		value = value[1 : len(value)-1]
	}
	return name, value, ok && value != ""
}

// distinctCookieValues returns the distinct non-empty values of the cookie
// name, in the order sent, at most maxCookieValues; capped reports that
// more came.
func distinctCookieValues(lines []string, name string) (out []string, capped bool) {
	for _, line := range lines {
		for part := range strings.SplitSeq(line, ";") {
			n, v, ok := cookiePart(part)
			if ok && n == name && !slices.Contains(out, v) {
				if len(out) == maxCookieValues {
					return out, true
				}
				out = append(out, v)
			}
		}
	}
	return out, false
}

func badRequest(msg string) *stytchguard.Refusal {
	return &stytchguard.Refusal{Status: http.StatusBadRequest, Code: stytchguard.CodeInvalidRequest, Message: msg}
}

// looksLikeJWT reports whether s has a JWS's three dot-separated segments.
func looksLikeJWT(s string) bool { return strings.Count(s, ".") == 2 }

// plausibleToken reports whether s can be a Stytch opaque session token:
// 32 to 128 characters of the URL-safe base64 alphabet (Stytch's are 44).
// Anything else is refused without asking Stytch.
func plausibleToken(s string) bool {
	if len(s) < 32 || len(s) > 128 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '=') {
			return false
		}
	}
	return true
}
