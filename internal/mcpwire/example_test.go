package mcpwire_test

import (
	"errors"
	"fmt"

	"github.com/stytchguard/stytchguard/internal/mcpwire"
)

func ExampleRead() {
	body := []byte(`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"add_document","arguments":{"title":"Minutes"}}}`)
	msgs, batch, err := mcpwire.Read(body, nil)
	fmt.Printf("%s %s %v %v\n", msgs[0].Method, msgs[0].Target, batch, err)

	// What encoding/json would read as list_documents, and the MCP SDK as
	// add_document, is refused.
	_, _, err = mcpwire.Read([]byte(`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"add_document","Name":"list_documents"}}`), nil)
	fmt.Println(errors.Is(err, mcpwire.ErrCase))
	// Output:
	// tools/call add_document false <nil>
	// true
}
