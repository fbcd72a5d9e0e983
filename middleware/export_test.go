package middleware

// NewRemoteCache is the in-memory RemoteCache, for tests that share one
// between two middlewares.
var NewRemoteCache = newRemoteCache

// ReturnPath is returnPath: the page a request asked for, as the sign-in
// redirect's return_to names it.
var ReturnPath = returnPath
