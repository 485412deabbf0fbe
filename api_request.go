package clerkauth

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/clerkauth/clerkauth/internal/httpx"
)

// apiRequest is one Backend API call, independent of its attempts: the
// body is kept as bytes so that every attempt re-sends it whole.
type apiRequest struct {
	op     string // operation name for errors, such as "get session"
	method string
	path   string // escaped path below the base URL, such as "/sessions/sess_1"
	query  url.Values
	body   []byte // JSON body, or nil for none
}

// outcome is the result of one attempt.
type outcome struct {
	body      []byte    // the answer of a successful attempt
	status    int       // its status
	apiErr    *APIError // an unsuccessful answer
	err       error     // a failure without an answer
	retryable bool      // err may pass when the request is repeated
}

// do sends r, retrying as the retry policy allows, and hands the body of
// the successful answer to decode.
func (c *SessionsClient) do(ctx context.Context, r apiRequest, decode func([]byte) error) error {
	for attempt := 0; ; attempt++ {
		o := c.observedAttempt(ctx, r, attempt) // c.attempt, reported
		if o.apiErr == nil && o.err == nil {
			if err := decode(o.body); err != nil {
				return fmt.Errorf("%w: %s: %w", ErrUnexpectedResponse, r.op, err)
			}
			return nil
		}
		last := o.final(r.op, attempt)
		wait, ok := c.retryWait(attempt, o)
		if !ok {
			return last
		}
		c.logRetry(ctx, r, attempt, wait, last)
		if err := c.sleep(ctx, wait); err != nil {
			return fmt.Errorf("clerkauth: %s: %w while waiting to retry: %w", r.op, err, last)
		}
	}
}

// final returns the error o stands for after attempt+1 attempts.
func (o outcome) final(op string, attempt int) error {
	if o.apiErr != nil {
		return o.apiErr
	}
	if attempt > 0 {
		return fmt.Errorf("clerkauth: %s (%d attempts): %w", op, attempt+1, o.err)
	}
	return fmt.Errorf("clerkauth: %s: %w", op, o.err)
}

// retryWait decides whether the failed attempt number attempt is retried,
// and after how long.
func (c *SessionsClient) retryWait(attempt int, o outcome) (wait time.Duration, retry bool) {
	if attempt >= c.maxRetries {
		return 0, false
	}
	if o.apiErr == nil {
		return httpx.Backoff(attempt, c.jitter), o.retryable
	}
	if !httpx.RetryableStatus(o.apiErr.StatusCode) {
		return 0, false
	}
	if ra := o.apiErr.RetryAfter; ra > 0 {
		return ra, ra <= httpx.MaxRetryAfter
	}
	return httpx.Backoff(attempt, c.jitter), true
}

func (c *SessionsClient) logRetry(ctx context.Context, r apiRequest, attempt int, wait time.Duration, err error) {
	if c.logger == nil {
		return
	}
	c.logger.LogAttrs(ctx, slog.LevelDebug, "clerkauth: retrying Backend API request",
		slog.String("op", r.op), slog.Int("attempt", attempt+1),
		slog.Duration("wait", wait), slog.String("error", err.Error()))
}

// attempt sends r once and reads the answer, within the per-attempt
// deadline, and with the secret key redacted from whatever error it makes.
func (c *SessionsClient) attempt(ctx context.Context, r apiRequest) outcome {
	o := c.attemptOnce(ctx, r)
	o.err = httpx.RedactError(o.err, c.secretKey)
	if o.apiErr != nil {
		o.apiErr.redact(c.secretKey)
	}
	return o
}

func (c *SessionsClient) attemptOnce(ctx context.Context, r apiRequest) outcome {
	actx, cancel := httpx.WithDeadline(ctx, c.timeout)
	defer cancel()
	req, err := c.newRequest(actx, r)
	if err != nil {
		return outcome{err: err}
	}
	resp, err := c.httpClient.Do(req)
	if err != nil {
		return outcome{err: err, retryable: httpx.RetryableTransportError(ctx, err)}
	}
	defer httpx.DrainAndClose(resp.Body)
	if resp.StatusCode >= 200 && resp.StatusCode <= 299 {
		body, err := httpx.ReadAtMost(resp.Body, maxSuccessBody)
		if err != nil {
			retry := !errors.Is(err, httpx.ErrTooLarge) && httpx.RetryableTransportError(ctx, err)
			return outcome{err: fmt.Errorf("read answer: %w", err), retryable: retry}
		}
		return outcome{body: body, status: resp.StatusCode}
	}
	body, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody)) // a partial body still helps
	// Redacted whole, before the excerpt can cut an echoed secret into a
	// part that neither the secret nor its shape matches.
	body = []byte(httpx.Redact(string(body), c.secretKey))
	return outcome{apiErr: newAPIError(r.op, resp, body, c.now())}
}

func (c *SessionsClient) newRequest(ctx context.Context, r apiRequest) (*http.Request, error) {
	u := c.baseURL + r.path
	if len(r.query) > 0 {
		u += "?" + r.query.Encode()
	}
	var body io.Reader
	if r.body != nil {
		body = bytes.NewReader(r.body) // also sets GetBody, for redirects
	}
	req, err := http.NewRequestWithContext(ctx, r.method, u, body)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+c.secretKey)
	req.Header.Set("Clerk-API-Version", c.apiVersion)
	req.Header.Set("User-Agent", c.userAgent)
	req.Header.Set("Accept", "application/json")
	if r.body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	return req, nil
}

// sessionPath returns the escaped path /sessions/{sessionID}[/suffix…].
func sessionPath(op, sessionID string, suffix ...string) (string, error) {
	seg, err := pathSegment(op, "session ID", sessionID)
	if err != nil {
		return "", err
	}
	return "/sessions/" + strings.Join(append([]string{seg}, suffix...), "/"), nil
}

// maxDecodeLevels is how many rounds of percent-decoding pathSegment looks
// through (Clerk's JS SDK looks through 10); a segment still encoded after
// that is rejected.
const maxDecodeLevels = 10

// pathSegment validates a caller-supplied path segment and escapes it. It
// rejects what could change the path once a server or proxy decodes it,
// however often: '/', '\', dot segments and control characters.
func pathSegment(op, what, s string) (string, error) {
	if s == "" {
		return "", argError(op, "%s must not be empty", what)
	}
	cur := s
	for level := 0; ; level++ {
		if reason := unsafeSegment(cur); reason != "" {
			return "", argError(op, "%s must not %s", what, reason)
		}
		dec, err := url.PathUnescape(cur)
		if err != nil || dec == cur {
			return url.PathEscape(s), nil
		}
		if level == maxDecodeLevels {
			return "", argError(op, "%s must not be percent-encoded %d times", what, level+1)
		}
		cur = dec
	}
}

// unsafeSegment says what is wrong with a decoded path segment, or "".
func unsafeSegment(s string) string {
	switch {
	case s == "." || s == "..":
		return "be a dot segment"
	case strings.ContainsAny(s, `/\`):
		return "contain a slash or backslash"
	case !httpx.HeaderSafe(s):
		return "contain control characters"
	}
	return ""
}

// argError returns an error matching ErrInvalidArgument.
func argError(op, format string, args ...any) error {
	return fmt.Errorf("%w: %s: %s", ErrInvalidArgument, op, fmt.Sprintf(format, args...))
}
