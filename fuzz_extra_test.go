package clerkauth

import (
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// FuzzBearerToken feeds arbitrary Authorization values to the extractor:
// it never panics, a token it returns has only b64token characters, and an
// error is always a malformed-request error.
func FuzzBearerToken(f *testing.F) {
	for _, seed := range []string{
		"Bearer abc.def.ghi", "bearer   x", "Bearer", "Bearer ", "Basic dXNlcjpwYXNz", "",
		"a.b.c", "Bearer a b", "Bearer a\nb", "\tBearer\tx.y.z\t", "Bearer ====", "Bearer \x00",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, value string) {
		r := &http.Request{Header: http.Header{"Authorization": {value}}}
		tok, err := BearerToken(r)
		if err != nil {
			if !errors.Is(err, ErrInvalidRequest) || tok != "" {
				t.Fatalf("unexpected error %v (token %q)", err, tok)
			}
			if strings.Contains(err.Error(), value) && len(value) > 8 {
				t.Fatalf("error echoes the header value")
			}
			return
		}
		if body := strings.TrimRight(tok, "="); tok != "" && (body == "" || !allB64TokenChars(body)) {
			t.Fatalf("returned a token with characters outside b64token: %q", tok)
		}
	})
}

// FuzzAPIError parses arbitrary error bodies and headers: never a panic,
// always a bounded, printable message that keeps the status.
func FuzzAPIError(f *testing.F) {
	f.Add(429, `{"errors":[{"code":"too_many_requests","message":"slow","long_message":"slow down"}],"clerk_trace_id":"t"}`, "3")
	f.Add(404, `{"errors":[{"code":"resource_not_found","meta":{"param_name":"id"}}]}`, "")
	f.Add(500, "<html>oops</html>", "Wed, 21 Oct 2015 07:28:00 GMT")
	f.Add(410, `{"errors":null}`, "-1")
	f.Add(502, "\xff\xfe\x00garbage", "99999999999999999999")
	f.Add(400, `{"errors":[{"code":"a\u001b[2J","message":"m","long_message":"x\ny\u0007"}],"clerk_trace_id":"t\r\n"}`, "")
	f.Fuzz(func(t *testing.T, status int, body, retryAfter string) {
		if len(body) > maxBodyExcerpt*64 {
			body = body[:maxBodyExcerpt*64]
		}
		resp := &http.Response{StatusCode: status, Header: http.Header{"Retry-After": {retryAfter}}}
		e := newAPIError("get session", resp, []byte(body), time.Unix(1_800_000_000, 0))
		msg := e.Error()
		if e.StatusCode != status || !strings.HasPrefix(msg, "clerkauth: ") || !utf8.ValidString(msg) {
			t.Fatalf("bad error: %q", msg)
		}
		if e.RetryAfter < 0 {
			t.Fatalf("negative Retry-After %v", e.RetryAfter)
		}
		if strings.ContainsFunc(msg, func(r rune) bool { return r < 0x20 || r == 0x7f }) || len(msg) > 2048 {
			t.Fatalf("message not bounded or not printable (%d bytes): %.200q", len(msg), msg)
		}
		if n := utf8.RuneCountInString(e.Body); n > maxBodyExcerpt+1 {
			t.Fatalf("body excerpt not bounded: %d characters", n)
		}
	})
}
