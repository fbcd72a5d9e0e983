package webhook_test

import (
	"fmt"
	"net/http"
	"time"

	"github.com/stytchguard/stytchguard/webhook"
)

func ExampleVerifier_Verify() {
	const secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	v, err := webhook.New(webhook.Config{Secret: secret})
	if err != nil {
		panic(err)
	}
	body := []byte(`{"project_id":"project-test-1","event_id":"e1","id":"member-test-1","object_type":"member","action":"DELETE","source":"DASHBOARD","timestamp":"2026-01-02T03:04:05Z"}`)
	h := http.Header{}
	h.Set("svix-id", "msg_1")
	h.Set("svix-timestamp", fmt.Sprint(time.Now().Unix()))
	sig, _ := webhook.Sign(secret, "msg_1", time.Now(), body)
	h.Set("svix-signature", sig)

	fmt.Println(v.Verify(h, body))
	e, _ := webhook.Parse(body)
	fmt.Println(e.Type(), e.ID)
	// Output:
	// <nil>
	// dashboard.member.delete member-test-1
}
