package mcpwire

import (
	"bytes"
	"errors"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
)

// MaxDepth bounds how deeply arrays and objects nest, the top value being
// at depth 1. The MCP Go SDK refuses past 1,000 as well.
const MaxDepth = 1000

// The kinds of error Read returns, wrapped in an *Error.
var (
	// ErrSyntax: the body is not valid JSON.
	ErrSyntax = errors.New("not valid JSON")
	// ErrDuplicate: a key the MCP SDK reads comes twice in one object,
	// in any letter case or escaped.
	ErrDuplicate = errors.New("duplicate key")
	// ErrCase: a key differs from one the MCP SDK reads only in letter
	// case; the SDK ignores it, a case-insensitive reader would not.
	ErrCase = errors.New("key differs from a JSON-RPC key only in letter case")
	// ErrShape: valid JSON, but not a JSON-RPC message or batch as the
	// MCP SDK takes them.
	ErrShape = errors.New("not a JSON-RPC message")
)

// Error is why Read refused a body: one of the kinds above, what was wrong,
// and where. Its text never quotes the body.
type Error struct {
	Kind   error
	Detail string
	Offset int
}

// Error says what was wrong and at which byte.
func (e *Error) Error() string {
	return "mcpwire: " + e.Kind.Error() + ": " + e.Detail + " (byte " + strconv.Itoa(e.Offset) + ")"
}

// Unwrap returns the kind, for errors.Is.
func (e *Error) Unwrap() error { return e.Kind }

// Message is what one JSON-RPC message asks of the server.
type Message struct {
	// Method is the message's method, decoded; HasMethod is false for a
	// message without one (a response to the server's own request).
	Method    []byte
	HasMethod bool
	// Target is what the method acts on: params.name for tools/call and
	// prompts/get, params.uri for resources/read, resources/subscribe and
	// resources/unsubscribe, decoded; HasTarget is false when params has
	// none, or for other methods.
	Target    []byte
	HasTarget bool
}

// Read reads body as one JSON-RPC message, or a batch (a JSON array of
// them), appending each to msgs, and reports whether it was a batch.
// Method and Target alias body unless they were spelled with escapes. It
// allocates nothing for a body without escapes in the keys and values it
// decodes, and one message (msgs with room for it).
func Read(body []byte, msgs []Message) (_ []Message, batch bool, err error) {
	b := body
	i := ws(b, 0)
	if i == len(b) {
		return msgs, false, fail(ErrSyntax, "the body is empty", i)
	}
	switch b[i] {
	case '{':
		var m Message
		if i, err = message(b, i, &m, 1); err != nil {
			return msgs, false, err
		}
		msgs = append(msgs, m)
	case '[':
		batch = true
		i = ws(b, i+1)
		if i < len(b) && b[i] == ']' {
			return msgs, true, fail(ErrShape, "an empty batch", i)
		}
		for {
			i = ws(b, i)
			if i >= len(b) {
				return msgs, true, fail(ErrSyntax, "the batch is not closed", i)
			}
			if b[i] != '{' {
				at := i
				if _, err := value(b, i, 2); err != nil {
					return msgs, true, err
				}
				return msgs, true, fail(ErrShape, "a batch element that is not an object", at)
			}
			var m Message
			if i, err = message(b, i, &m, 2); err != nil {
				return msgs, true, err
			}
			msgs = append(msgs, m)
			i = ws(b, i)
			if i >= len(b) {
				return msgs, true, fail(ErrSyntax, "the batch is not closed", i)
			}
			if b[i] == ']' {
				i++
				break
			}
			if b[i] != ',' {
				return msgs, true, fail(ErrSyntax, "expected , or ] in the batch", i)
			}
			i++
		}
	default:
		at := i
		if _, err := value(b, i, 1); err != nil {
			return msgs, false, err
		}
		return msgs, false, fail(ErrShape, "the body is neither an object nor an array", at)
	}
	if i = ws(b, i); i != len(b) {
		return msgs, batch, fail(ErrSyntax, "data after the JSON value", i)
	}
	return msgs, batch, nil
}

// The keys of a message the MCP SDK reads (jsonrpc2's wire form), and
// those of the params of the methods that name a target (CallToolParams,
// GetPromptParams, ReadResourceParams, SubscribeParams,
// UnsubscribeParams).
var (
	messageKeys = [...]string{"jsonrpc", "id", "method", "params", "result", "error"}
	paramKeys   = [...]string{"name", "uri", "arguments", "_meta", "inputResponses", "requestState"}
)

const (
	kJSONRPC = 0
	kMethod  = 2
	kParams  = 3
	pName    = 0
	pURI     = 1
)

// span is a string value's raw content, between its quotes; esc says it
// holds escapes.
type span struct {
	start, end int
	esc        bool
}

func fail(kind error, detail string, at int) error {
	return &Error{Kind: kind, Detail: detail, Offset: at}
}

// ws returns the index of the first byte at or after i that is not JSON
// white space.
func ws(b []byte, i int) int {
	for i < len(b) && b[i] <= ' ' && (b[i] == ' ' || b[i] == '\n' || b[i] == '\r' || b[i] == '\t') {
		i++
	}
	return i
}

// params is what a message's params object holds, read on the way: kept
// until the method is known, since only the params of the methods that
// name a target are read, and their keys held to the rules.
type params struct {
	object        bool
	name, uri     span
	hasName       bool
	hasURI        bool
	nameNotString bool
	uriNotString  bool
	keyErr        error // the first duplicate or case variant
}

// message reads the object at b[i] into m, returning the index past it.
func message(b []byte, i int, m *Message, depth int) (int, error) {
	if depth > MaxDepth {
		return i, fail(ErrSyntax, "nested too deep", i)
	}
	var seen uint8
	var method, version span
	var p params
	var err error
	if i = ws(b, i+1); i < len(b) && b[i] == '}' {
		return i + 1, fail(ErrShape, "an empty object", i)
	}
	for {
		i = ws(b, i)
		at := i
		if i >= len(b) || b[i] != '"' {
			return i, fail(ErrSyntax, "expected a key", i)
		}
		var k span
		if k, i, err = str(b, i); err != nil {
			return i, err
		}
		idx, err := key(b, k, false, at)
		if err != nil {
			return i, err
		}
		if idx >= 0 {
			if seen&(1<<idx) != 0 {
				return i, fail(ErrDuplicate, "\""+messageKeys[idx]+"\" twice", at)
			}
			seen |= 1 << idx
		}
		if i = ws(b, i); i >= len(b) || b[i] != ':' {
			return i, fail(ErrSyntax, "expected :", i)
		}
		if i = ws(b, i+1); i >= len(b) {
			return i, fail(ErrSyntax, "expected a value", i)
		}
		switch idx {
		case kJSONRPC, kMethod:
			if b[i] != '"' {
				at := i
				if i, err = value(b, i, depth+1); err != nil {
					return i, err
				}
				return i, fail(ErrShape, "\""+messageKeys[idx]+"\" is not a string", at)
			}
			var s span
			if s, i, err = str(b, i); err != nil {
				return i, err
			}
			if idx == kMethod {
				method = s
			} else {
				version = s
			}
		case kParams:
			if b[i] == '{' {
				i, err = paramsObject(b, i, &p, depth+1)
			} else {
				i, err = value(b, i, depth+1)
			}
			if err != nil {
				return i, err
			}
		default:
			if i, err = value(b, i, depth+1); err != nil {
				return i, err
			}
		}
		if i = ws(b, i); i >= len(b) {
			return i, fail(ErrSyntax, "the object is not closed", i)
		}
		if b[i] == '}' {
			i++
			break
		}
		if b[i] != ',' {
			return i, fail(ErrSyntax, "expected , or }", i)
		}
		i++
	}
	if seen&(1<<kJSONRPC) == 0 {
		return i, fail(ErrShape, "no \"jsonrpc\"", i)
	}
	v, err := decode(b, version)
	if err != nil {
		return i, err
	}
	if string(v) != "2.0" {
		return i, fail(ErrShape, "\"jsonrpc\" is not \"2.0\"", version.start)
	}
	if seen&(1<<kMethod) == 0 {
		return i, nil // a response
	}
	m.HasMethod = true
	if m.Method, err = decode(b, method); err != nil {
		return i, err
	}
	var target span
	switch string(m.Method) {
	case "tools/call", "prompts/get":
		if p.nameNotString {
			return i, fail(ErrShape, "params.name is not a string", i)
		}
		target, m.HasTarget = p.name, p.hasName
	case "resources/read", "resources/subscribe", "resources/unsubscribe":
		if p.uriNotString {
			return i, fail(ErrShape, "params.uri is not a string", i)
		}
		target, m.HasTarget = p.uri, p.hasURI
	default:
		return i, nil
	}
	if seen&(1<<kParams) != 0 && !p.object {
		return i, fail(ErrShape, "params of "+string(m.Method)+" is not an object", i)
	}
	if p.keyErr != nil {
		return i, p.keyErr
	}
	if m.HasTarget {
		if m.Target, err = decode(b, target); err != nil {
			return i, err
		}
	}
	return i, nil
}

// paramsObject reads the params object at b[i], keeping its name and uri
// and any key that breaks the rules, for message to use once the method is
// known.
func paramsObject(b []byte, i int, p *params, depth int) (int, error) {
	if depth > MaxDepth {
		return i, fail(ErrSyntax, "nested too deep", i)
	}
	p.object = true
	var seen uint8
	var err error
	if i = ws(b, i+1); i < len(b) && b[i] == '}' {
		return i + 1, nil
	}
	for {
		i = ws(b, i)
		at := i
		if i >= len(b) || b[i] != '"' {
			return i, fail(ErrSyntax, "expected a key", i)
		}
		var k span
		if k, i, err = str(b, i); err != nil {
			return i, err
		}
		idx, err := key(b, k, true, at)
		if err != nil {
			if e := err.(*Error); e.Kind == ErrSyntax {
				return i, err
			}
			if p.keyErr == nil {
				p.keyErr = err
			}
			idx = -1
		}
		if idx >= 0 {
			if seen&(1<<idx) != 0 && p.keyErr == nil {
				p.keyErr = fail(ErrDuplicate, "params \""+paramKeys[idx]+"\" twice", at)
			}
			seen |= 1 << idx
		}
		if i = ws(b, i); i >= len(b) || b[i] != ':' {
			return i, fail(ErrSyntax, "expected :", i)
		}
		if i = ws(b, i+1); i >= len(b) {
			return i, fail(ErrSyntax, "expected a value", i)
		}
		if (idx == pName || idx == pURI) && b[i] == '"' {
			var s span
			if s, i, err = str(b, i); err != nil {
				return i, err
			}
			if idx == pName {
				p.name, p.hasName = s, true
			} else {
				p.uri, p.hasURI = s, true
			}
		} else {
			if idx == pName {
				p.nameNotString = true
			} else if idx == pURI {
				p.uriNotString = true
			}
			if i, err = value(b, i, depth+1); err != nil {
				return i, err
			}
		}
		if i = ws(b, i); i >= len(b) {
			return i, fail(ErrSyntax, "the object is not closed", i)
		}
		if b[i] == '}' {
			return i + 1, nil
		}
		if b[i] != ',' {
			return i, fail(ErrSyntax, "expected , or }", i)
		}
		i++
	}
}

// key returns the index of the key k (read at offset at) in messageKeys,
// or paramKeys when inParams, -1 if it is none of them; an error if it
// differs from one only in letter case (Unicode simple folding, as
// encoding/json matches).
func key(b []byte, k span, inParams bool, at int) (int, error) {
	raw := b[k.start:k.end]
	if k.esc {
		// Keys of interest are short: decode into a buffer on the stack.
		// A longer one folds to none of them (a rune folds to an ASCII
		// letter from at most 3 bytes, and is escaped in at most 12).
		if len(raw) > 6*48 {
			return -1, nil
		}
		var buf [48]byte
		d, err := unescape(raw, buf[:0])
		if err != nil {
			return -1, fail(ErrSyntax, err.Error(), at)
		}
		raw = d
	}
	if i := exact(raw, inParams); i >= 0 {
		return i, nil
	}
	keys := messageKeys[:]
	if inParams {
		keys = paramKeys[:]
	}
	for i, s := range keys {
		if len(raw) >= len(s) && len(raw) <= 3*len(s) && bytes.EqualFold(raw, []byte(s)) {
			return -1, fail(ErrCase, "a key that differs from \""+keys[i]+"\" only in letter case", at)
		}
	}
	return -1, nil
}

// exact returns the index of raw in messageKeys, or paramKeys when
// inParams, -1 if it is not there.
func exact(raw []byte, inParams bool) int {
	if !inParams {
		switch string(raw) {
		case "jsonrpc":
			return 0
		case "id":
			return 1
		case "method":
			return 2
		case "params":
			return 3
		case "result":
			return 4
		case "error":
			return 5
		}
		return -1
	}
	switch string(raw) {
	case "name":
		return 0
	case "uri":
		return 1
	case "arguments":
		return 2
	case "_meta":
		return 3
	case "inputResponses":
		return 4
	case "requestState":
		return 5
	}
	return -1
}

// decode returns a string value's content, unescaped.
func decode(b []byte, s span) ([]byte, error) {
	raw := b[s.start:s.end]
	if !s.esc {
		return raw, nil
	}
	d, err := unescape(raw, make([]byte, 0, len(raw)))
	if err != nil {
		return nil, fail(ErrSyntax, err.Error(), s.start)
	}
	return d, nil
}

// plain marks the bytes a string holds as they are: printable ASCII but
// the quote and the backslash.
var plain = func() (t [256]bool) {
	for c := 0x20; c < 0x80; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// str reads the string at b[i] (its opening quote), checking it: escapes,
// no control characters, UTF-8. It returns the string's content and the
// index past its closing quote.
func str(b []byte, i int) (span, int, error) {
	i++
	s := span{start: i}
	for {
		// Four bytes at a time while all are plain (most strings of a
		// message are short keys and names), then byte by byte to the
		// first that is not: a quote, a backslash, a control character
		// or a byte of a multi-byte rune.
		for i+4 <= len(b) && plain[b[i]] && plain[b[i+1]] && plain[b[i+2]] && plain[b[i+3]] {
			i += 4
		}
		for i < len(b) && plain[b[i]] {
			i++
		}
		if i >= len(b) {
			return s, i, fail(ErrSyntax, "an unterminated string", i)
		}
		switch c := b[i]; {
		case c == '"':
			s.end = i
			return s, i + 1, nil
		case c == '\\':
			s.esc = true
			if i+1 >= len(b) {
				return s, i, fail(ErrSyntax, "an unterminated string", i)
			}
			switch b[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				if i+6 > len(b) || !isHex(b[i+2]) || !isHex(b[i+3]) || !isHex(b[i+4]) || !isHex(b[i+5]) {
					return s, i, fail(ErrSyntax, "a bad \\u escape", i)
				}
				i += 6
			default:
				return s, i, fail(ErrSyntax, "a bad escape", i)
			}
		case c < 0x20:
			return s, i, fail(ErrSyntax, "a control character in a string", i)
		default:
			ru, n := utf8.DecodeRune(b[i:])
			if ru == utf8.RuneError && n <= 1 {
				return s, i, fail(ErrSyntax, "invalid UTF-8", i)
			}
			i += n
		}
	}
}

// value checks the value at b[i] and returns the index past it.
func value(b []byte, i, depth int) (int, error) {
	if depth > MaxDepth {
		return i, fail(ErrSyntax, "nested too deep", i)
	}
	if i >= len(b) {
		return i, fail(ErrSyntax, "expected a value", i)
	}
	var err error
	switch c := b[i]; {
	case c == '"':
		_, i, err = str(b, i)
		return i, err
	case c == '{':
		if i = ws(b, i+1); i < len(b) && b[i] == '}' {
			return i + 1, nil
		}
		for {
			if i = ws(b, i); i >= len(b) || b[i] != '"' {
				return i, fail(ErrSyntax, "expected a key", i)
			}
			if _, i, err = str(b, i); err != nil {
				return i, err
			}
			if i = ws(b, i); i >= len(b) || b[i] != ':' {
				return i, fail(ErrSyntax, "expected :", i)
			}
			if i, err = value(b, ws(b, i+1), depth+1); err != nil {
				return i, err
			}
			if i = ws(b, i); i >= len(b) {
				return i, fail(ErrSyntax, "the object is not closed", i)
			}
			if b[i] == '}' {
				return i + 1, nil
			}
			if b[i] != ',' {
				return i, fail(ErrSyntax, "expected , or }", i)
			}
			i++
		}
	case c == '[':
		if i = ws(b, i+1); i < len(b) && b[i] == ']' {
			return i + 1, nil
		}
		for {
			if i, err = value(b, ws(b, i), depth+1); err != nil {
				return i, err
			}
			if i = ws(b, i); i >= len(b) {
				return i, fail(ErrSyntax, "the array is not closed", i)
			}
			if b[i] == ']' {
				return i + 1, nil
			}
			if b[i] != ',' {
				return i, fail(ErrSyntax, "expected , or ]", i)
			}
			i++
		}
	case c == 't':
		return literal(b, i, "true")
	case c == 'f':
		return literal(b, i, "false")
	case c == 'n':
		return literal(b, i, "null")
	case c == '-' || c >= '0' && c <= '9':
		return number(b, i)
	}
	return i, fail(ErrSyntax, "expected a value", i)
}

func literal(b []byte, i int, s string) (int, error) {
	if len(b)-i < len(s) || string(b[i:i+len(s)]) != s {
		return i, fail(ErrSyntax, "expected "+s, i)
	}
	return i + len(s), nil
}

// number checks a number: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
func number(b []byte, i int) (int, error) {
	at := i
	if b[i] == '-' {
		i++
	}
	digits := func() bool {
		j := i
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
		return i > j
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case !digits():
		return i, fail(ErrSyntax, "a bad number", at)
	}
	if i < len(b) && b[i] == '.' {
		i++
		if !digits() {
			return i, fail(ErrSyntax, "a bad number", at)
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if !digits() {
			return i, fail(ErrSyntax, "a bad number", at)
		}
	}
	return i, nil
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

func hex4(b []byte) rune {
	var v rune
	for _, c := range b[:4] {
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c -= 'a' - 10
		default:
			c -= 'A' - 10
		}
		v = v<<4 | rune(c)
	}
	return v
}

var errSurrogate = errors.New("a lone UTF-16 surrogate in a \\u escape")

// unescape appends the content of a checked string (str) to dst, escapes
// decoded. A lone surrogate is an error: readers disagree on what it is.
func unescape(raw, dst []byte) ([]byte, error) {
	for i := 0; i < len(raw); {
		c := raw[i]
		if c != '\\' {
			dst = append(dst, c)
			i++
			continue
		}
		switch raw[i+1] {
		case 'u':
			ru := hex4(raw[i+2:])
			i += 6
			if utf16.IsSurrogate(ru) {
				if ru >= 0xdc00 || i+6 > len(raw) || raw[i] != '\\' || raw[i+1] != 'u' {
					return dst, errSurrogate
				}
				lo := hex4(raw[i+2:])
				if lo < 0xdc00 || lo > 0xdfff {
					return dst, errSurrogate
				}
				ru = utf16.DecodeRune(ru, lo)
				i += 6
			}
			dst = utf8.AppendRune(dst, ru)
			continue
		case 'b':
			c = '\b'
		case 'f':
			c = '\f'
		case 'n':
			c = '\n'
		case 'r':
			c = '\r'
		case 't':
			c = '\t'
		default: // " \ /
			c = raw[i+1]
		}
		dst = append(dst, c)
		i += 2
	}
	return dst, nil
}
