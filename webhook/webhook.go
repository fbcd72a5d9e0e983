package webhook

import (
	"bytes"
	"cmp"
	"crypto/hmac"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	lru "github.com/hashicorp/golang-lru/v2"

	"github.com/stytchguard/stytchguard/internal/svix"
	"github.com/stytchguard/stytchguard/session"
)

// The defaults of Config's zero fields.
const (
	// defaultTolerance is how far a delivery's svix-timestamp may be from
	// the verifier's clock, either way: Svix's own default.
	defaultTolerance = 5 * time.Minute
	// defaultReplayCacheSize bounds the delivery ids remembered to refuse
	// replays: more than 300 deliveries a second, sustained over the
	// tolerance.
	defaultReplayCacheSize = 100_000
)

// Errors Verify returns (wrapped). None of them repeats the secret or a
// signature.
var (
	// ErrMalformed: a header is missing or not in Svix's format.
	ErrMalformed = errors.New("webhook: malformed delivery")
	// ErrSignature: no v1 signature matches the body and the secret.
	ErrSignature = errors.New("webhook: no valid signature")
	// ErrTimestamp: svix-timestamp is further than the tolerance from now.
	ErrTimestamp = errors.New("webhook: timestamp outside the tolerance")
	// ErrReplay: this svix-id was accepted before.
	ErrReplay = errors.New("webhook: delivery already accepted (replay)")
)

// Config configures New. Secret is required.
type Config struct {
	// Secret is the endpoint's signing secret as Stytch's dashboard (Svix)
	// shows it: "whsec_" and base64.
	Secret string
	// Tolerance is how far svix-timestamp may be from Now. Zero means
	// defaultTolerance.
	Tolerance time.Duration
	// ReplayCacheSize bounds the accepted delivery ids remembered. Zero
	// means defaultReplayCacheSize.
	ReplayCacheSize int
	// Now is the clock. Nil means time.Now.
	Now func() time.Time
}

// Verifier checks Svix-signed deliveries: the signature, the timestamp and
// that a delivery is not accepted twice. Safe for concurrent use.
type Verifier struct {
	key       []byte
	tolerance time.Duration
	now       func() time.Time
	accepted  *lru.Cache[string, struct{}]
}

// New returns a Verifier for the endpoint secret.
func New(cfg Config) (*Verifier, error) {
	key, err := svix.DecodeSecret(cfg.Secret)
	if err != nil {
		return nil, err
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	accepted, err := lru.New[string, struct{}](cmp.Or(cfg.ReplayCacheSize, defaultReplayCacheSize))
	if err != nil {
		return nil, fmt.Errorf("webhook: %w", err)
	}
	return &Verifier{key: key, tolerance: cmp.Or(cfg.Tolerance, defaultTolerance), now: cfg.Now, accepted: accepted}, nil
}

// Verify checks a delivery's headers (svix-id, svix-timestamp,
// svix-signature) against its raw body. Every v1 signature in the header is
// compared in constant time; one match is enough. It does not remember the
// delivery: call Accept once it has been processed, so that Svix's retry of
// a delivery that failed here is not taken for a replay.
func (v *Verifier) Verify(h http.Header, body []byte) error {
	id, ts, sigs := h.Get("svix-id"), h.Get("svix-timestamp"), h.Get("svix-signature")
	if id == "" || ts == "" || sigs == "" || len(id) > 256 || len(sigs) > 4096 {
		return ErrMalformed
	}
	secs, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return ErrMalformed
	}
	if d := v.now().Sub(time.Unix(secs, 0)); d > v.tolerance || d < -v.tolerance {
		return ErrTimestamp
	}
	want := svix.MAC(v.key, id, ts, body)
	matched := false
	for _, entry := range strings.Fields(sigs) {
		version, sig, ok := strings.Cut(entry, ",")
		if !ok || version != "v1" {
			continue
		}
		got, err := base64.StdEncoding.DecodeString(sig)
		if err == nil && hmac.Equal(got, want) {
			matched = true // keep going: the time taken must not tell which entry matched
		}
	}
	if !matched {
		return ErrSignature
	}
	if v.accepted.Contains(id) {
		return ErrReplay
	}
	return nil
}

// Accept remembers a delivery id as processed: a later delivery with the
// same id is ErrReplay (within the tolerance; older ones fail on their
// timestamp).
func (v *Verifier) Accept(h http.Header) { v.accepted.Add(h.Get("svix-id"), struct{}{}) }

// Event is one Stytch webhook event. Its type is Source.ObjectType.Action,
// lowercased ("dashboard.member.update"). For create and update, the object
// itself is under the key named by ObjectType: Member or User here (other
// object types, such as organizations and SSO connections, are kept only as
// their ids).
type Event struct {
	ProjectID  string    `json:"project_id"`
	EventID    string    `json:"event_id"`
	ID         string    `json:"id"`
	ObjectType string    `json:"object_type"`
	Action     string    `json:"action"`
	Source     string    `json:"source"`
	Vertical   string    `json:"vertical"`
	Timestamp  time.Time `json:"timestamp"`
	// Member is the member after a B2B member create or update.
	Member *session.Member `json:"member,omitempty"`
	// User is the user after a consumer user create or update.
	User *session.User `json:"user,omitempty"`
}

// Actions and object types.
const (
	ActionCreate       = "CREATE"
	ActionUpdate       = "UPDATE"
	ActionDelete       = "DELETE"
	ObjectMember       = "member"
	ObjectUser         = "user"
	ObjectOrganization = "organization"
)

// Type returns the event type, "source.object_type.action" in lower case.
func (e Event) Type() string {
	return strings.ToLower(e.Source + "." + e.ObjectType + "." + e.Action)
}

// Parse decodes a verified delivery's body: one JSON event and nothing
// after it. An event about a user, a member or an organization must name
// one by its id's shape ("user-test-...", "member-live-...",
// "organization-test-..."); events about other objects keep their ids as
// sent.
func Parse(body []byte) (Event, error) {
	var e Event
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(&e); err != nil {
		return Event{}, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return Event{}, fmt.Errorf("%w: data after the event", ErrMalformed)
	}
	if e.ProjectID == "" || e.ObjectType == "" || e.Action == "" || e.ID == "" {
		return Event{}, fmt.Errorf("%w: project_id, object_type, action and id are required", ErrMalformed)
	}
	switch e.ObjectType {
	case ObjectUser, ObjectMember, ObjectOrganization:
		if !stytchID(e.ID, e.ObjectType+"-") {
			return Event{}, fmt.Errorf("%w: id is not a %s id", ErrMalformed, e.ObjectType)
		}
	}
	return e, nil
}

// stytchID reports whether id has the shape of Stytch's ids of a kind:
// prefix, "test-" or "live-", and then letters, digits and dashes.
func stytchID(id, prefix string) bool {
	rest, ok := strings.CutPrefix(id, prefix)
	if !ok {
		return false
	}
	if rest, ok = strings.CutPrefix(rest, "test-"); !ok {
		if rest, ok = strings.CutPrefix(rest, "live-"); !ok {
			return false
		}
	}
	if rest == "" || len(id) > 128 {
		return false
	}
	for _, c := range rest {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}
