package stytchtest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/stytchguard/stytchguard/internal/svix"
)

// WebhookConfig makes the emulator deliver Stytch's webhooks, signed as
// Svix signs them, for the user and member changes made through its Go API
// and admin API (create, update of roles or status, delete), as Stytch does
// for changes made in its dashboard.
type WebhookConfig struct {
	// Secret is the endpoints' signing secret, "whsec_" and base64.
	Secret string
	// URLs receive every event.
	URLs []string
	// Retries are the delays before each new attempt at a delivery that was
	// not answered 2xx, as Svix retries. Nil means 50 ms, 250 ms, 1 s and
	// 5 s; empty (non-nil) means no retry.
	Retries []time.Duration
	// Fault makes deliveries misbehave, to test receivers.
	Fault WebhookFault
}

// WebhookFault makes the emulator send deliveries a receiver must refuse.
type WebhookFault struct {
	// BadSignature signs with another secret.
	BadSignature bool
	// StaleTimestamp dates deliveries 10 minutes back (and signs that).
	StaleTimestamp bool
	// Duplicate sends every delivery twice with the same svix-id.
	Duplicate bool
}

// WebhookStats counts deliveries.
type WebhookStats struct {
	// Delivered attempts were answered 2xx; Failed ones were not (or got no
	// answer); Dropped events found the queue full.
	Delivered, Failed, Dropped int
}

// defaultRetries is the retry schedule, shortened from Svix's (seconds to
// hours) so that tests and demos see retries happen.
func defaultRetries() []time.Duration {
	return []time.Duration{50 * time.Millisecond, 250 * time.Millisecond, time.Second, 5 * time.Second}
}

// webhookQueue bounds the events waiting for delivery; webhookWorkers
// deliver them.
const (
	webhookQueue   = 10_000
	webhookWorkers = 4
)

type delivery struct {
	cfg  WebhookConfig
	id   string
	body []byte
}

// WithWebhooks configures webhook deliveries from the start.
func WithWebhooks(cfg WebhookConfig) Option { return func(o *options) { o.webhooks = &cfg } }

// SetWebhooks replaces the webhook configuration; a zero WebhookConfig stops
// deliveries (events already queued are still sent with the configuration
// they were queued with).
func (e *Emulator) SetWebhooks(cfg WebhookConfig) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if cfg.Retries == nil {
		cfg.Retries = defaultRetries()
	}
	e.webhooks = cfg
	e.hooksOnce.Do(func() {
		e.hookQueue = make(chan delivery, webhookQueue)
		for range webhookWorkers {
			go e.deliverLoop()
		}
	})
}

// WebhookStats returns the delivery counts so far.
func (e *Emulator) WebhookStats() WebhookStats {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.hookStats
}

// event queues one event for delivery. The caller holds e.mu.
func (e *Emulator) event(objectType, action, id string, object any) {
	cfg := e.webhooks
	if len(cfg.URLs) == 0 || e.hookQueue == nil {
		return
	}
	vertical := "CONSUMER"
	if objectType == "member" {
		vertical = "B2B"
	}
	body := map[string]any{
		"project_id":  e.projectID,
		"event_id":    e.id("webhook-event"),
		"id":          id,
		"object_type": objectType,
		"action":      action,
		"source":      "DASHBOARD",
		"timestamp":   e.now().Format(time.RFC3339Nano),
		"vertical":    vertical,
	}
	if object != nil {
		body[objectType] = object
	}
	b, err := json.Marshal(body)
	if err != nil {
		return
	}
	select {
	case e.hookQueue <- delivery{cfg: cfg, id: "msg_" + randomToken(18), body: b}:
	default:
		e.hookStats.Dropped++
	}
}

func (e *Emulator) deliverLoop() {
	// A connection per attempt, closed after it, as a webhook sender's
	// would be: no idle connection is left in the receiver, and no spare
	// one dialled by a race between workers (which would hold up the
	// receiving server's graceful shutdown).
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	for {
		select {
		case <-e.ctx.Done():
			return
		case d := <-e.hookQueue:
			for _, url := range d.cfg.URLs {
				e.deliver(client, d, url)
			}
		}
	}
}

// deliver sends d to url until it is answered 2xx or the retries run out.
func (e *Emulator) deliver(client *http.Client, d delivery, url string) {
	for attempt := 0; ; attempt++ {
		ok := e.post(client, d, url)
		if ok && d.cfg.Fault.Duplicate {
			e.post(client, d, url)
		}
		if ok || attempt >= len(d.cfg.Retries) {
			return
		}
		t := time.NewTimer(d.cfg.Retries[attempt])
		select {
		case <-t.C:
		case <-e.ctx.Done():
			t.Stop()
			return
		}
	}
}

// post makes one attempt, signed now (Svix signs each attempt anew).
func (e *Emulator) post(client *http.Client, d delivery, url string) bool {
	ts := e.Now()
	if d.cfg.Fault.StaleTimestamp {
		ts = ts.Add(-10 * time.Minute)
	}
	secret := d.cfg.Secret
	if d.cfg.Fault.BadSignature {
		secret = "whsec_" + "Zm9yZ2VkLXNlY3JldC1mb3ItdGVzdHM=" // another key
	}
	sig, err := svix.Sign(secret, d.id, ts, d.body)
	if err != nil {
		return false
	}
	req, err := http.NewRequestWithContext(e.ctx, http.MethodPost, url, bytes.NewReader(d.body))
	if err != nil {
		return false
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("svix-id", d.id)
	req.Header.Set("svix-timestamp", strconv.FormatInt(ts.Unix(), 10))
	req.Header.Set("svix-signature", sig)
	resp, err := client.Do(req)
	ok := err == nil && resp.StatusCode/100 == 2
	if err == nil {
		resp.Body.Close()
	}
	e.mu.Lock()
	if ok {
		e.hookStats.Delivered++
	} else {
		e.hookStats.Failed++
	}
	e.mu.Unlock()
	return ok
}

// DeleteUser deletes a user and ends its sessions, as the dashboard does,
// and sends user.delete.
func (e *Emulator) DeleteUser(userID string) error { return e.deleteSubject(userID, false) }

// DeleteMember deletes a member and ends its sessions, and sends
// member.delete.
func (e *Emulator) DeleteMember(memberID string) error { return e.deleteSubject(memberID, true) }

// deleteSubject deletes the user (or, for b2b, the member) id.
func (e *Emulator) deleteSubject(id string, b2b bool) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	kind := "user"
	if b2b {
		kind = "member"
		if _, ok := e.members[id]; !ok {
			return fmt.Errorf("member %s: %w", id, ErrNotFound)
		}
		delete(e.members, id)
	} else {
		if _, ok := e.users[id]; !ok {
			return fmt.Errorf("user %s: %w", id, ErrNotFound)
		}
		delete(e.users, id)
	}
	e.endSessionsOf(id)
	e.event(kind, "DELETE", id, nil)
	return nil
}

// endSessionsOf revokes every session of a user or member. The caller holds
// e.mu.
func (e *Emulator) endSessionsOf(subject string) {
	for _, s := range e.sessions {
		if s.subject == subject {
			s.revoked = true
		}
	}
}

// memberEvent and userEvent queue an update or create with the object as
// it now is. The caller holds e.mu.
func (e *Emulator) memberEvent(action string, m *member) {
	e.event("member", action, m.id, e.memberModel(m))
}

func (e *Emulator) userEvent(action string, u *user) {
	e.event("user", action, u.id, e.userModel(u))
}
