package svix_test

import (
	"fmt"
	"time"

	"github.com/stytchguard/stytchguard/internal/svix"
)

// Svix's documented example delivery signs as Svix says it does.
func ExampleSign() {
	sig, err := svix.Sign("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "msg_p5jXN8AQM9LWM0D4loKWxJek", time.Unix(1614265330, 0), []byte(`{"test": 2432232314}`))
	fmt.Println(sig, err)
	// Output: v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE= <nil>
}
