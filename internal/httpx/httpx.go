// Package httpx is the HTTP policy clerkauth applies to every request it
// makes to Clerk (the key fetch, the Sessions API, the Backend API calls to
// come): the default client, the User-Agent, retries with backoff and
// Retry-After, bounded reads, checks of service URLs and header values, and
// excerpts of bodies safe to put in errors. It knows nothing of Clerk's
// semantics.
package httpx

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// ErrInvalidConfig is returned for a configuration that cannot be used
// safely. Package clerkauth re-exports this very value, so errors.Is matches
// it whichever package returned the error.
var ErrInvalidConfig = errors.New("clerkauth: invalid configuration")

// DefaultTimeout is the timeout of [DefaultClient].
const DefaultTimeout = 10 * time.Second

// DefaultClient returns the client used when none is configured. Clerk
// never redirects: a redirect is answered as an error rather than followed
// with the secret key.
func DefaultClient() *http.Client {
	return &http.Client{
		Timeout:       DefaultTimeout,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// UserAgent returns the User-Agent value: product, then extra when set.
func UserAgent(product, extra string) string {
	if extra != "" {
		return product + " " + extra
	}
	return product
}

// Retries returns the number of retries for a configured value n: def for
// 0, none for a negative n.
func Retries(n, def int) int {
	switch {
	case n < 0:
		return 0
	case n == 0:
		return def
	}
	return n
}

// Retry policy, after the x-speakeasy-retries extension of Clerk's OpenAPI
// spec (initial 500 ms, exponent 1.5), which Clerk's generated SDKs follow.
const (
	// InitialBackoff is the wait before the first retry.
	InitialBackoff = 500 * time.Millisecond
	// BackoffFactor is the growth of the wait from one retry to the next.
	BackoffFactor = 1.5
	// MaxBackoff caps the wait of [Backoff].
	MaxBackoff = 30 * time.Second
	// MaxRetryAfter is the longest Retry-After a client waits for. A
	// longer one is returned to the caller at once.
	MaxRetryAfter = 60 * time.Second
)

// Backoff returns the wait before retry number n (0 for the first retry):
// InitialBackoff·1.5ⁿ, capped at MaxBackoff, with "equal jitter"
// (a uniformly random point in its upper half), so that clients failing
// together do not retry together. jitter(d) returns a value in [0, d).
func Backoff(n int, jitter func(time.Duration) time.Duration) time.Duration {
	d := float64(InitialBackoff) * math.Pow(BackoffFactor, float64(n))
	if d > float64(MaxBackoff) {
		d = float64(MaxBackoff)
	}
	half := time.Duration(d) / 2
	return half + jitter(half)
}

// RandomJitter returns a uniformly random duration in [0, d).
func RandomJitter(d time.Duration) time.Duration {
	if d <= 0 {
		return 0
	}
	return rand.N(d)
}

// RetryableStatus reports whether an answer with this status may succeed
// when repeated: rate limiting and server errors.
func RetryableStatus(code int) bool {
	return code == http.StatusTooManyRequests || code >= 500 && code <= 599
}

// RetryableTransportError reports whether a failed round trip may succeed
// when repeated: connection refused or reset, timeouts and other network
// failures. The caller's own cancellation and certificate failures are not.
func RetryableTransportError(ctx context.Context, err error) bool {
	if ctx.Err() != nil {
		return false
	}
	var (
		certErr     *tls.CertificateVerificationError
		unknownAuth x509.UnknownAuthorityError
		hostErr     x509.HostnameError
		invalidErr  x509.CertificateInvalidError
	)
	switch {
	case errors.As(err, &certErr), errors.As(err, &unknownAuth),
		errors.As(err, &hostErr), errors.As(err, &invalidErr):
		return false
	}
	return true
}

// ParseRetryAfter reads a Retry-After header: delay seconds or an HTTP date
// (relative to now). It returns 0 for an absent, invalid or past value.
func ParseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if secs, err := strconv.ParseInt(v, 10, 64); err == nil {
		if secs <= 0 {
			return 0
		}
		if secs > int64(math.MaxInt64/time.Second) {
			return math.MaxInt64
		}
		return time.Duration(secs) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}

// Sleep waits for d or until ctx is done, whichever comes first.
func Sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// MaxDrain is how much of an unread body [DrainAndClose] discards so that
// the connection can be reused.
const MaxDrain = 64 << 10

// ErrTooLarge is matched by the error of [ReadAtMost] for a body over its
// limit.
var ErrTooLarge = errors.New("body too large")

type tooLargeError struct{ limit int64 }

func (e *tooLargeError) Error() string        { return fmt.Sprintf("answer larger than %d bytes", e.limit) }
func (e *tooLargeError) Is(target error) bool { return target == ErrTooLarge }

// ReadAtMost reads all of r, failing with an error matching ErrTooLarge
// beyond limit bytes.
func ReadAtMost(r io.Reader, limit int64) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > limit {
		return nil, &tooLargeError{limit: limit}
	}
	return b, nil
}

// DrainAndClose discards a bounded rest of body, so that the connection can
// be reused, and closes it.
func DrainAndClose(body io.ReadCloser) {
	_, _ = io.Copy(io.Discard, io.LimitReader(body, MaxDrain))
	_ = body.Close()
}

// ParseServiceURL checks a URL of Clerk's that keys or secrets travel to or
// from: absolute, https (http only to a loopback host, for clerktest), with
// no user info, query or fragment. It returns it without a trailing slash;
// errors are *FieldError naming field, matching ErrInvalidConfig.
func ParseServiceURL(field, raw string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return "", &FieldError{Field: field, Problem: "is not a URL", Err: err}
	}
	switch {
	case u.Host == "" || u.Opaque != "":
		return "", &FieldError{Field: field, Problem: "must be an absolute URL"}
	case u.User != nil || u.RawQuery != "" || u.Fragment != "":
		return "", &FieldError{Field: field, Problem: "must not hold user info, a query or a fragment"}
	case u.Scheme == "https":
	case u.Scheme == "http" && IsLoopbackHost(u.Hostname()):
	default:
		return "", &FieldError{Field: field, Problem: "must use https (http only to a loopback host)"}
	}
	return strings.TrimRight(u.String(), "/"), nil
}

// FieldError is an invalid configuration field: "<Field> <Problem>". It
// matches ErrInvalidConfig; the root package turns it into its exported
// ConfigError.
type FieldError struct {
	Field, Problem string
	Err            error
}

// Error returns "clerkauth: invalid configuration: <field> <problem>[: <cause>]".
func (e *FieldError) Error() string {
	msg := ErrInvalidConfig.Error() + ": " + e.Field + " " + e.Problem
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg
}

// Unwrap returns the cause.
func (e *FieldError) Unwrap() error { return e.Err }

// Is reports whether target is ErrInvalidConfig.
func (e *FieldError) Is(target error) bool { return target == ErrInvalidConfig }

// IsLoopbackHost reports whether host is "localhost" or a loopback IP.
func IsLoopbackHost(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// HeaderSafe reports whether s can be sent in a header value unchanged.
func HeaderSafe(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] == 0x7f {
			return false
		}
	}
	return true
}

// Excerpt returns at most limit bytes of b as valid UTF-8 with control
// characters replaced, trimmed of surrounding space, and "…" appended when
// cut.
func Excerpt(b []byte, limit int) string {
	cut := len(b) > limit
	if cut {
		b = b[:limit]
	}
	var out strings.Builder
	for len(b) > 0 {
		r, size := utf8.DecodeRune(b)
		if r == utf8.RuneError && size == 1 && cut && len(b) < utf8.UTFMax {
			break // a rune split by the cut
		}
		switch {
		case r == '\n' || r == '\r' || r == '\t':
			out.WriteByte(' ')
		case r < 0x20 || r == 0x7f || r == utf8.RuneError:
			out.WriteRune('\uFFFD')
		default:
			out.WriteRune(r)
		}
		b = b[size:]
	}
	s := strings.TrimSpace(out.String())
	if cut {
		s += "…"
	}
	return s
}
