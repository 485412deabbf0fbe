package clerkauth

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"math"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Retry policy, after the x-speakeasy-retries extension of Clerk's OpenAPI
// spec (initial 500 ms, exponent 1.5), which Clerk's generated SDKs follow.
const (
	retryInitialBackoff = 500 * time.Millisecond
	retryBackoffFactor  = 1.5
	retryMaxBackoff     = 30 * time.Second
	// retryMaxAfter is the longest Retry-After the client waits for. A
	// longer one is returned to the caller at once, in APIError.RetryAfter.
	retryMaxAfter = 60 * time.Second
)

// backoff returns the wait before retry number n (0 for the first retry):
// retryInitialBackoff·1.5ⁿ, capped at retryMaxBackoff, with "equal jitter"
// (a uniformly random point in its upper half), so that clients failing
// together do not retry together. jitter(d) returns a value in [0, d).
func backoff(n int, jitter func(time.Duration) time.Duration) time.Duration {
	d := float64(retryInitialBackoff) * math.Pow(retryBackoffFactor, float64(n))
	if d > float64(retryMaxBackoff) {
		d = float64(retryMaxBackoff)
	}
	half := time.Duration(d) / 2
	return half + jitter(half)
}

// randomJitter returns a uniformly random duration in [0, d).
func randomJitter(d time.Duration) time.Duration {
	if d <= 0 {
		return 0
	}
	return rand.N(d)
}

// retryableStatus reports whether an answer with this status may succeed
// when repeated: rate limiting and server errors.
func retryableStatus(code int) bool {
	return code == http.StatusTooManyRequests || code >= 500 && code <= 599
}

// retryableTransportError reports whether a failed round trip may succeed
// when repeated: connection refused or reset, timeouts and other network
// failures. The caller's own cancellation and certificate failures are not.
func retryableTransportError(ctx context.Context, err error) bool {
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

// parseRetryAfter reads a Retry-After header: delay seconds or an HTTP date
// (relative to now). It returns 0 for an absent, invalid or past value.
func parseRetryAfter(v string, now time.Time) time.Duration {
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

// sleepContext waits for d or until ctx is done, whichever comes first.
func sleepContext(ctx context.Context, d time.Duration) error {
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
