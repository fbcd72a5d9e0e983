package pace_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/stytchguard/stytchguard/internal/pace"
)

// clock is a settable clock.
type clock struct{ t time.Time }

func (c *clock) now() time.Time          { return c.t }
func (c *clock) advance(d time.Duration) { c.t = c.t.Add(d) }
func retryAfter(err error) time.Duration { var r retryErr; errors.As(err, &r); return time.Duration(r) }

type retryErr time.Duration

func (r retryErr) Error() string { return "429 too many requests" }

func TestPacer(t *testing.T) {
	boom := errors.New("500 internal server error")
	for _, tc := range []struct {
		name string
		err  error
		// shut is a time after the failure at which calls are still held
		// back; open one at which they may start again.
		shut, open time.Duration
	}{
		{"floor", boom, pace.Floor - time.Millisecond, pace.Floor * 5 / 4},
		{"Retry-After under the floor", retryErr(2 * time.Second), pace.Floor - time.Millisecond, pace.Floor * 5 / 4},
		{"Retry-After of 30 s", retryErr(30 * time.Second), 30*time.Second - time.Millisecond, 30 * time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := &clock{t: time.Unix(1_700_000_000, 0)}
			p := pace.New(pace.Config{Name: "policy", Now: c.now, RetryAfter: retryAfter})
			if err := p.Allow(); err != nil {
				t.Fatalf("before any call: %v", err)
			}
			pause := p.Failed(context.Background(), tc.err, slog.LevelError, "failed")
			if pause < tc.shut || pause > max(tc.open, pace.Floor*5/4) {
				t.Fatalf("pause %v, want in [%v, %v]", pause, tc.shut, tc.open)
			}
			c.advance(tc.shut)
			err := p.Allow()
			var paused *pace.PausedError
			if !errors.As(err, &paused) || !errors.Is(err, pace.ErrPaused) || !errors.Is(err, tc.err) {
				t.Fatalf("%v after the failure: %v, want a PausedError wrapping the failure", tc.shut, err)
			}
			if p.Until().IsZero() || p.LastErr() != tc.err {
				t.Fatalf("Until %v, LastErr %v", p.Until(), p.LastErr())
			}
			c.advance(tc.open - tc.shut)
			if err := p.Allow(); err != nil {
				t.Fatalf("%v after the failure: %v, want calls allowed", tc.open, err)
			}
		})
	}
}

func TestPacerSuccessResets(t *testing.T) {
	c := &clock{t: time.Unix(1_700_000_000, 0)}
	p := pace.New(pace.Config{Name: "jwks", Now: c.now, RetryAfter: retryAfter})
	p.Failed(context.Background(), retryErr(time.Hour), slog.LevelWarn, "failed")
	if p.Allow() == nil {
		t.Fatal("allowed right after a failure")
	}
	p.Succeeded()
	if err := p.Allow(); err != nil || p.LastErr() != nil || !p.Until().IsZero() {
		t.Fatalf("after a success: Allow %v, LastErr %v, Until %v", err, p.LastErr(), p.Until())
	}
}

// TestPacerLogsOnceAMinute: a resource failing on every call is logged once
// a minute, the next line counting those held back.
func TestPacerLogsOnceAMinute(t *testing.T) {
	c := &clock{t: time.Unix(1_700_000_000, 0)}
	var buf bytes.Buffer
	p := pace.New(pace.Config{Name: "RBAC policy", Now: c.now, Logger: slog.New(slog.NewTextHandler(&buf, nil))})
	for range 13 { // every 10 s for two minutes
		p.Failed(context.Background(), errors.New("boom"), slog.LevelError, "stytchguard: policy fetch failed")
		c.advance(10 * time.Second)
	}
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 3 {
		t.Fatalf("%d lines for 13 failures over 2 minutes, want 3:\n%s", len(lines), buf.String())
	}
	for i, want := range []string{"lines_held_back=0", "lines_held_back=5", "lines_held_back=5"} {
		if !strings.Contains(lines[i], want) || !strings.Contains(lines[i], `resource="RBAC policy"`) {
			t.Errorf("line %d: %s, want %s and the resource", i, lines[i], want)
		}
	}
}
