package pace_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/stytchguard/stytchguard/internal/pace"
)

func ExamplePacer() {
	p := pace.New(pace.Config{Name: "RBAC policy"})
	fetch := func() error { return errors.New("503 from Stytch") }
	if err := p.Allow(); err == nil {
		if err := fetch(); err != nil {
			p.Failed(context.Background(), err, slog.LevelError, "policy fetch failed")
		}
	}
	// A second caller, at once: no call, the last error.
	err := p.Allow()
	fmt.Println(errors.Is(err, pace.ErrPaused))
	// Output: true
}
