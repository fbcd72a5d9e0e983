package webhook_test

import (
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/stytchguard/stytchguard/webhook"
)

func ExampleVerifier_Verify() {
	// Svix's documented example delivery, checked at the time it was sent.
	sent := time.Unix(1614265330, 0)
	v, err := webhook.New(webhook.Config{Secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", Now: func() time.Time { return sent }})
	if err != nil {
		panic(err)
	}
	h := http.Header{}
	h.Set("svix-id", "msg_p5jXN8AQM9LWM0D4loKWxJek")
	h.Set("svix-timestamp", "1614265330")
	h.Set("svix-signature", "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=")
	fmt.Println(v.Verify(h, []byte(`{"test": 2432232314}`)))
	fmt.Println(errors.Is(v.Verify(h, []byte(`{"test": 1}`)), webhook.ErrSignature))
	// Output:
	// <nil>
	// true
}

func ExampleParse() {
	body := []byte(`{"project_id":"project-test-1","event_id":"e1","id":"member-test-1","object_type":"member","action":"DELETE","source":"DASHBOARD","timestamp":"2026-01-02T03:04:05Z"}`)
	e, err := webhook.Parse(body)
	fmt.Println(e.Type(), e.ID, err)
	// Output: dashboard.member.delete member-test-1 <nil>
}
