package pace

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"
)

// Defaults for the zero fields of Config.
const (
	// Floor is the least pause after a failure: 10 s, to which up to a
	// quarter is added at random.
	Floor = 10 * time.Second
	// LogEvery is how often a failing resource is logged at most.
	LogEvery = time.Minute
	// MaxRetryAfter bounds the Retry-After a pause honours: an answer
	// claiming to be Stytch's must not stop every call for a day.
	MaxRetryAfter = 5 * time.Minute
)

// ErrPaused is wrapped by Allow's error while calls are held back.
var ErrPaused = errors.New("held back after a failure")

// Config configures a Pacer. Every zero field takes the default its
// comment names.
type Config struct {
	// Name names the resource in log lines and errors: "JWKS", "RBAC
	// policy", "introspection". It never holds a token or a secret.
	Name string
	// Floor is the least pause after a failure. Zero means Floor (10 s).
	Floor time.Duration
	// RetryAfter reads Stytch's Retry-After from a failure's error; the
	// pause is the larger of it (at most MaxRetryAfter, 5 min) and the
	// jittered floor. Nil means none is read.
	RetryAfter func(error) time.Duration
	// Now is the clock. Nil means time.Now.
	Now func() time.Time
	// Logger receives the failures, at most one line a LogEvery. Nil means
	// none.
	Logger *slog.Logger
	// LogEvery bounds how often a failure is logged. Zero means LogEvery
	// (1 min).
	LogEvery time.Duration
}

// Pacer paces the calls to one resource. It is safe for concurrent use.
// The zero Pacer is not usable: build one with New.
type Pacer struct {
	cfg Config

	mu       sync.Mutex
	until    time.Time // no call before, by cfg.Now
	lastErr  error     // the last failure; nil after a success
	failures int       // failures in a row
	loggedAt time.Time // when a failure was last logged; zero: never
	held     int       // failure lines not logged since loggedAt
}

// New returns a Pacer for the resource cfg names.
func New(cfg Config) *Pacer {
	if cfg.Floor <= 0 {
		cfg.Floor = Floor
	}
	if cfg.LogEvery <= 0 {
		cfg.LogEvery = LogEvery
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Pacer{cfg: cfg}
}

// PausedError is Allow's answer while calls are held back: the failure
// that started the pause, and when it ends. It wraps ErrPaused and the
// failure.
type PausedError struct {
	Name  string
	Until time.Time
	Err   error
}

func (e *PausedError) Error() string {
	return fmt.Sprintf("%s: %s until %s: %v", e.Name, ErrPaused, e.Until.UTC().Format(time.RFC3339), e.Err)
}

// Unwrap returns ErrPaused and the failure.
func (e *PausedError) Unwrap() []error { return []error{ErrPaused, e.Err} }

// Allow reports whether a call may start now: nil when it may, else a
// *PausedError naming the last failure and when calls may start again.
func (p *Pacer) Allow() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.lastErr == nil || !p.cfg.Now().Before(p.until) {
		return nil
	}
	return &PausedError{Name: p.cfg.Name, Until: p.until, Err: p.lastErr}
}

// Until returns when calls may start again; the zero time when they may
// now.
func (p *Pacer) Until() time.Time {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.lastErr == nil || !p.cfg.Now().Before(p.until) {
		return time.Time{}
	}
	return p.until
}

// LastErr returns the last failure, nil after a success or before any
// call.
func (p *Pacer) LastErr() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.lastErr
}

// Succeeded records a call that succeeded: calls may start at once again.
func (p *Pacer) Succeeded() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.lastErr, p.failures, p.until = nil, 0, time.Time{}
}

// Failed records a failed call, err, and holds calls back for the larger
// of the jittered floor and err's Retry-After, from now. It logs msg at
// level, with attrs and the error, unless a line about this resource was
// logged within LogEvery; the next line that is logged says how many were
// held back. It returns the pause.
func (p *Pacer) Failed(ctx context.Context, err error, level slog.Level, msg string, attrs ...slog.Attr) time.Duration {
	if err == nil {
		err = errors.New("failed without an error")
	}
	pause := p.cfg.Floor + rand.N(p.cfg.Floor/4+1)
	if p.cfg.RetryAfter != nil {
		pause = max(pause, min(p.cfg.RetryAfter(err), MaxRetryAfter))
	}
	now := p.cfg.Now()
	p.mu.Lock()
	p.lastErr, p.until = err, now.Add(pause)
	p.failures++
	failures := p.failures
	log := p.cfg.Logger != nil && (p.loggedAt.IsZero() || !now.Before(p.loggedAt.Add(p.cfg.LogEvery)))
	held := p.held
	if log {
		p.loggedAt, p.held = now, 0
	} else {
		p.held++
	}
	p.mu.Unlock()
	if log {
		attrs = append(attrs, slog.String("resource", p.cfg.Name), slog.Int("failures_in_a_row", failures),
			slog.Duration("next_attempt_in", pause.Round(time.Second)), slog.Int("lines_held_back", held), slog.String("error", err.Error()))
		p.cfg.Logger.LogAttrs(ctx, level, msg, attrs...)
	}
	return pause
}
