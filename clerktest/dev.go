package clerktest

import (
	"bytes"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// DevTokenResponse is the answer of the development routes of
// [Server.DevHandler]: a session and a fresh token for it. It is a plain
// value.
type DevTokenResponse struct {
	// SessionID is the session the token belongs to.
	SessionID string `json:"session_id"`
	// UserID is the session's user.
	UserID string `json:"user_id"`
	// OrgID is the session's active organization, or "".
	OrgID string `json:"org_id,omitempty"`
	// Token is the session token.
	Token string `json:"token"`
	// ExpiresAt is the token's exp.
	ExpiresAt time.Time `json:"expires_at"`
}

// DevSessionRequest is the body of POST /dev/sessions. Every field is
// optional. It is a plain value.
type DevSessionRequest struct {
	// UserID is the session's user; a user is created when empty or
	// unknown.
	UserID string `json:"user_id,omitempty"`
	// OrgID selects an organization the user already belongs to (through an
	// earlier session) as the active organization.
	OrgID string `json:"org_id,omitempty"`
	// Org describes the active organization and the user's membership of
	// it; it takes precedence over OrgID.
	Org *DevOrg `json:"org,omitempty"`
	// ExpiresInSeconds is the token's life; default Config.TokenLifetime.
	ExpiresInSeconds int `json:"expires_in_seconds,omitempty"`
}

// DevOrg is an organization membership in a [DevSessionRequest]; see
// [OrgMembership] for the meaning and defaults of its fields. It is a plain
// value.
type DevOrg struct {
	ID          string   `json:"id,omitempty"`
	Slug        string   `json:"slug,omitempty"`
	Role        string   `json:"role,omitempty"`
	Permissions []string `json:"permissions,omitempty"`
}

var devID = regexp.MustCompile(`^[A-Za-z0-9_-]{1,128}$`)

// DevHandler returns the server's handler (see [Server.Handler]) with
// development routes in front of it, for a local development server such
// as `clerkauth dev`:
//
//   - POST /dev/sessions with an optional JSON [DevSessionRequest] body
//     creates a session (and its user) and answers a [DevTokenResponse];
//   - POST /dev/token?session=sess_…[&expires_in_seconds=N] mints a fresh
//     token for an active or pending session and answers a
//     [DevTokenResponse], or the bare token with &format=text (for
//     TOKEN=$(curl …)).
//
// The development routes need no secret key: whoever reaches them can mint
// tokens. They refuse (403) requests whose Host is not a loopback address
// or localhost, against DNS rebinding, and requests with an Origin header
// that is not loopback, against cross-site requests from a browser. Serve
// DevHandler on loopback only and never in production. The handler is safe
// for concurrent use, like the Server.
func (s *Server) DevHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /dev/sessions", s.devOnly(s.devCreateSession))
	mux.HandleFunc("POST /dev/token", s.devOnly(s.devToken))
	mux.Handle("/dev/", s.devOnly(func(w http.ResponseWriter, r *http.Request) {
		writeHTTPError(w, errNotFound("The requested resource "+r.Method+" "+r.URL.Path+" was not found"))
	}))
	mux.Handle("/", s.handler)
	return mux
}

// devOnly refuses requests to the development routes that do not come
// from this machine's loopback, as far as their Host and Origin tell.
func (s *Server) devOnly(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if !loopbackHost(r.Host) || !loopbackOrigin(r.Header.Get("Origin")) {
			writeError(w, http.StatusForbidden, apiError{
				Message: "forbidden", Code: "dev_route_forbidden",
				LongMessage: "Development routes only answer requests to and from a loopback address.",
			})
			return
		}
		h(w, r)
	}
}

// loopbackHost reports whether hostport names localhost or a loopback IP.
func loopbackHost(hostport string) bool {
	host := hostport
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		host = h
	}
	host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func loopbackOrigin(origin string) bool {
	if origin == "" {
		return true
	}
	u, err := url.Parse(origin)
	return err == nil && u.Host != "" && loopbackHost(u.Host)
}

func (s *Server) devCreateSession(w http.ResponseWriter, r *http.Request) {
	var req DevSessionRequest
	p, e := s.devSessionParams(r, &req)
	if e != nil {
		writeHTTPError(w, e)
		return
	}
	sess := s.CreateSession(p)
	s.writeDevToken(w, r, sess.ID, req.ExpiresInSeconds)
}

// devSessionParams decodes and checks a DevSessionRequest into req and
// returns the session it asks for.
func (s *Server) devSessionParams(r *http.Request, req *DevSessionRequest) (SessionParams, *httpError) {
	if e := decodeDevBody(r, req); e != nil {
		return SessionParams{}, e
	}
	if req.UserID != "" && !devID.MatchString(req.UserID) {
		return SessionParams{}, errParamInvalid("user_id", "user_id may only hold letters, digits, '_' and '-'.")
	}
	p := SessionParams{UserID: req.UserID}
	switch {
	case req.Org != nil:
		org, err := normalizeOrg(OrgMembership{ID: req.Org.ID, Slug: req.Org.Slug, Role: req.Org.Role, Permissions: req.Org.Permissions})
		if err != nil {
			return p, errParamInvalid("org", err.Error())
		}
		if !devID.MatchString(org.ID) {
			return p, errParamInvalid("org.id", "org.id may only hold letters, digits, '_' and '-'.")
		}
		p.Org = &org
	case req.OrgID != "":
		m, ok := s.membership(req.UserID, req.OrgID)
		if !ok {
			return p, errNotFound("No organization membership was found for user " + req.UserID + " in " + req.OrgID)
		}
		p.Org = &m
	}
	return p, nil
}

func decodeDevBody(r *http.Request, v any) *httpError {
	b, err := io.ReadAll(io.LimitReader(r.Body, maxBodyBytes+1))
	if err != nil || len(b) > maxBodyBytes {
		return errBodyInvalid()
	}
	if len(bytes.TrimSpace(b)) == 0 {
		return nil
	}
	d := json.NewDecoder(bytes.NewReader(b))
	d.DisallowUnknownFields()
	if d.Decode(v) != nil {
		return errBodyInvalid()
	}
	return nil
}

func (s *Server) devToken(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	id := q.Get("session")
	if id == "" {
		writeHTTPError(w, errParamMissing("session"))
		return
	}
	secs := 0
	if v := q.Get("expires_in_seconds"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			writeHTTPError(w, errParamInvalid("expires_in_seconds", "expires_in_seconds must be an integer."))
			return
		}
		secs = n
	}
	s.writeDevToken(w, r, id, secs)
}

// writeDevToken mints a token for session id, as POST
// /v1/sessions/{id}/tokens would, and answers it.
func (s *Server) writeDevToken(w http.ResponseWriter, r *http.Request, id string, secs int) {
	sess, e := s.findSession(id)
	if e == nil && sess.Status != StatusActive && sess.Status != StatusPending {
		e = errNotFound("Session " + id + " is not active (status " + sess.Status + ")")
	}
	if e == nil && secs != 0 && (secs < minExpiresIn || secs > maxExpiresIn) {
		e = errParamInvalid("expires_in_seconds", "expires_in_seconds must be between 30 and 315360000.")
	}
	if e != nil {
		writeHTTPError(w, e)
		return
	}
	resp, err := s.devTokenResponse(sess, time.Duration(secs)*time.Second)
	if err != nil {
		writeError(w, http.StatusInternalServerError, apiError{Message: "token minting failed", LongMessage: err.Error(), Code: "internal_clerk_error"})
		return
	}
	if r.URL.Query().Get("format") == "text" {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		io.WriteString(w, resp.Token+"\n")
		return
	}
	writeJSON(w, http.StatusOK, resp)
}

func (s *Server) devTokenResponse(sess *Session, lifetime time.Duration) (DevTokenResponse, error) {
	var opts []TokenOption
	if lifetime > 0 {
		opts = append(opts, WithLifetime(lifetime))
	}
	token, err := s.Token(sess.ID, opts...)
	if err != nil {
		return DevTokenResponse{}, err
	}
	resp := DevTokenResponse{SessionID: sess.ID, UserID: sess.UserID, Token: token}
	if sess.Org != nil {
		resp.OrgID = sess.Org.ID
	}
	var claims struct {
		Exp int64 `json:"exp"`
	}
	if _, payload, ok := strings.Cut(token, "."); ok {
		payload, _, _ = strings.Cut(payload, ".")
		if decodeSegment(payload, &claims) == nil && claims.Exp != 0 {
			resp.ExpiresAt = time.Unix(claims.Exp, 0).UTC()
		}
	}
	return resp, nil
}
