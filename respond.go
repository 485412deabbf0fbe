package clerkauth

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// DefaultRealm is the realm of the WWW-Authenticate challenges when
// MiddlewareOptions.Realm is empty.
const DefaultRealm = "api"

// DefaultRetryAfter is the Retry-After sent with a 503 when the cause does
// not say how long to wait.
const DefaultRetryAfter = 5 * time.Second

// maxRetryAfterSent bounds the Retry-After of a 503. The wait relayed may
// come from Clerk's Retry-After header, which the middleware does not
// control: a broken or hostile answer must not tell every client to stay
// away for years.
const maxRetryAfterSent = 5 * time.Minute

// errorBody is Clerk's error shape (ClerkErrors).
type errorBody struct {
	Errors []errorEntry `json:"errors"`
}

type errorEntry struct {
	Code        string            `json:"code"`
	Message     string            `json:"message"`
	LongMessage string            `json:"long_message"`
	Meta        map[string]string `json:"meta"`
}

// reverificationBody is the 403 body Clerk's SDKs send and its frontend
// SDKs recognise to start the reverification flow.
type reverificationBody struct {
	ClerkError struct {
		Type     string `json:"type"`
		Reason   string `json:"reason"`
		Metadata struct {
			Reverification reverificationMeta `json:"reverification"`
		} `json:"metadata"`
	} `json:"clerk_error"`
}

type reverificationMeta struct {
	Level        ReverificationLevel `json:"level"`
	AfterMinutes int                 `json:"afterMinutes"`
}

// errorResponse is how one error is answered.
type errorResponse struct {
	status     int
	rfcError   string // RFC 6750 error code, "" for a bare challenge
	code       string // Clerk-style body code
	message    string
	long       string
	reason     Reason
	retryAfter time.Duration
}

// describe decides the answer to err.
func describe(err error) errorResponse {
	switch {
	case errors.Is(err, ErrInvalidRequest):
		return errorResponse{status: http.StatusBadRequest, rfcError: "invalid_request", code: "invalid_request",
			message: "Invalid request", long: safeDetail(err, "malformed credentials"), reason: ReasonInvalidRequest}
	case errors.Is(err, ErrNoToken):
		return errorResponse{status: http.StatusUnauthorized, code: "authentication_invalid",
			message: "Unauthenticated", long: safeDetail(err, "no session token"), reason: noTokenReason(err)}
	case errors.Is(err, ErrKeysUnavailable), errors.Is(err, ErrSessionsUnavailable):
		return unavailableResponse(err)
	case errors.Is(err, ErrCrossOriginRequest):
		return errorResponse{status: http.StatusForbidden, code: "cross_origin_request", message: "Forbidden",
			long: safeDetail(err, "cross-origin request refused"), reason: ReasonCrossOriginRequest}
	case errors.Is(err, ErrForbidden):
		return errorResponse{status: http.StatusForbidden, rfcError: "insufficient_scope", code: "authorization_invalid",
			message: "Forbidden", long: safeDetail(err, "the session does not meet the route's requirements"), reason: ReasonInsufficientScope}
	case errors.Is(err, ErrInvalidToken):
		return errorResponse{status: http.StatusUnauthorized, rfcError: "invalid_token", code: "authentication_invalid",
			message: "Unauthenticated", long: safeDetail(err, "invalid session token"), reason: ReasonOf(err)}
	}
	return errorResponse{status: http.StatusInternalServerError, code: "internal_error",
		message: "Internal error", long: "an unexpected error occurred", reason: ReasonUnexpectedError}
}

// noTokenReason is the reason of an ErrNoToken error: its own, or
// ReasonTokenMissing.
func noTokenReason(err error) Reason {
	if r := ReasonOf(err); r != "" {
		return r
	}
	return ReasonTokenMissing
}

func unavailableResponse(err error) errorResponse {
	r := errorResponse{status: http.StatusServiceUnavailable, code: "service_unavailable",
		message: "Service unavailable", long: safeDetail(err, "authentication is temporarily unavailable"),
		reason: ReasonOf(err), retryAfter: DefaultRetryAfter}
	var ve *VerificationError
	if errors.As(err, &ve) && ve.retryAfter > 0 {
		r.retryAfter = ve.retryAfter
	}
	var ue *middlewareError
	if errors.As(err, &ue) && ue.class == ErrSessionsUnavailable {
		r.reason = ReasonSessionsUnavailable
		if ue.retryAfter > 0 {
			r.retryAfter = ue.retryAfter
		}
	}
	return r
}

// safeDetail returns the part of err's message that is safe to send to the
// client: a VerificationError's Message, or the middleware's own messages;
// never an underlying cause (which may name hosts or carry response bodies).
func safeDetail(err error, fallback string) string {
	var ve *VerificationError
	var me *middlewareError
	switch {
	case errors.As(err, &ve) && ve.Message != "":
		return ve.Message
	case errors.As(err, &me):
		return me.msg
	}
	return fallback
}

// DefaultErrorHandler returns the error handler the middleware uses when
// MiddlewareOptions.ErrorHandler is nil, for custom handlers that log or
// count failures and then delegate. realm "" means [DefaultRealm].
//
// It answers, with Cache-Control: no-store and a JSON body in Clerk's error
// shape ({"errors":[{"code","message","long_message","meta":{"reason"}}]}):
//
//   - ErrInvalidRequest: 400, WWW-Authenticate error="invalid_request"
//   - ErrNoToken: 401 with a bare challenge (RFC 6750 §3.1: no error code)
//   - ErrInvalidToken: 401, error="invalid_token" and an error_description
//   - ErrForbidden: 403, error="insufficient_scope"; for a reverification
//     requirement the body is Clerk's reverification error instead
//   - ErrCrossOriginRequest: 403 without a challenge (the credentials are
//     not at fault, the request's origin is)
//   - ErrKeysUnavailable, ErrSessionsUnavailable: 503 with Retry-After and
//     no challenge: the client is not at fault. Retry-After is the wait
//     the cause asked for (Clerk's own Retry-After, the key cooldown),
//     rounded up to seconds and at most 300, else [DefaultRetryAfter]
//   - anything else: 500
//
// The error_description holds only characters RFC 6750 §3 allows: '"' is
// sent as '\”, '\' as '/', and other characters outside %x20-7E are
// dropped. Neither the header nor the body ever holds the token.
func DefaultErrorHandler(realm string) func(http.ResponseWriter, *http.Request, error) {
	realm = sanitizeQuoted(realm)
	if realm == "" {
		realm = DefaultRealm
	}
	return func(w http.ResponseWriter, _ *http.Request, err error) {
		writeError(w, realm, err)
	}
}

func writeError(w http.ResponseWriter, realm string, err error) {
	rep := renderError(realm, err)
	h := w.Header()
	rep.EachHeader(h.Set)
	w.WriteHeader(rep.Status)
	_, _ = w.Write(rep.Body)
}

// ErrorReply is the whole default answer to an error (see
// [DefaultErrorHandler]), computed without an http.ResponseWriter so that
// a transport of any kind sends the same status, headers and body. The
// headers every answer of the middleware carries (Vary, debug headers)
// come from the [Decision] instead.
type ErrorReply struct {
	// Status is the HTTP status code.
	Status int
	// Body is the JSON body, newline-terminated.
	Body []byte

	challenge  string // WWW-Authenticate value, "" for none
	retryAfter string // Retry-After value, "" for none
}

// EachHeader calls set with every header of r, in the order the default
// error handler sets them: Cache-Control, Content-Type,
// X-Content-Type-Options, and WWW-Authenticate and Retry-After when the
// answer has them.
//
// A bare reply (no Body: the 204 of a CORS preflight) has no headers.
func (r *ErrorReply) EachHeader(set func(key, value string)) {
	if r.Body == nil {
		return
	}
	set("Cache-Control", "no-store")
	set("Content-Type", "application/json; charset=utf-8")
	set("X-Content-Type-Options", "nosniff")
	if r.challenge != "" {
		set("WWW-Authenticate", r.challenge)
	}
	if r.retryAfter != "" {
		set("Retry-After", r.retryAfter)
	}
}

// RenderError returns the default answer to err with realm, as
// DefaultErrorHandler(realm) writes it; realm "" means [DefaultRealm].
// [Middleware.RenderError] uses the middleware's realm.
func RenderError(realm string, err error) ErrorReply {
	realm = sanitizeQuoted(realm)
	if realm == "" {
		realm = DefaultRealm
	}
	return renderError(realm, err)
}

// renderError computes the default answer to err: its status, headers and
// body (see DefaultErrorHandler). realm must already be sanitized.
func renderError(realm string, err error) ErrorReply {
	d := describe(err)
	rep := ErrorReply{Status: d.status}
	if d.status == http.StatusUnauthorized || d.rfcError != "" {
		rep.challenge = challenge(realm, d.rfcError, d.long)
	}
	if d.retryAfter > 0 {
		wait := min(d.retryAfter, maxRetryAfterSent) // and no overflow below
		rep.retryAfter = strconv.Itoa(int((wait + time.Second - 1) / time.Second))
	}
	body, _ := json.Marshal(bodyOf(err, d))
	rep.Body = append(body, '\n')
	return rep
}

func bodyOf(err error, d errorResponse) any {
	var fe *ForbiddenError
	if errors.As(err, &fe) && fe.reverification() {
		var b reverificationBody
		b.ClerkError.Type = "forbidden"
		b.ClerkError.Reason = string(ReasonReverificationRequired)
		b.ClerkError.Metadata.Reverification = reverificationMeta{
			Level: fe.Check.Reverification.Level, AfterMinutes: fe.Check.Reverification.AfterMinutes,
		}
		return b
	}
	return errorBody{Errors: []errorEntry{{
		Code: d.code, Message: d.message, LongMessage: d.long,
		Meta: map[string]string{"reason": string(d.reason)},
	}}}
}

// challenge builds a WWW-Authenticate value for the Bearer scheme.
func challenge(realm, rfcError, description string) string {
	var b strings.Builder
	b.WriteString(`Bearer realm="`)
	b.WriteString(realm)
	b.WriteByte('"')
	if rfcError != "" {
		b.WriteString(`, error="`)
		b.WriteString(rfcError)
		b.WriteByte('"')
		if d := sanitizeQuoted(description); d != "" {
			b.WriteString(`, error_description="`)
			b.WriteString(d)
			b.WriteByte('"')
		}
	}
	return b.String()
}

// sanitizeQuoted keeps s within RFC 6750's %x20-21 / %x23-5B / %x5D-7E, so
// it can sit in a quoted-string with no escape: '"' becomes '\”, '\'
// becomes '/', other characters are dropped. It keeps at most 200 bytes.
func sanitizeQuoted(s string) string {
	const limit = 200
	var b strings.Builder
	for i := 0; i < len(s) && b.Len() < limit; i++ {
		switch c := s[i]; {
		case c == '"':
			b.WriteByte('\'')
		case c == '\\':
			b.WriteByte('/')
		case c >= 0x20 && c <= 0x7e:
			b.WriteByte(c)
		}
	}
	return b.String()
}
