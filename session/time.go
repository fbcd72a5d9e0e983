package session

import (
	"bytes"
	"fmt"
	"time"
)

// timeLayout is the layout of every timestamp Stytch sends: RFC 3339, UTC,
// second precision.
const timeLayout = "2006-01-02T15:04:05Z"

// Time is a Stytch timestamp. It embeds time.Time, so s.ExpiresAt.Before(now)
// reads as expected. On the wire it is an RFC 3339 string, or null when unset,
// as Stytch sends it. Decoding also takes "" for unset (older emulators sent
// it, and a decoding failure there must not turn a good answer into an
// outage). The zero Time encodes as null.
type Time struct {
	time.Time
}

// NewTime returns t as a Time, in UTC and truncated to the second as Stytch
// sends it.
func NewTime(t time.Time) Time {
	return Time{t.UTC().Truncate(time.Second)}
}

// MarshalJSON encodes t in timeLayout, or null when t is zero.
func (t Time) MarshalJSON() ([]byte, error) {
	if t.IsZero() {
		return []byte("null"), nil
	}
	b := make([]byte, 0, len(timeLayout)+2)
	b = append(b, '"')
	b = t.UTC().AppendFormat(b, timeLayout)
	return append(b, '"'), nil
}

// UnmarshalJSON decodes an RFC 3339 string (any precision or offset), "" or null.
func (t *Time) UnmarshalJSON(b []byte) error {
	if bytes.Equal(b, []byte("null")) || bytes.Equal(b, []byte(`""`)) {
		t.Time = time.Time{}
		return nil
	}
	if len(b) < 2 || b[0] != '"' || b[len(b)-1] != '"' {
		return fmt.Errorf("session: timestamp is not a JSON string")
	}
	parsed, err := time.Parse(time.RFC3339Nano, string(b[1:len(b)-1]))
	if err != nil {
		return fmt.Errorf("session: timestamp: %w", err)
	}
	t.Time = parsed.UTC()
	return nil
}
