package demo

import (
	"net/http/httptest"
	"testing"
	"time"
)

func TestWhen(t *testing.T) {
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		d    time.Duration
		want string
	}{
		{0, "just now"},
		{-59 * time.Second, "just now"},
		{-time.Minute, "1 minute ago"},
		{-5*time.Minute - 30*time.Second, "5 minutes ago"},
		{59 * time.Minute, "in 59 minutes"},
		{time.Hour, "in 1 hour"},
		{-47 * time.Hour, "47 hours ago"},
		{72 * time.Hour, "in 3 days"},
	}
	for _, tt := range tests {
		if got := when(now, now.Add(tt.d)); got != tt.want {
			t.Errorf("when(%v) = %q, want %q", tt.d, got, tt.want)
		}
	}
}

func TestPageRequest(t *testing.T) {
	tests := []struct {
		name, method, accept, mode string
		want                       bool
	}{
		{"page view", "GET", "text/html,application/xhtml+xml", "navigate", true},
		{"form a page submitted", "POST", "text/html", "navigate", true},
		{"fetch from a script", "POST", "*/*", "cors", false},
		{"API client", "GET", "application/json", "", false},
		{"curl", "POST", "*/*", "", false},
	}
	for _, tt := range tests {
		r := httptest.NewRequest(tt.method, "/", nil)
		r.Header.Set("Accept", tt.accept)
		if tt.mode != "" {
			r.Header.Set("Sec-Fetch-Mode", tt.mode)
		}
		if got := PageRequest(r); got != tt.want {
			t.Errorf("%s: PageRequest = %v, want %v", tt.name, got, tt.want)
		}
	}
}
