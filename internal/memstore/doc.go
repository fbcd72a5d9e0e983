// Package memstore holds the in-memory stores: the middleware's defaults
// for its RevocationList, Marks and RemoteCache, and redisstore's local
// mirrors of what it keeps in Redis. Each is bounded, safe for concurrent
// use, and cheap on the path every request takes.
package memstore
