package middleware

import (
	"errors"
	"io"
	"log/slog"
	"net/http"

	"github.com/stytchguard/stytchguard"
	"github.com/stytchguard/stytchguard/internal/svix"
	"github.com/stytchguard/stytchguard/webhook"
)

// WebhookHandler returns the handler for Stytch's webhooks (mount it where
// the Stytch dashboard's webhook endpoint points, say POST /webhooks/stytch),
// verifying each delivery with the endpoint's signing secret ("whsec_...").
//
// A user or member updated (new roles, a new status) or deleted, in Stytch's
// dashboard, through SCIM or by another service, is marked "changed now" in
// Config.Marks: every JWT of that person issued until now is then
// checked with Stytch rather than trusted locally (a deleted person gets 401
// and cleared cookies; a demoted one comes back with the new roles), and
// Stytch's cached answers about them are asked again. Marks live as long as
// such a JWT or answer could still be taken as valid, and are shared like
// logouts: through redisstore, a delivery to one instance reaches all.
//
// It takes POST only, reads no cookies and is not behind Protect: the
// signature is its only credential. Answers: 204 when done; 400 for a
// malformed delivery; 401 for a bad signature or a timestamp more than 5
// minutes off; 403 for an event of another project; 409 for a delivery id
// already accepted (a replay); 503 when the mark could not be recorded, so
// that Svix delivers it again. Nothing is recorded unless the answer is 204.
// Events other than user and member updates and deletions are accepted and
// ignored. Marks are kept apart from logouts, so a flood of logouts cannot
// push one out. When the logouts are shared (a RevocationList other than
// the in-memory one) the marks must be too: New takes them from the
// RevocationList when it implements Marks (redisstore does), and otherwise
// WebhookHandler fails, rather than mark a change on one instance alone.
func (m *Middleware) WebhookHandler(secret string) (http.Handler, error) {
	if !m.sharedMarks {
		return nil, errors.New("middleware: WebhookHandler: the logouts are shared (Config.Revocations) but the marks would not be: give Config.Marks a shared store")
	}
	v, err := webhook.New(webhook.Config{Secret: secret, Now: m.cfg.Now})
	if err != nil {
		return nil, err
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			m.refuse(w, r, &stytchguard.Refusal{Status: http.StatusMethodNotAllowed, Code: stytchguard.CodeMethodNotAllowed, Message: "use POST"})
			return
		}
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, svix.MaxBodyBytes))
		if err != nil {
			m.refuse(w, r, &stytchguard.Refusal{Status: http.StatusBadRequest, Code: stytchguard.CodeInvalidRequest, Message: "the delivery's body could not be read"})
			return
		}
		if err := v.Verify(r.Header, body); err != nil {
			e := &stytchguard.Refusal{Status: http.StatusUnauthorized, Code: stytchguard.CodeInvalidSignature, Message: "the delivery's signature or timestamp is not valid", Err: err}
			switch {
			case errors.Is(err, webhook.ErrMalformed):
				e.Status, e.Code, e.Message = http.StatusBadRequest, stytchguard.CodeInvalidRequest, "the delivery's Svix headers are missing or malformed"
			case errors.Is(err, webhook.ErrReplay):
				e.Status, e.Code, e.Message = http.StatusConflict, stytchguard.CodeReplay, "this delivery was accepted before"
			}
			m.refuse(w, r, e)
			return
		}
		ev, err := webhook.Parse(body)
		if err != nil {
			m.refuse(w, r, &stytchguard.Refusal{Status: http.StatusBadRequest, Code: stytchguard.CodeInvalidRequest, Message: "the event is not a Stytch event", Err: err})
			return
		}
		if ev.ProjectID != m.cfg.Client.ProjectID() {
			m.refuse(w, r, &stytchguard.Refusal{Status: http.StatusForbidden, Code: stytchguard.CodeForbidden, Message: "the event is for another project"})
			return
		}
		if err := m.apply(r, ev); err != nil {
			m.refuse(w, r, &stytchguard.Refusal{Status: http.StatusServiceUnavailable, Code: stytchguard.CodeUnavailable, Message: "the change could not be recorded; deliver it again", RetryAfter: m.cfg.Upstream.RetryAfter, Err: err})
			return
		}
		v.Accept(r.Header)
		w.WriteHeader(http.StatusNoContent)
	}), nil
}

// apply marks the person an event changed.
func (m *Middleware) apply(r *http.Request, ev webhook.Event) error {
	if ev.ObjectType != webhook.ObjectMember && ev.ObjectType != webhook.ObjectUser {
		return nil
	}
	if ev.Action != webhook.ActionUpdate && ev.Action != webhook.ActionDelete {
		return nil
	}
	// The mark's end is the change's time plus the life of a logout: the
	// change's time is read back from it (changedSince).
	if err := m.cfg.Stores.Marks.Mark(r.Context(), ev.ID, m.cfg.Now().Add(m.revocationTTL)); err != nil {
		m.cfg.Logger.LogAttrs(r.Context(), slog.LevelError, "stytchguard: a webhook's change could not be recorded; answering 503 so that Svix delivers it again",
			slog.String("event", ev.Type()), slog.String("subject", ev.ID), slog.Any("error", err))
		return err
	}
	if m.cfg.Hooks.Marked != nil {
		m.cfg.Hooks.Marked(ev.Type())
	}
	m.cfg.Logger.LogAttrs(r.Context(), slog.LevelInfo, "stytchguard: changed elsewhere; JWTs issued until now are checked with Stytch",
		slog.String("event", ev.Type()), slog.String("subject", ev.ID), slog.String("event_id", ev.EventID))
	return nil
}
