package httpx

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"
)

// Redacted replaces a secret in [Redact]'s output.
const Redacted = "[REDACTED]"

// secretShape matches strings shaped like Clerk secrets: secret keys
// (sk_test_…, sk_live_…), API keys (ak_…), M2M tokens (mt_…) and OAuth
// access tokens (oat_…), at a word boundary and at least 8 characters
// after the prefix.
var secretShape = regexp.MustCompile(`\b(sk|ak|mt|oat)_[A-Za-z0-9_\-]{8,}`)

// Redact returns s with every configured secret (non-empty entries of
// secrets) and every secret-shaped string replaced, keeping the shaped
// ones' prefix ("sk_[REDACTED]"). Every error and log line clerkauth builds
// from what an upstream sent passes through it: an error page may echo the
// Authorization header back.
func Redact(s string, secrets ...string) string {
	for _, secret := range secrets {
		if secret != "" {
			s = strings.ReplaceAll(s, secret, Redacted)
		}
	}
	if !strings.Contains(s, "_") {
		return s
	}
	return secretShape.ReplaceAllString(s, "${1}_"+Redacted)
}

// RedactError returns err unchanged when its message holds no secret, or
// an error with the redacted message that still matches (errors.Is, As)
// everything err matches.
func RedactError(err error, secrets ...string) error {
	if err == nil {
		return nil
	}
	msg := err.Error()
	if red := Redact(msg, secrets...); red != msg {
		return &redactedError{msg: red, err: err}
	}
	return err
}

type redactedError struct {
	msg string
	err error
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Unwrap() error { return e.err }

// GuardedClient returns c, or a shallow copy of it, that never sends a
// request's credentials away from where they were meant to go, nor turns a
// request into another one: a redirect to another origin (scheme, host or
// port; so also from https to http), or one that would change the method
// (net/http re-sends a POST as a GET, without its body, after a 301, 302
// or 303), is not followed, and the 3xx answer is returned as it is. Other
// redirects within the origin are left to c's own CheckRedirect. c itself
// is not changed.
func GuardedClient(c *http.Client) *http.Client {
	if c == nil {
		return DefaultClient()
	}
	cp := *c
	next := c.CheckRedirect
	cp.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if len(via) > 0 && (!sameOrigin(req.URL, via[0].URL) || req.Method != via[0].Method) {
			return http.ErrUseLastResponse
		}
		if next != nil {
			return next(req, via)
		}
		if len(via) >= 10 {
			return errors.New("stopped after 10 redirects")
		}
		return nil
	}
	return &cp
}

func sameOrigin(a, b *url.URL) bool {
	return strings.EqualFold(a.Scheme, b.Scheme) && strings.EqualFold(a.Host, b.Host)
}

// WithDeadline returns ctx bounded by timeout from now, unless ctx already
// ends sooner; a caller's client without a timeout and a context without a
// deadline can then not hang a call forever.
func WithDeadline(ctx context.Context, timeout time.Duration) (context.Context, context.CancelFunc) {
	if d, ok := ctx.Deadline(); ok && time.Until(d) <= timeout {
		return ctx, func() {}
	}
	return context.WithTimeout(ctx, timeout)
}
