package mcpwire

// Exported for the tests of package mcpwire_test.
var (
	MessageKeys = &messageKeys
	ParamKeys   = &paramKeys
	Exact       = exact
)
