package mcpwire_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stytchguard/stytchguard/internal/mcpwire"
)

func TestRead(t *testing.T) {
	type want struct{ method, target string }
	for _, tt := range []struct {
		name  string
		body  string
		batch bool
		want  []want // nil with err
		err   error
	}{
		{"tools/call", `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"add_document","arguments":{"title":"x"}}}`, false,
			[]want{{"tools/call", "add_document"}}, nil},
		{"params first", `{"params":{"arguments":{},"name":"add_document"},"id":"a","method":"tools/call","jsonrpc":"2.0"}`, false,
			[]want{{"tools/call", "add_document"}}, nil},
		{"escaped method and name", `{"jsonrpc":"2\u002e0","id":1,"method":"tools\/call","params":{"name":"add\u005fdocument"}}`, false,
			[]want{{"tools/call", "add_document"}}, nil},
		{"escaped keys", `{"jsonrpc":"2.0","id":1,"\u006dethod":"tools/call","params":{"n\u0061me":"add_document"}}`, false,
			[]want{{"tools/call", "add_document"}}, nil},
		{"a surrogate pair", `{"jsonrpc":"2.0","id":1,"method":"prompts/get","params":{"name":"\ud83d\ude00"}}`, false,
			[]want{{"prompts/get", "😀"}}, nil},
		{"resources/read", `{"jsonrpc":"2.0","id":1,"method":"resources/read","params":{"uri":"file:///a","name":"ignored"}}`, false,
			[]want{{"resources/read", "file:///a"}}, nil},
		{"a notification", ` {"jsonrpc":"2.0","method":"notifications/initialized"} `, false, []want{{"notifications/initialized", ""}}, nil},
		{"a response", `{"jsonrpc":"2.0","id":1,"result":{}}`, false, []want{{"", ""}}, nil},
		{"no name", `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{}}`, false, []want{{"tools/call", ""}}, nil},
		{"no params", `{"jsonrpc":"2.0","id":1,"method":"tools/call"}`, false, []want{{"tools/call", ""}}, nil},
		{"unknown keys of other methods' params are not read", `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"name":1,"Name":2,"name":3}}`, false,
			[]want{{"initialize", ""}}, nil},
		{"a batch", `[{"jsonrpc":"2.0","id":1,"method":"tools/list"},{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"add_document"}}]`, true,
			[]want{{"tools/list", ""}, {"tools/call", "add_document"}}, nil},
		{"keys in arguments may repeat", `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"a","arguments":{"t":1,"t":2,"T":3}}}`, false,
			[]want{{"tools/call", "a"}}, nil},

		{"a name in another case", `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"add_document","Name":"list_documents"}}`, false, nil, mcpwire.ErrCase},
		{"Name alone", `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"Name":"list_documents"}}`, false, nil, mcpwire.ErrCase},
		{"two names", `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"list_documents","name":"add_document"}}`, false, nil, mcpwire.ErrDuplicate},
		{"an escaped second name", `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"list_documents","\u006eame":"add_document"}}`, false, nil, mcpwire.ErrDuplicate},
		{"an escaped name in another case", `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"list_documents","\u004eame":"add_document"}}`, false, nil, mcpwire.ErrCase},
		{"two methods", `{"jsonrpc":"2.0","id":1,"method":"tools/list","method":"tools/call","params":{"name":"add_document"}}`, false, nil, mcpwire.ErrDuplicate},
		{"Method", `{"jsonrpc":"2.0","id":1,"method":"tools/list","Method":"tools/call","params":{"name":"add_document"}}`, false, nil, mcpwire.ErrCase},
		{"METHOD alone", `{"jsonrpc":"2.0","id":1,"METHOD":"tools/call","params":{"name":"add_document"}}`, false, nil, mcpwire.ErrCase},
		{"a long s (U+017F) folds to s", `{"jsonrpc":"2.0","id":1,"method":"tools/call","paramſ":{"name":"add_document"}}`, false, nil, mcpwire.ErrCase},
		{"two _meta", `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"list_documents","_meta":{},"_meta":{}}}`, false, nil, mcpwire.ErrDuplicate},
		{"two params", `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"a"},"params":{"name":"b"}}`, false, nil, mcpwire.ErrDuplicate},
		{"two ids", `{"jsonrpc":"2.0","id":1,"id":2,"method":"ping"}`, false, nil, mcpwire.ErrDuplicate},
		{"a name that is not a string", `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":null}}`, false, nil, mcpwire.ErrShape},
		{"params not an object", `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":["add_document"]}`, false, nil, mcpwire.ErrShape},
		{"a method that is not a string", `{"jsonrpc":"2.0","id":1,"method":null}`, false, nil, mcpwire.ErrShape},
		{"no jsonrpc", `{"id":1,"method":"tools/list"}`, false, nil, mcpwire.ErrShape},
		{"jsonrpc 1.0", `{"jsonrpc":"1.0","id":1,"method":"tools/list"}`, false, nil, mcpwire.ErrShape},
		{"an empty batch", `[]`, true, nil, mcpwire.ErrShape},
		{"a batch of numbers", `[1]`, true, nil, mcpwire.ErrShape},
		{"a batch with a bad message", `[{"jsonrpc":"2.0","id":1,"method":"tools/list"},{"jsonrpc":"2.0","method":"a","Method":"b"}]`, true, nil, mcpwire.ErrCase},
		{"a string", `"tools/call"`, false, nil, mcpwire.ErrShape},
		{"empty", ``, false, nil, mcpwire.ErrSyntax},
		{"trailing data", `{"jsonrpc":"2.0","id":1,"method":"tools/list"} {}`, false, nil, mcpwire.ErrSyntax},
		{"a trailing comma", `{"jsonrpc":"2.0","id":1,"method":"tools/list",}`, false, nil, mcpwire.ErrSyntax},
		{"a lone surrogate", `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"a\ud800"}}`, false, nil, mcpwire.ErrSyntax},
		{"invalid UTF-8", "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{\"name\":\"a\xff\"}}", false, nil, mcpwire.ErrSyntax},
		{"a control character", "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{\"name\":\"a\nb\"}}", false, nil, mcpwire.ErrSyntax},
		{"a bad number", `{"jsonrpc":"2.0","id":01,"method":"ping"}`, false, nil, mcpwire.ErrSyntax},
		{"a bad literal", `{"jsonrpc":"2.0","id":nul,"method":"ping"}`, false, nil, mcpwire.ErrSyntax},
		{"a bad escape", `{"jsonrpc":"2.0","id":1,"method":"pi\xg"}`, false, nil, mcpwire.ErrSyntax},
		{"unclosed", `{"jsonrpc":"2.0","id":1,"method":"ping"`, false, nil, mcpwire.ErrSyntax},
		{"too deep", `{"jsonrpc":"2.0","id":1,"method":"ping","params":` + strings.Repeat("[", mcpwire.MaxDepth) + strings.Repeat("]", mcpwire.MaxDepth) + `}`, false, nil, mcpwire.ErrSyntax},
	} {
		t.Run(tt.name, func(t *testing.T) {
			msgs, batch, err := mcpwire.Read([]byte(tt.body), nil)
			if tt.err != nil {
				if !errors.Is(err, tt.err) {
					t.Fatalf("err %v, want %v", err, tt.err)
				}
				if strings.Contains(err.Error(), "add_document") || strings.Contains(err.Error(), "list_documents") {
					t.Fatalf("the error quotes the body: %v", err)
				}
				return
			}
			if err != nil || batch != tt.batch || len(msgs) != len(tt.want) {
				t.Fatalf("%v, batch %v, %d messages", err, batch, len(msgs))
			}
			for i, w := range tt.want {
				m := msgs[i]
				if string(m.Method) != w.method || m.HasMethod != (w.method != "") || string(m.Target) != w.target || m.HasTarget != (w.target != "") {
					t.Fatalf("message %d: %q %v %q %v, want %+v", i, m.Method, m.HasMethod, m.Target, m.HasTarget, w)
				}
			}
		})
	}
	// Just within the depth bound.
	deep := `{"jsonrpc":"2.0","id":1,"method":"ping","params":` + strings.Repeat("[", mcpwire.MaxDepth-1) + strings.Repeat("]", mcpwire.MaxDepth-1) + `}`
	if _, _, err := mcpwire.Read([]byte(deep), nil); err != nil {
		t.Fatalf("nested %d deep: %v", mcpwire.MaxDepth, err)
	}
}

// TestReadAllocations: a tools/call without escapes costs no allocation.
func TestReadAllocations(t *testing.T) {
	body := []byte(`{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"add_document","arguments":{"title":"Minutes"}}}`)
	var one [1]mcpwire.Message
	if n := testing.AllocsPerRun(100, func() {
		if _, _, err := mcpwire.Read(body, one[:0]); err != nil {
			t.Fatal(err)
		}
	}); n != 0 {
		t.Fatalf("%v allocations", n)
	}
}

// FuzzRead: whatever Read accepts, encoding/json accepts too, and reads the
// same method and target with keys matched exactly (a map, last duplicate
// winning, which Read refuses anyway); and Read never panics.
func FuzzRead(f *testing.F) {
	for _, s := range []string{
		`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"add_document","arguments":{"title":"x"}}}`,
		`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"add_document","Name":"list_documents"}}`,
		`{"jsonrpc":"2.0","id":1,"\u006dethod":"tools/call","params":{"n\u0061me":"add_document"}}`,
		`[{"jsonrpc":"2.0","id":1,"method":"tools/list"},{"jsonrpc":"2.0","id":2,"method":"resources/read","params":{"uri":"file:///x"}}]`,
		`{"jsonrpc":"2.0","id":1,"method":"prompts/get","params":{"name":"\ud83d\ude00"}}`,
		`{"jsonrpc":"2.0","id":1,"method":"tools/list","Method":"tools/call"}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		msgs, batch, err := mcpwire.Read(body, nil)
		if err != nil {
			return
		}
		if !utf8.Valid(body) {
			t.Fatalf("accepted invalid UTF-8")
		}
		var raws []json.RawMessage
		if batch {
			if err := json.Unmarshal(body, &raws); err != nil {
				t.Fatalf("Read took a batch encoding/json refuses: %v", err)
			}
		} else {
			raws = []json.RawMessage{body}
		}
		if len(raws) != len(msgs) {
			t.Fatalf("%d messages, encoding/json %d", len(msgs), len(raws))
		}
		for i, raw := range raws {
			var m map[string]json.RawMessage
			if err := json.Unmarshal(raw, &m); err != nil {
				t.Fatalf("Read took a message encoding/json refuses: %v", err)
			}
			method, hasMethod := str(t, m["method"])
			if hasMethod != msgs[i].HasMethod || method != string(msgs[i].Method) {
				t.Fatalf("method %q %v, encoding/json %q %v", msgs[i].Method, msgs[i].HasMethod, method, hasMethod)
			}
			key := ""
			switch method {
			case "tools/call", "prompts/get":
				key = "name"
			case "resources/read", "resources/subscribe", "resources/unsubscribe":
				key = "uri"
			}
			if key == "" {
				if msgs[i].HasTarget {
					t.Fatalf("a target for %q", method)
				}
				continue
			}
			var p map[string]json.RawMessage
			if m["params"] != nil && !bytes.Equal(m["params"], []byte("null")) {
				if err := json.Unmarshal(m["params"], &p); err != nil {
					t.Fatalf("params: %v", err)
				}
			}
			target, has := str(t, p[key])
			if has != msgs[i].HasTarget || target != string(msgs[i].Target) {
				t.Fatalf("target %q %v, encoding/json %q %v", msgs[i].Target, msgs[i].HasTarget, target, has)
			}
		}
	})
}

func str(t *testing.T, raw json.RawMessage) (string, bool) {
	if raw == nil {
		return "", false
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		t.Fatalf("not a string: %s", raw)
	}
	return s, true
}

// BenchmarkRead reads a tools/call with a small argument.
func BenchmarkRead(b *testing.B) {
	body := []byte(`{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"add_document","arguments":{"title":"Minutes of the 3 May meeting"}}}`)
	var one [1]mcpwire.Message
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := mcpwire.Read(body, one[:0]); err != nil {
			b.Fatal(err)
		}
	}
}

// TestKeys: the key tables and their fast lookup agree.
func TestKeys(t *testing.T) {
	for j, keys := range [][]string{mcpwire.MessageKeys[:], mcpwire.ParamKeys[:]} {
		for i, k := range keys {
			if got := mcpwire.Exact([]byte(k), j == 1); got != i {
				t.Fatalf("%s: %d, want %d", k, got, i)
			}
			if got := mcpwire.Exact([]byte(k+"x"), j == 1); got != -1 {
				t.Fatalf("%sx: %d", k, got)
			}
		}
	}
}
