package clerkauth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"
)

// operation is one client call of the operation table.
type operation struct {
	name      string
	call      func(ctx context.Context, c *SessionsClient) (any, error)
	answer    string
	method    string
	path      string // escaped path below the host
	query     url.Values
	body      string // "" for none
	wantValue any
}

func operations() []operation {
	tok := &SessionToken{Object: "token", JWT: "eyJhbGciOiJSUzI1NiJ9.e30.sig"}
	tokJSON := `{"object":"token","jwt":"eyJhbGciOiJSUzI1NiJ9.e30.sig"}`
	return []operation{
		{
			name:   "get",
			call:   func(ctx context.Context, c *SessionsClient) (any, error) { return c.Get(ctx, "sess_1") },
			answer: minimalSession("sess_1"), method: http.MethodGet, path: "/v1/sessions/sess_1",
			wantValue: "sess_1",
		},
		{
			name: "list with every parameter",
			call: func(ctx context.Context, c *SessionsClient) (any, error) {
				return c.List(ctx, ListSessionsParams{ClientID: "client_1", UserID: "user_1", Status: SessionRevoked, Limit: 20, Offset: 40})
			},
			answer: `{"data":[` + minimalSession("sess_1") + `],"total_count":41}`,
			method: http.MethodGet, path: "/v1/sessions",
			query: url.Values{"paginated": {"true"}, "client_id": {"client_1"}, "user_id": {"user_1"},
				"status": {"revoked"}, "limit": {"20"}, "offset": {"40"}},
			wantValue: "sess_1",
		},
		{
			name:   "list with no parameter",
			call:   func(ctx context.Context, c *SessionsClient) (any, error) { return c.List(ctx, ListSessionsParams{}) },
			answer: `[]`, method: http.MethodGet, path: "/v1/sessions", query: url.Values{"paginated": {"true"}},
		},
		{
			name:   "revoke",
			call:   func(ctx context.Context, c *SessionsClient) (any, error) { return c.Revoke(ctx, "sess_1") },
			answer: minimalSession("sess_1"), method: http.MethodPost, path: "/v1/sessions/sess_1/revoke",
			wantValue: "sess_1",
		},
		{
			name: "verify",
			call: func(ctx context.Context, c *SessionsClient) (any, error) {
				return c.Verify(ctx, "sess_1", "header.payload.signature") //nolint:staticcheck // tested on purpose
			},
			answer: minimalSession("sess_1"), method: http.MethodPost, path: "/v1/sessions/sess_1/verify",
			body: `{"token":"header.payload.signature"}`, wantValue: "sess_1",
		},
		{
			name: "create token with default lifetime",
			call: func(ctx context.Context, c *SessionsClient) (any, error) {
				return c.CreateToken(ctx, "sess_1", CreateTokenParams{})
			},
			answer: tokJSON, method: http.MethodPost, path: "/v1/sessions/sess_1/tokens", wantValue: tok,
		},
		{
			name: "create token with lifetime",
			call: func(ctx context.Context, c *SessionsClient) (any, error) {
				return c.CreateToken(ctx, "sess_1", CreateTokenParams{ExpiresInSeconds: 120})
			},
			answer: tokJSON, method: http.MethodPost, path: "/v1/sessions/sess_1/tokens",
			body: `{"expires_in_seconds":120}`, wantValue: tok,
		},
		{
			name: "create token from template with escaped name",
			call: func(ctx context.Context, c *SessionsClient) (any, error) {
				return c.CreateTokenFromTemplate(ctx, "sess_1", "my template", CreateTokenParams{ExpiresInSeconds: 30})
			},
			answer: tokJSON, method: http.MethodPost, path: "/v1/sessions/sess_1/tokens/my%20template",
			body: `{"expires_in_seconds":30}`, wantValue: tok,
		},
	}
}

func TestSessionsClientOperations(t *testing.T) {
	for _, op := range operations() {
		t.Run(op.name, func(t *testing.T) {
			c, api, _ := newFakeClient(t, Config{APIVersion: "2025-11-10", UserAgent: "myapp/1.2"},
				func(_ int, w http.ResponseWriter, _ *http.Request) { answer(w, 200, op.answer) })
			got, err := op.call(t.Context(), c)
			if err != nil {
				t.Fatalf("call: %v", err)
			}
			reqs := api.requests()
			if len(reqs) != 1 {
				t.Fatalf("got %d requests; want 1", len(reqs))
			}
			checkRequest(t, reqs[0], op)
			checkValue(t, got, op.wantValue)
		})
	}
}

func checkRequest(t *testing.T, r recorded, op operation) {
	t.Helper()
	if r.Method != op.method || r.EscapedPath != op.path {
		t.Errorf("request %s %s; want %s %s", r.Method, r.EscapedPath, op.method, op.path)
	}
	if want := op.query; !reflect.DeepEqual(r.Query, want) && (len(want) > 0 || len(r.Query) > 0) {
		t.Errorf("query %v; want %v", r.Query, want)
	}
	if string(r.Body) != op.body {
		t.Errorf("body %q; want %q", r.Body, op.body)
	}
	wantHeaders := map[string]string{
		"Authorization":     "Bearer " + testSecretKey,
		"Clerk-Api-Version": "2025-11-10",
		"User-Agent":        "clerkauth-go/" + Version + " myapp/1.2",
		"Accept":            "application/json",
	}
	if op.body != "" {
		wantHeaders["Content-Type"] = "application/json"
	}
	for k, v := range wantHeaders {
		if got := r.Header.Get(k); got != v {
			t.Errorf("header %s = %q; want %q", k, got, v)
		}
	}
	if op.body == "" && r.Header.Get("Content-Type") != "" {
		t.Errorf("Content-Type %q sent without a body", r.Header.Get("Content-Type"))
	}
}

func checkValue(t *testing.T, got, want any) {
	t.Helper()
	switch v := got.(type) {
	case *Session:
		if v.ID != want {
			t.Errorf("session ID %q; want %v", v.ID, want)
		}
	case *SessionList:
		if want == nil && len(v.Data) != 0 || want != nil && (len(v.Data) != 1 || v.Data[0].ID != want) {
			t.Errorf("list %+v; want one session %v", v.Data, want)
		}
	case *SessionToken:
		if !reflect.DeepEqual(v, want) {
			t.Errorf("token %+v; want %+v", v, want)
		}
	default:
		t.Fatalf("unexpected result type %T", got)
	}
}

func TestSessionDecodesEveryField(t *testing.T) {
	c, _, _ := newFakeClient(t, Config{}, func(_ int, w http.ResponseWriter, _ *http.Request) { answer(w, 200, sessionJSON) })
	s, err := c.Get(t.Context(), "sess_2abc")
	if err != nil {
		t.Fatal(err)
	}
	want := &Session{
		Object: "session", ID: "sess_2abc", UserID: "user_2xyz", ClientID: "client_2def",
		Actor:  map[string]any{"sub": "user_2admin", "iss": "https://dashboard.clerk.com"},
		Status: SessionActive, LastActiveOrganizationID: "org_2ghi", LastActiveAt: 1716969000000,
		LatestActivity: &SessionActivity{
			Object: "session_activity", ID: "sess_activity_1", DeviceType: "Macintosh", BrowserName: "Chrome",
			BrowserVersion: "125.0.0.0", IPAddress: "203.0.113.7", City: "Lisbon", Country: "PT",
		},
		ExpireAt: 1716969600000, AbandonAt: 1719475200000, UpdatedAt: 1716969000123, CreatedAt: 1716960000000,
		Tasks: []SessionTask{{Key: "choose-organization"}},
	}
	if !reflect.DeepEqual(s, want) {
		t.Errorf("session\n got %+v\nwant %+v", s, want)
	}
	times := map[string][2]time.Time{
		"LastActiveTime": {s.LastActiveTime(), time.Date(2024, 5, 29, 7, 50, 0, 0, time.UTC)},
		"ExpireTime":     {s.ExpireTime(), time.Date(2024, 5, 29, 8, 0, 0, 0, time.UTC)},
		"AbandonTime":    {s.AbandonTime(), time.Date(2024, 6, 27, 8, 0, 0, 0, time.UTC)},
		"UpdatedTime":    {s.UpdatedTime(), time.Date(2024, 5, 29, 7, 50, 0, 123e6, time.UTC)},
		"CreatedTime":    {s.CreatedTime(), time.Date(2024, 5, 29, 5, 20, 0, 0, time.UTC)},
	}
	for name, gw := range times {
		if !gw[0].Equal(gw[1]) {
			t.Errorf("%s = %v; want %v", name, gw[0], gw[1])
		}
	}
}

func TestSessionNullsAndZeroTimes(t *testing.T) {
	var s Session
	if err := json.Unmarshal([]byte(minimalSession("sess_1")), &s); err != nil {
		t.Fatal(err)
	}
	if s.Actor != nil || s.LatestActivity != nil || s.Tasks != nil || s.LastActiveOrganizationID != "" {
		t.Errorf("nulls decoded as %+v", s)
	}
	if !(&Session{}).ExpireTime().IsZero() {
		t.Error("ExpireTime of an unset ExpireAt is not the zero time")
	}
}

func TestSessionAnswerWithoutID(t *testing.T) {
	for _, body := range []string{`{}`, `null`, `{"object":"session"}`, `not json`, ``} {
		c, _, _ := newFakeClient(t, Config{}, func(_ int, w http.ResponseWriter, _ *http.Request) { answer(w, 200, body) })
		if s, err := c.Get(t.Context(), "sess_1"); err == nil || !errors.Is(err, ErrUnexpectedResponse) || !strings.Contains(err.Error(), "get session") {
			t.Errorf("body %q: got %+v, %v; want an unexpected answer error", body, s, err)
		}
	}
}

func TestDecodeSessionList(t *testing.T) {
	tests := []struct {
		name      string
		body      string
		wantIDs   []string
		wantTotal int64
		wantErr   bool
	}{
		{"paginated", `{"data":[` + minimalSession("a") + `,` + minimalSession("b") + `],"total_count":7}`, []string{"a", "b"}, 7, false},
		{"paginated without total", `{"data":[` + minimalSession("a") + `]}`, []string{"a"}, -1, false},
		{"bare array", ` [` + minimalSession("a") + `,null]`, []string{"a"}, -1, false},
		{"empty array", `[]`, nil, -1, false},
		{"object without data", `{"total_count":3}`, nil, 0, true},
		{"garbage", `<html>`, nil, 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			list, err := decodeSessionList([]byte(tt.body))
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v; want error %v", err, tt.wantErr)
			}
			if err != nil {
				return
			}
			var ids []string
			for _, s := range list.Data {
				ids = append(ids, s.ID)
			}
			if !reflect.DeepEqual(ids, tt.wantIDs) || list.TotalCount != tt.wantTotal {
				t.Errorf("got %v total %d; want %v total %d", ids, list.TotalCount, tt.wantIDs, tt.wantTotal)
			}
		})
	}
}

func TestInvalidArgumentsSendNothing(t *testing.T) {
	ctx := t.Context()
	tests := []struct {
		name string
		call func(c *SessionsClient) error
	}{
		{"empty ID", func(c *SessionsClient) error { _, err := c.Get(ctx, ""); return err }},
		{"limit -1", func(c *SessionsClient) error { _, err := c.List(ctx, ListSessionsParams{Limit: -1}); return err }},
		{"limit 501", func(c *SessionsClient) error { _, err := c.List(ctx, ListSessionsParams{Limit: 501}); return err }},
		{"offset -1", func(c *SessionsClient) error { _, err := c.List(ctx, ListSessionsParams{Offset: -1}); return err }},
		{"pending filter", func(c *SessionsClient) error {
			_, err := c.List(ctx, ListSessionsParams{UserID: "u", Status: SessionPending})
			return err
		}},
		{"unknown status", func(c *SessionsClient) error { _, err := c.List(ctx, ListSessionsParams{Status: "Active"}); return err }},
		{"All with limit 501", func(c *SessionsClient) error {
			for _, err := range c.All(ctx, ListSessionsParams{Limit: 501}) {
				return err
			}
			return nil
		}},
		{"lifetime 29", func(c *SessionsClient) error {
			_, err := c.CreateToken(ctx, "sess_1", CreateTokenParams{ExpiresInSeconds: MinExpiresInSeconds - 1})
			return err
		}},
		{"lifetime too long", func(c *SessionsClient) error {
			_, err := c.CreateToken(ctx, "sess_1", CreateTokenParams{ExpiresInSeconds: MaxExpiresInSeconds + 1})
			return err
		}},
		{"negative lifetime", func(c *SessionsClient) error {
			_, err := c.CreateTokenFromTemplate(ctx, "sess_1", "t", CreateTokenParams{ExpiresInSeconds: -1})
			return err
		}},
		{"template dot segment", func(c *SessionsClient) error {
			_, err := c.CreateTokenFromTemplate(ctx, "sess_1", "..", CreateTokenParams{})
			return err
		}},
		{"empty verify token", func(c *SessionsClient) error {
			_, err := c.Verify(ctx, "sess_1", "") //nolint:staticcheck // tested on purpose
			return err
		}},
		{"oversized verify token", func(c *SessionsClient) error {
			_, err := c.Verify(ctx, "sess_1", strings.Repeat("a", MaxTokenSize+1)) //nolint:staticcheck // tested on purpose
			return err
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, api, _ := newFakeClient(t, Config{}, func(_ int, w http.ResponseWriter, _ *http.Request) { answer(w, 200, "{}") })
			err := tt.call(c)
			if !errors.Is(err, ErrInvalidArgument) {
				t.Errorf("err = %v; want ErrInvalidArgument", err)
			}
			if n := len(api.requests()); n != 0 {
				t.Errorf("%d requests sent; want none", n)
			}
		})
	}
}

func TestListLimitBoundsAccepted(t *testing.T) {
	for _, limit := range []int{1, MaxListLimit} {
		c, api, _ := newFakeClient(t, Config{}, func(_ int, w http.ResponseWriter, _ *http.Request) { answer(w, 200, "[]") })
		if _, err := c.List(t.Context(), ListSessionsParams{UserID: "user_1", Limit: limit}); err != nil {
			t.Fatalf("limit %d: %v", limit, err)
		}
		if got := api.requests()[0].Query.Get("limit"); got != fmt.Sprint(limit) {
			t.Errorf("limit sent %q; want %d", got, limit)
		}
	}
}

func TestPathSegment(t *testing.T) {
	tests := []struct {
		in, want string // want "" means rejected
	}{
		{"sess_2abc", "sess_2abc"},
		{"a b", "a%20b"},
		{"a.b", "a.b"},
		{"...", "..."},
		{"a%b", "a%25b"},
		{"", ""},
		{".", ""},
		{"..", ""},
		{"a/b", ""},
		{`a\b`, ""},
		{"a\nb", ""},
		{"a\x7f", ""},
		{"%2e", ""},
		{"%2E%2e", ""},
		{"%252e%252e", ""},
		{"%25252E%25252E", ""},
		{"a%2Fb", ""},
		{"a%255Cb", ""},
		{"a%0Ab", ""},
		{encodeTimes("..", 10), ""},
		{encodeTimes("..", 12), ""},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := pathSegment("op", "ID", tt.in)
			if tt.want == "" {
				if !errors.Is(err, ErrInvalidArgument) {
					t.Errorf("pathSegment(%q) = %q, %v; want ErrInvalidArgument", tt.in, got, err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Errorf("pathSegment(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
			}
		})
	}
}

// encodeTimes percent-encodes every byte of s, n times over.
func encodeTimes(s string, n int) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		fmt.Fprintf(&b, "%%%02X", s[i])
	}
	s = b.String()
	for range n - 1 {
		s = strings.ReplaceAll(s, "%", "%25")
	}
	return s
}

func TestSessionTokenStringRedacts(t *testing.T) {
	tok := SessionToken{Object: "token", JWT: "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ1In0.c2ln"}
	for _, s := range []string{tok.String(), fmt.Sprint(tok), fmt.Sprintf("%v", &tok)} {
		if strings.Contains(s, "eyJzdWIi") || !strings.Contains(s, "eyJhbGc…") {
			t.Errorf("printed token %q is not redacted", s)
		}
	}
}

func TestConcurrentUse(t *testing.T) {
	c, api, _ := newFakeClient(t, Config{}, func(_ int, w http.ResponseWriter, r *http.Request) {
		answer(w, 200, minimalSession(strings.TrimPrefix(r.URL.Path, "/v1/sessions/")))
	})
	var wg sync.WaitGroup
	for i := range 16 {
		wg.Go(func() {
			id := fmt.Sprintf("sess_%d", i)
			if s, err := c.Get(t.Context(), id); err != nil || s.ID != id {
				t.Errorf("Get(%s) = %v, %v", id, s, err)
			}
		})
	}
	wg.Wait()
	if n := len(api.requests()); n != 16 {
		t.Errorf("%d requests; want 16", n)
	}
}
