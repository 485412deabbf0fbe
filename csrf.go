package clerkauth

import (
	"net/http"
	"net/url"
)

// A session cookie is sent by the browser with every request to the site,
// whoever made the page that sends it; the azp claim names the origin the
// token was minted for, not the origin of the request, so it does not stop
// a cross-site request forgery. The middleware therefore refuses unsafe
// requests authenticated by a cookie unless the browser says they are
// same-origin, with the rules of Go's http.CrossOriginProtection, applied
// here to the transport-neutral credentials.

// trustedOrigins is a set of origins ("scheme://host[:port]") allowed to
// send cross-origin requests authenticated by a cookie.
type trustedOrigins map[string]bool

// newTrustedOrigins validates origins as
// http.CrossOriginProtection.AddTrustedOrigin does.
func newTrustedOrigins(origins []string) (trustedOrigins, error) {
	if len(origins) == 0 {
		return nil, nil
	}
	set := make(trustedOrigins, len(origins))
	for _, o := range origins {
		u, err := url.Parse(o)
		switch {
		case err != nil:
			return nil, configError("%s: invalid origin "+quoted(o), "TrustedOrigins")
		case u.Scheme == "" || u.Host == "":
			return nil, configError("%s: origin "+quoted(o)+" needs a scheme and a host", "TrustedOrigins")
		case u.Path != "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil:
			return nil, configError("%s: origin "+quoted(o)+" may hold only scheme://host[:port]", "TrustedOrigins")
		}
		set[o] = true
	}
	return set, nil
}

// isSafeMethod reports whether method is one that
// http.CrossOriginProtection always allows (case-sensitive, as there).
func isSafeMethod(method string) bool {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
		return true
	}
	return false
}

// checkCrossOrigin returns an error matching ErrCrossOriginRequest when in
// is a cross-origin request with an unsafe method, by the rules of
// http.CrossOriginProtection.Check: safe methods pass; then Sec-Fetch-Site
// decides when present ("same-origin" and "none" pass); without it, a
// request without Origin passes (same-origin or not a browser), as does one
// whose Origin's host is the request's Host; a trusted Origin passes any
// cross-origin check. Stricter than http.CrossOriginProtection in one case:
// an Origin without a host ("null") never matches, even an empty Host (a
// transport that does not know it).
func (m *Middleware) checkCrossOrigin(in *credentials) error {
	if isSafeMethod(in.method) {
		return nil
	}
	switch in.get("Sec-Fetch-Site") {
	case "":
	case "same-origin", "none":
		return nil
	default:
		return m.unlessTrusted(in, "the browser reports a cross-origin request (Sec-Fetch-Site)")
	}
	origin := in.get("Origin")
	if origin == "" {
		return nil
	}
	if o, err := url.Parse(origin); err == nil && o.Host != "" && o.Host == in.host {
		return nil // an empty Host is unknown: it matches no Origin, not even "null"
	}
	return m.unlessTrusted(in, "the request's Origin does not match its Host")
}

// unlessTrusted refuses in with msg unless its Origin is trusted.
func (m *Middleware) unlessTrusted(in *credentials, msg string) error {
	if origin := in.get("Origin"); origin != "" && m.trusted[origin] {
		return nil
	}
	return &middlewareError{class: ErrCrossOriginRequest,
		msg: "cross-origin request authenticated by a session cookie refused: " + msg}
}
