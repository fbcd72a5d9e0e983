package middleware

// NewRemoteCache is the in-memory RemoteCache, for tests that share one
// between two middlewares.
var NewRemoteCache = newRemoteCache
