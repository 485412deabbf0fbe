package clerktest

import (
	"crypto/subtle"
	"net/http"
	"time"
)

// API versions that matter to the server.
const (
	// APIVersionInitial is the version a request without any version is
	// served as.
	APIVersionInitial = "2021-02-05"
	// APIVersionVerifyRemoved is the first version without
	// POST /sessions/{id}/verify.
	APIVersionVerifyRemoved = "2025-04-10"
)

func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	s.handle(mux, "GET /.well-known/jwks.json", EndpointFrontendJWKS, false, s.serveJWKS)
	s.handle(mux, "GET /v1/jwks", EndpointAPIJWKS, true, s.serveJWKS)
	s.handle(mux, "GET /v1/sessions", EndpointSessionList, true, s.listSessions)
	s.handle(mux, "POST /v1/sessions", EndpointSessionCreate, true, s.createSession)
	s.handle(mux, "GET /v1/sessions/{id}", EndpointSessionGet, true, s.getSession)
	s.handle(mux, "POST /v1/sessions/{id}/revoke", EndpointSessionRevoke, true, s.revokeSession)
	s.handle(mux, "POST /v1/sessions/{id}/verify", EndpointSessionVerify, true, s.verifySession)
	s.handle(mux, "POST /v1/sessions/{id}/tokens", EndpointSessionToken, true, s.createToken)
	s.handle(mux, "POST /v1/sessions/{id}/tokens/{template}", EndpointSessionTemplateToken, true, s.createToken)
	s.machineRoutes(mux)
	s.handle(mux, "/", EndpointOther, false, func(w http.ResponseWriter, r *http.Request) {
		writeHTTPError(w, errNotFound("The requested resource "+r.Method+" "+r.URL.Path+" was not found"))
	})
	return mux
}

// handle registers h for pattern behind the request counter, the fault
// injector and, for Backend API routes, the secret key and API version
// checks.
func (s *Server) handle(mux *http.ServeMux, pattern string, route Endpoint, backend bool, h http.HandlerFunc) {
	mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		if f, ok := s.arrive(route); ok && s.applyFault(w, r, route, f) {
			return
		}
		if backend {
			if e := s.checkBackendRequest(r); e != nil {
				writeHTTPError(w, e)
				return
			}
		}
		h(w, r)
	})
}

func (s *Server) checkBackendRequest(r *http.Request) *httpError {
	if e := s.checkSecretKey(r.Header.Get("Authorization")); e != nil {
		return e
	}
	_, e := apiVersion(r)
	return e
}

// checkSecretKey accepts "Bearer <secret key>" (scheme case-insensitive).
func (s *Server) checkSecretKey(auth string) *httpError {
	key, e := bearerKey(auth)
	if e != nil {
		return e
	}
	if subtle.ConstantTimeCompare([]byte(key), []byte(s.secretKey)) != 1 {
		return errKeyInvalid()
	}
	return nil
}

// apiVersion returns the request's API version, from the Clerk-API-Version
// header or the __clerk_api_version query parameter (never both), or
// APIVersionInitial when there is none.
func apiVersion(r *http.Request) (string, *httpError) {
	h := r.Header.Get("Clerk-API-Version")
	q := r.URL.Query().Get("__clerk_api_version")
	if h != "" && q != "" {
		return "", errBadRequest("api_version_invalid",
			"Specify the API version either in the Clerk-API-Version header or in the __clerk_api_version query parameter, not both.")
	}
	v := h + q
	if v == "" {
		return APIVersionInitial, nil
	}
	if _, err := time.Parse(time.DateOnly, v); err != nil || v < APIVersionInitial {
		return "", errBadRequest("api_version_invalid", "Invalid API version "+quoteShort(v)+".")
	}
	return v, nil
}

func quoteShort(s string) string {
	if len(s) > 32 {
		s = s[:32] + "…"
	}
	return `"` + s + `"`
}

func (s *Server) serveJWKS(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, s.keySet())
}

func (s *Server) getSession(w http.ResponseWriter, r *http.Request) {
	sess, e := s.findSession(r.PathValue("id"))
	if e != nil {
		writeHTTPError(w, e)
		return
	}
	writeJSON(w, http.StatusOK, s.resource(sess))
}

func (s *Server) findSession(id string) (*Session, *httpError) {
	sess, err := s.Session(id)
	if err != nil {
		return nil, errNotFound("No session was found with id " + id)
	}
	return sess, nil
}

func (s *Server) revokeSession(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if err := s.RevokeSession(id); err != nil {
		writeHTTPError(w, errNotFound("No session was found with id "+id))
		return
	}
	sess, _ := s.Session(id)
	writeJSON(w, http.StatusOK, s.resource(sess))
}

// verifySession serves the deprecated POST /sessions/{id}/verify: the
// session must be active and the optional token a valid, unexpired token
// of this session signed with a published key.
func (s *Server) verifySession(w http.ResponseWriter, r *http.Request) {
	if v, _ := apiVersion(r); v >= APIVersionVerifyRemoved {
		writeHTTPError(w, errDeprecated(v))
		return
	}
	sess, e := s.findSession(r.PathValue("id"))
	if e == nil {
		e = s.checkVerifyRequest(r, sess)
	}
	if e != nil {
		writeHTTPError(w, e)
		return
	}
	writeJSON(w, http.StatusOK, s.resource(sess))
}

func (s *Server) checkVerifyRequest(r *http.Request, sess *Session) *httpError {
	params, e := bodyParams(r)
	if e != nil {
		return e
	}
	token, e := stringParam(params, "token")
	if e != nil {
		return e
	}
	if token != "" {
		if err := s.verifyToken(token, sess.ID); err != nil {
			return errBadRequest("invalid_session_token", "The token provided could not be successfully verified: "+err.Error())
		}
	}
	if sess.Status != StatusActive {
		return errBadRequest("session_not_active", "Session "+sess.ID+" is not active (status "+sess.Status+").")
	}
	return nil
}

func (s *Server) createToken(w http.ResponseWriter, r *http.Request) {
	id, template := r.PathValue("id"), r.PathValue("template")
	sess, e := s.findSession(id)
	if e == nil && sess.Status != StatusActive && sess.Status != StatusPending {
		e = errNotFound("Session " + id + " is not active (status " + sess.Status + ")")
	}
	if _, ok := s.template(template); e == nil && template != "" && !ok {
		e = errNotFound("JWT template not found: no JWT template exists with name " + template)
	}
	var opts []TokenOption
	if e == nil {
		opts, e = tokenRequestOptions(r, template)
	}
	if e != nil {
		writeHTTPError(w, e)
		return
	}
	jwt, err := s.Token(id, opts...)
	if err != nil {
		writeError(w, http.StatusInternalServerError, apiError{Message: "token minting failed", LongMessage: err.Error(), Code: "internal_clerk_error"})
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"object": "token", "jwt": jwt})
}

const (
	minExpiresIn = 30
	maxExpiresIn = 315360000
)

func tokenRequestOptions(r *http.Request, template string) ([]TokenOption, *httpError) {
	params, e := bodyParams(r)
	if e != nil {
		return nil, e
	}
	secs, e := intParam(params, "expires_in_seconds")
	if e != nil {
		return nil, e
	}
	var opts []TokenOption
	if template != "" {
		opts = append(opts, WithTemplate(template))
	}
	if secs != nil {
		if *secs < minExpiresIn || *secs > maxExpiresIn {
			return nil, errParamInvalid("expires_in_seconds", "expires_in_seconds must be between 30 and 315360000.")
		}
		opts = append(opts, WithLifetime(time.Duration(*secs)*time.Second))
	}
	return opts, nil
}

func (s *Server) createSession(w http.ResponseWriter, r *http.Request) {
	p, e := s.createSessionParams(r)
	if e != nil {
		writeHTTPError(w, e)
		return
	}
	sess := s.CreateSession(p)
	writeJSON(w, http.StatusOK, s.resource(sess))
}

func (s *Server) createSessionParams(r *http.Request) (SessionParams, *httpError) {
	params, e := bodyParams(r)
	if e != nil {
		return SessionParams{}, e
	}
	userID, e := stringParam(params, "user_id")
	if e == nil && userID == "" {
		e = errParamMissing("user_id")
	}
	orgID, e2 := stringParam(params, "active_organization_id")
	if e == nil {
		e = e2
	}
	if e != nil {
		return SessionParams{}, e
	}
	if _, err := s.User(userID); err != nil {
		return SessionParams{}, errNotFound("No user was found with id " + userID)
	}
	p := SessionParams{UserID: userID}
	if orgID != "" {
		m, ok := s.membership(userID, orgID)
		if !ok {
			return SessionParams{}, errNotFound("No organization membership was found for user " + userID + " in " + orgID)
		}
		p.Org = &m
	}
	return p, nil
}

func (s *Server) membership(userID, orgID string) (OrgMembership, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m, ok := s.st.memberships[userID][orgID]
	return m, ok
}
