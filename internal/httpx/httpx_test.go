package httpx

import (
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

func TestBackoff(t *testing.T) {
	none := func(time.Duration) time.Duration { return 0 }
	most := func(d time.Duration) time.Duration { return d - 1 }
	want := []time.Duration{500 * time.Millisecond, 750 * time.Millisecond, 1125 * time.Millisecond}
	for n, w := range want {
		if lo, hi := Backoff(n, none), Backoff(n, most); lo != w/2 || hi != w-1 {
			t.Errorf("Backoff(%d) in [%v, %v]; want [%v, %v)", n, lo, hi, w/2, w)
		}
	}
	if got := Backoff(100, most); got >= MaxBackoff || got < MaxBackoff/2 {
		t.Errorf("Backoff(100) = %v; want capped below %v", got, MaxBackoff)
	}
	for range 100 {
		if j := RandomJitter(time.Second); j < 0 || j >= time.Second {
			t.Fatalf("RandomJitter(1s) = %v; want [0, 1s)", j)
		}
	}
	if RandomJitter(0) != 0 {
		t.Error("RandomJitter(0) != 0")
	}
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 5, 12, 10, 0, 0, 0, time.UTC)
	tests := []struct {
		in   string
		want time.Duration
	}{
		{"", 0},
		{"5", 5 * time.Second},
		{" 12 ", 12 * time.Second},
		{"0", 0},
		{"-3", 0},
		{"1.5", 0},
		{"soon", 0},
		{now.Add(45 * time.Second).Format(http.TimeFormat), 45 * time.Second},
		{now.Add(-time.Hour).Format(http.TimeFormat), 0},
		{"99999999999999999", 1<<63 - 1},
	}
	for _, tt := range tests {
		if got := ParseRetryAfter(tt.in, now); got != tt.want {
			t.Errorf("ParseRetryAfter(%q) = %v; want %v", tt.in, got, tt.want)
		}
	}
}

func TestExcerpt(t *testing.T) {
	tests := []struct {
		in    string
		limit int
		want  string
	}{
		{"  plain  ", 20, "plain"},
		{"a\x00b\tc", 20, "a\uFFFDb c"},
		{"abcdef", 3, "abc…"},
		{"héllo", 2, "h…"}, // é cut in half is dropped
		{"\xff\xfeok", 20, "\uFFFD\uFFFDok"},
	}
	for _, tt := range tests {
		got := Excerpt([]byte(tt.in), tt.limit)
		if got != tt.want || !utf8.ValidString(got) {
			t.Errorf("Excerpt(%q, %d) = %q; want %q", tt.in, tt.limit, got, tt.want)
		}
	}
}

func TestReadAtMost(t *testing.T) {
	b, err := ReadAtMost(strings.NewReader("abc"), 3)
	if err != nil || string(b) != "abc" {
		t.Fatalf("ReadAtMost(3 bytes, 3) = %q, %v", b, err)
	}
	if _, err := ReadAtMost(strings.NewReader("abcd"), 3); !errors.Is(err, ErrTooLarge) || err.Error() != "answer larger than 3 bytes" {
		t.Fatalf("ReadAtMost(4 bytes, 3) error = %v; want ErrTooLarge", err)
	}
}

func TestParseServiceURL(t *testing.T) {
	for in, want := range map[string]string{
		"https://api.clerk.com/v1/": "https://api.clerk.com/v1",
		"http://127.0.0.1:8080":     "http://127.0.0.1:8080",
		"http://localhost/x":        "http://localhost/x",
	} {
		if got, err := ParseServiceURL("APIURL", in); err != nil || got != want {
			t.Errorf("ParseServiceURL(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{"http://example.com", "https://u:p@api.clerk.com", "https://api.clerk.com?x=1", "/v1", "https://api.clerk.com#f"} {
		if _, err := ParseServiceURL("APIURL", in); !errors.Is(err, ErrInvalidConfig) {
			t.Errorf("ParseServiceURL(%q) error = %v; want ErrInvalidConfig", in, err)
		}
	}
}

func TestRedact(t *testing.T) {
	const secret = "sk_test_0123456789abcdef"
	tests := map[string]struct{ in, want string }{
		"configured secret":  {"echo: Bearer " + secret, "echo: Bearer " + Redacted},
		"odd configured key": {"key=weird-secret!", "key=" + Redacted},
		"live secret shape":  {`{"auth":"sk_live_ABCdef0123456789"}`, `{"auth":"sk_` + Redacted + `"}`},
		"API key":            {"ak_1234567890abc", "ak_" + Redacted},
		"M2M token":          {"token mt_0123456789abcdefXYZ used", "token mt_" + Redacted + " used"},
		"OAuth token":        {"oat_0123456789abcdef", "oat_" + Redacted},
		"short is not one":   {"sk_short mt_1", "sk_short mt_1"},
		"inside a word":      {"task_0123456789", "task_0123456789"},
		"nothing":            {"plain text", "plain text"},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			got := Redact(tt.in, secret, "weird-secret!", "")
			if got != tt.want {
				t.Fatalf("Redact(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
	base := errors.New("upstream said " + secret)
	err := RedactError(base, secret)
	if strings.Contains(err.Error(), secret) || !errors.Is(err, base) {
		t.Fatalf("RedactError: %v (is base: %v)", err, errors.Is(err, base))
	}
	if RedactError(io.EOF, secret) != io.EOF {
		t.Fatal("an error without secrets is returned as it is")
	}
}
