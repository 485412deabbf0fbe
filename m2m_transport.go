package clerkauth

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/clerkauth/clerkauth/internal/httpx"
)

// M2MTransportOptions configures [NewM2MTransport].
type M2MTransportOptions struct {
	// Origins are the receivers the token may be sent to, each a URL with
	// only a scheme, host and optional port, such as
	// "https://billing.internal" or "https://10.0.0.7:8443". Required. A
	// request to any other origin (a redirect to another host included) is
	// sent without the token. Only https is accepted, and http to a
	// loopback host.
	Origins []string

	// Base sends the requests. Default http.DefaultTransport.
	Base http.RoundTripper

	// InsecureAllowHTTP accepts http origins on hosts other than loopback.
	// The token then crosses the network in clear text: only for networks
	// where something else (a service mesh) encrypts the traffic.
	InsecureAllowHTTP bool
}

// M2MTransport is an [http.RoundTripper] that authenticates requests to its
// origins with an M2M token from an [M2MTokenSource]: it sends a copy of
// each request (the caller's is never modified) with
// "Authorization: Bearer <token>", replacing any Authorization the caller
// set. Requests to other origins pass through unchanged, without a token,
// so a redirect to another host never carries it.
//
// When a receiver answers 401 with a Bearer challenge whose error is
// "invalid_token" (RFC 6750 §3.1; what clerkauth's middleware sends for an
// expired, revoked or otherwise rejected token), the transport drops the
// token, gets a new one and sends the request once more, if the request is
// idempotent and can be sent again: method GET, HEAD, OPTIONS, TRACE, PUT
// or DELETE, and no body or one that GetBody can recreate (as
// [http.NewRequest] arranges for in-memory bodies). Otherwise, or when the
// source replaced a rejected token less than 10 s ago (a receiver that
// rejects every token cannot make the caller mint tokens without bound),
// the 401 is returned as it is. A 401 without error="invalid_token" (no
// token seen) and a 403 (a valid token without the needed rights) are
// never retried.
//
// The token is never logged; errors name the origin at most. An
// M2MTransport is safe for concurrent use by multiple goroutines.
type M2MTransport struct {
	source  *M2MTokenSource
	base    http.RoundTripper
	origins []origin
}

// origin is an allowed scheme, host and port, compared exactly (host
// case-insensitively, default ports made explicit).
type origin struct{ scheme, host, port string }

// NewM2MTransport returns a transport authenticating requests to
// opts.Origins with tokens from source. A configuration it cannot use
// yields an error matching [ErrInvalidConfig].
func NewM2MTransport(source *M2MTokenSource, opts M2MTransportOptions) (*M2MTransport, error) {
	if source == nil {
		return nil, fmt.Errorf("%w: M2MTransport needs a token source", ErrInvalidConfig)
	}
	if len(opts.Origins) == 0 {
		return nil, fmt.Errorf("%w: M2MTransportOptions.Origins is required: the token is sent to those origins only", ErrInvalidConfig)
	}
	t := &M2MTransport{source: source, base: opts.Base}
	if t.base == nil {
		t.base = http.DefaultTransport
	}
	for _, raw := range opts.Origins {
		o, err := parseOrigin(raw, opts.InsecureAllowHTTP)
		if err != nil {
			return nil, err
		}
		t.origins = append(t.origins, o)
	}
	return t, nil
}

// NewM2MHTTPClient returns an http.Client whose transport is
// NewM2MTransport(source, opts). It follows redirects as http.Client does;
// the token goes only to opts.Origins. Its Timeout is zero: set one, or
// give requests a context with a deadline.
func NewM2MHTTPClient(source *M2MTokenSource, opts M2MTransportOptions) (*http.Client, error) {
	t, err := NewM2MTransport(source, opts)
	if err != nil {
		return nil, err
	}
	return &http.Client{Transport: t}, nil
}

func parseOrigin(raw string, allowHTTP bool) (origin, error) {
	bad := func(why string) (origin, error) {
		return origin{}, fmt.Errorf("%w: origin %q %s", ErrInvalidConfig, httpx.Excerpt([]byte(raw), 100), why)
	}
	u, err := url.Parse(raw)
	switch {
	case err != nil || u.Host == "" || u.Opaque != "":
		return bad("is not an absolute URL")
	case u.User != nil || u.RawQuery != "" || u.ForceQuery || u.Fragment != "" || (u.Path != "" && u.Path != "/"):
		return bad("must hold only a scheme, a host and a port")
	case u.Scheme == "https":
	case u.Scheme == "http" && (allowHTTP || httpx.IsLoopbackHost(u.Hostname())):
	case u.Scheme == "http":
		return bad("uses http: the token would cross the network in clear text (InsecureAllowHTTP allows it)")
	default:
		return bad("must use https")
	}
	return origin{scheme: u.Scheme, host: strings.ToLower(u.Hostname()), port: portOf(u)}, nil
}

// portOf returns u's port, or the default port of its scheme.
func portOf(u *url.URL) string {
	if p := u.Port(); p != "" {
		return p
	}
	switch strings.ToLower(u.Scheme) {
	case "https":
		return "443"
	case "http":
		return "80"
	}
	return ""
}

// allowed reports whether u is one of t's origins. It does not allocate.
func (t *M2MTransport) allowed(u *url.URL) bool {
	if u == nil {
		return false
	}
	host, port := u.Hostname(), portOf(u)
	for _, o := range t.origins {
		if strings.EqualFold(u.Scheme, o.scheme) && strings.EqualFold(host, o.host) && port == o.port {
			return true
		}
	}
	return false
}

// RoundTrip sends req, with the token when its URL is one of the origins.
func (t *M2MTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if !t.allowed(req.URL) {
		return t.base.RoundTrip(req)
	}
	h, err := t.source.current(req.Context())
	if err != nil {
		closeBody(req)
		return nil, err
	}
	resp, err := t.base.RoundTrip(withAuthorization(req, h.authz))
	if err != nil || resp.StatusCode != http.StatusUnauthorized || !replayable(req) ||
		!invalidTokenChallenge(resp.Header.Values("Www-Authenticate")) {
		return resp, err
	}
	return t.retry(req, resp, h)
}

// retry sends req again with a new token after resp rejected h's, or
// returns resp when no new token can be had.
func (t *M2MTransport) retry(req *http.Request, resp *http.Response, h *heldToken) (*http.Response, error) {
	next, ok := t.source.renew(req.Context(), h)
	if !ok {
		return resp, nil
	}
	again := withAuthorization(req, next.authz)
	if req.GetBody != nil && req.Body != nil && req.Body != http.NoBody {
		body, err := req.GetBody()
		if err != nil {
			return resp, nil
		}
		again.Body = body
	}
	httpx.DrainAndClose(resp.Body)
	return t.base.RoundTrip(again)
}

// withAuthorization returns a shallow copy of req with its own header map
// holding authz as the only Authorization value. The header values are
// shared with req, which RoundTrippers never modify.
func withAuthorization(req *http.Request, authz string) *http.Request {
	r := new(http.Request)
	*r = *req
	r.Header = make(http.Header, len(req.Header)+1)
	for k, v := range req.Header {
		r.Header[k] = v
	}
	r.Header["Authorization"] = []string{authz}
	return r
}

// replayable reports whether req may be sent a second time: an idempotent
// method (RFC 9110 §9.2.2) and a body that is absent or can be recreated.
func replayable(req *http.Request) bool {
	switch req.Method {
	case "", http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodTrace, http.MethodPut, http.MethodDelete:
	default:
		return false
	}
	return req.Body == nil || req.Body == http.NoBody || req.GetBody != nil
}

func closeBody(req *http.Request) {
	if req.Body != nil {
		_ = req.Body.Close()
	}
}

// invalidTokenChallenge reports whether one of the WWW-Authenticate values
// holds a Bearer challenge with error="invalid_token". A value it cannot
// parse counts as no.
func invalidTokenChallenge(values []string) bool {
	for _, v := range values {
		if hasInvalidTokenParam(v) {
			return true
		}
	}
	return false
}

// hasInvalidTokenParam parses one header value as a list of challenges
// (RFC 9110 §11.6.1: scheme, then comma-separated name=value parameters).
func hasInvalidTokenParam(v string) bool {
	scheme := ""
	for {
		v = strings.TrimLeft(v, " \t,")
		if v == "" {
			return false
		}
		name, rest := readToken(v)
		if name == "" {
			return false
		}
		rest = strings.TrimLeft(rest, " \t")
		if !strings.HasPrefix(rest, "=") {
			scheme, v = name, rest // a new challenge
			continue
		}
		value, after, ok := readParamValue(strings.TrimLeft(rest[1:], " \t"))
		if !ok {
			return false
		}
		if strings.EqualFold(scheme, "Bearer") && strings.EqualFold(name, "error") && value == "invalid_token" {
			return true
		}
		v = after
	}
}

// readToken splits a leading RFC 9110 token off s.
func readToken(s string) (tok, rest string) {
	i := 0
	for i < len(s) && isTokenChar(s[i]) {
		i++
	}
	return s[:i], s[i:]
}

func isTokenChar(c byte) bool {
	switch {
	case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		return true
	}
	return strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0
}

// readParamValue reads a token or a quoted-string at the start of s.
func readParamValue(s string) (value, rest string, ok bool) {
	if !strings.HasPrefix(s, `"`) {
		tok, rest := readToken(s)
		return tok, rest, tok != ""
	}
	var b strings.Builder
	for i := 1; i < len(s); i++ {
		switch c := s[i]; c {
		case '"':
			return b.String(), s[i+1:], true
		case '\\':
			if i+1 < len(s) {
				i++
				b.WriteByte(s[i])
			}
		default:
			b.WriteByte(c)
		}
	}
	return "", "", false
}

var _ http.RoundTripper = (*M2MTransport)(nil)
