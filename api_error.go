package clerkauth

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/clerkauth/clerkauth/internal/httpx"
)

// Bounds on what an error keeps of a response body.
const (
	maxErrorBody   = 64 << 10 // bytes read from an error response
	maxBodyExcerpt = 200      // bytes of a non-JSON error body kept in Body
	maxTextExcerpt = 300      // bytes of each upstream text Error shows
)

// APIError is an unsuccessful answer of Clerk's Backend API. Use
// [errors.Is] with [ErrNotFound], [ErrUnauthorized], [ErrRateLimited] or
// [ErrEndpointDeprecated] to classify it, and [errors.As] to read it.
//
// An APIError is not modified after it is returned and is safe for
// concurrent reads.
type APIError struct {
	// Op is the operation that failed, such as "get session".
	Op string
	// StatusCode is the HTTP status code of the answer.
	StatusCode int
	// Errors are the entries of the ClerkErrors body; empty when the body
	// was not one.
	Errors []APIErrorEntry
	// Meta is the top-level meta object of the ClerkErrors body, if any.
	Meta map[string]any
	// TraceID is the body's clerk_trace_id, else the cf-ray header; quote
	// it to Clerk support.
	TraceID string
	// RetryAfter is the delay asked for by the Retry-After header (seconds
	// or an HTTP date), or 0 when there was none.
	RetryAfter time.Duration
	// Body is a short excerpt (at most 200 bytes, printable) of a body that
	// was not a ClerkErrors document; "" otherwise.
	Body string
}

// APIErrorEntry is one entry of a ClerkErrors body (schema ClerkError).
type APIErrorEntry struct {
	// Code is the machine-readable code, such as "resource_not_found".
	Code string `json:"code"`
	// Message is a short message.
	Message string `json:"message"`
	// LongMessage is a longer, more descriptive message.
	LongMessage string `json:"long_message"`
	// Meta holds extra data such as "param_name".
	Meta map[string]any `json:"meta,omitempty"`
}

// Error returns "clerkauth: <op>: <status>: <code>: <message> …". The
// texts that came from the answer are cut to a few hundred bytes and their
// control characters replaced, so that an error body cannot flood a log
// line or forge lines or terminal escapes in it.
func (e *APIError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "clerkauth: %s: %d %s", e.Op, e.StatusCode, http.StatusText(e.StatusCode))
	if len(e.Errors) > 0 {
		first := e.Errors[0]
		fmt.Fprintf(&b, ": %s", printable(first.Code))
		if msg := firstNonEmpty(first.LongMessage, first.Message); msg != "" {
			fmt.Fprintf(&b, ": %s", printable(msg))
		}
		if n := len(e.Errors) - 1; n > 0 {
			fmt.Fprintf(&b, " (and %d more)", n)
		}
	} else if e.Body != "" {
		fmt.Fprintf(&b, ": %q", e.Body)
	}
	if e.RetryAfter > 0 {
		fmt.Fprintf(&b, " (retry after %s)", e.RetryAfter)
	}
	if e.TraceID != "" {
		fmt.Fprintf(&b, " (trace %s)", printable(e.TraceID))
	}
	return b.String()
}

// printable returns a bounded excerpt of an upstream text without control
// characters.
func printable(s string) string { return httpx.Excerpt([]byte(s), maxTextExcerpt) }

// Is reports whether target is the sentinel of e's class.
func (e *APIError) Is(target error) bool {
	switch target {
	case ErrNotFound:
		// Only Clerk's own answer (a ClerkErrors body) says the resource
		// does not exist; a proxy's 404 page says nothing about it.
		return e.StatusCode == http.StatusNotFound && e.fromClerk()
	case ErrUnauthorized:
		return e.StatusCode == http.StatusUnauthorized
	case ErrRateLimited:
		return e.StatusCode == http.StatusTooManyRequests
	case ErrEndpointDeprecated:
		return e.StatusCode == http.StatusGone && e.fromClerk() || e.HasCode("operation_deprecated")
	}
	return false
}

// HasCode reports whether one of e's entries has the given code.
func (e *APIError) HasCode(code string) bool {
	for _, entry := range e.Errors {
		if entry.Code == code {
			return true
		}
	}
	return false
}

// clerkErrorsBody is the error body of the Backend API (schema ClerkErrors).
type clerkErrorsBody struct {
	Errors       []APIErrorEntry `json:"errors"`
	Meta         map[string]any  `json:"meta"`
	ClerkTraceID string          `json:"clerk_trace_id"`
}

// newAPIError builds the error of an unsuccessful answer from its status,
// headers and (already bounded) body. now is used for an HTTP-date
// Retry-After.
func newAPIError(op string, resp *http.Response, body []byte, now time.Time) *APIError {
	e := &APIError{
		Op:         op,
		StatusCode: resp.StatusCode,
		RetryAfter: httpx.ParseRetryAfter(resp.Header.Get("Retry-After"), now),
	}
	var doc clerkErrorsBody
	if err := json.Unmarshal(body, &doc); err == nil && doc.Errors != nil {
		e.Errors, e.Meta, e.TraceID = doc.Errors, doc.Meta, doc.ClerkTraceID
	} else {
		e.Body = httpx.Excerpt(body, maxBodyExcerpt)
	}
	if e.TraceID == "" {
		e.TraceID = httpx.Excerpt([]byte(resp.Header.Get("Cf-Ray")), 64)
	}
	return e
}

// fromClerk reports whether e is Clerk's own answer: its body was
// Clerk's error document (ClerkErrors, one entry at least). A proxy's or a
// load balancer's error page is not, and says nothing about the token or
// the resource asked for.
func (e *APIError) fromClerk() bool { return len(e.Errors) > 0 }

// isClerkErrors reports whether body is Clerk's error document with one
// entry at least.
func isClerkErrors(body []byte) bool {
	var doc clerkErrorsBody
	return json.Unmarshal(body, &doc) == nil && len(doc.Errors) > 0
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}

// redact removes the secret key, and anything shaped like a Clerk secret,
// from every text of e that came from the answer: an error page or message
// may echo the request's Authorization header.
func (e *APIError) redact(secret string) {
	e.Body = httpx.Redact(e.Body, secret)
	e.TraceID = httpx.Redact(e.TraceID, secret)
	redactMeta(e.Meta, secret)
	for i := range e.Errors {
		en := &e.Errors[i]
		en.Code = httpx.Redact(en.Code, secret)
		en.Message = httpx.Redact(en.Message, secret)
		en.LongMessage = httpx.Redact(en.LongMessage, secret)
		redactMeta(en.Meta, secret)
	}
}

// redactMeta redacts the string values of m, at every depth (a gateway
// echoing the request nests it), keys included.
func redactMeta(m map[string]any, secret string) {
	for k, v := range m {
		if rk := httpx.Redact(k, secret); rk != k {
			delete(m, k)
			k = rk
		}
		m[k] = redactValue(v, secret)
	}
}

// redactValue returns v, a decoded JSON value, with its strings redacted;
// maps and slices are redacted in place.
func redactValue(v any, secret string) any {
	switch v := v.(type) {
	case string:
		return httpx.Redact(v, secret)
	case map[string]any:
		redactMeta(v, secret)
	case []any:
		for i := range v {
			v[i] = redactValue(v[i], secret)
		}
	}
	return v
}
