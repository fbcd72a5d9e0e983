package memstore_test

import (
	"context"
	"fmt"
	"time"

	"github.com/stytchguard/stytchguard/internal/memstore"
)

func ExampleList() {
	ctx := context.Background()
	l := memstore.NewList(memstore.Config{Size: 1000})
	_ = l.Revoke(ctx, "session-test-1", time.Now().Add(7*time.Minute))
	fmt.Println(l.IsRevoked(ctx, "session-test-1"), l.IsRevoked(ctx, "session-test-2"))
	// Output: true false
}
