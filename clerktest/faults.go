package clerktest

import (
	"net/http"
	"slices"
	"strconv"
	"time"
)

// Endpoint names a route of the server, or a group of routes, for faults
// and request counters.
type Endpoint string

// Routes of the server.
const (
	EndpointAPIJWKS              Endpoint = "GET /v1/jwks"
	EndpointFrontendJWKS         Endpoint = "GET /.well-known/jwks.json"
	EndpointSessionList          Endpoint = "GET /v1/sessions"
	EndpointSessionCreate        Endpoint = "POST /v1/sessions"
	EndpointSessionGet           Endpoint = "GET /v1/sessions/{id}"
	EndpointSessionRevoke        Endpoint = "POST /v1/sessions/{id}/revoke"
	EndpointSessionVerify        Endpoint = "POST /v1/sessions/{id}/verify"
	EndpointSessionToken         Endpoint = "POST /v1/sessions/{id}/tokens"
	EndpointSessionTemplateToken Endpoint = "POST /v1/sessions/{id}/tokens/{template}"

	// Machine authentication routes. Each is served both under /v1 and
	// without it (Clerk's JS SDK calls the M2M token, API key and OAuth
	// token routes without /v1); the two count as one Endpoint.
	EndpointMachineList            Endpoint = "GET /v1/machines"
	EndpointMachineCreate          Endpoint = "POST /v1/machines"
	EndpointMachineGet             Endpoint = "GET /v1/machines/{id}"
	EndpointMachineUpdate          Endpoint = "PATCH /v1/machines/{id}"
	EndpointMachineDelete          Endpoint = "DELETE /v1/machines/{id}"
	EndpointMachineSecretKey       Endpoint = "GET /v1/machines/{id}/secret_key"
	EndpointMachineSecretKeyRotate Endpoint = "POST /v1/machines/{id}/secret_key/rotate"
	EndpointMachineScopeCreate     Endpoint = "POST /v1/machines/{id}/scopes"
	EndpointMachineScopeDelete     Endpoint = "DELETE /v1/machines/{id}/scopes/{other}"
	EndpointM2MCreate              Endpoint = "POST /v1/m2m_tokens"
	EndpointM2MList                Endpoint = "GET /v1/m2m_tokens"
	EndpointM2MVerify              Endpoint = "POST /v1/m2m_tokens/verify"
	EndpointM2MRevoke              Endpoint = "POST /v1/m2m_tokens/{id}/revoke"
	EndpointAPIKeyList             Endpoint = "GET /v1/api_keys"
	EndpointAPIKeyCreate           Endpoint = "POST /v1/api_keys"
	EndpointAPIKeyGet              Endpoint = "GET /v1/api_keys/{id}"
	EndpointAPIKeySecret           Endpoint = "GET /v1/api_keys/{id}/secret"
	EndpointAPIKeyRevoke           Endpoint = "POST /v1/api_keys/{id}/revoke"
	EndpointAPIKeyVerify           Endpoint = "POST /v1/api_keys/verify"
	EndpointOAuthTokenVerify       Endpoint = "POST /v1/oauth_applications/access_tokens/verify"

	// EndpointOther is any request that matches no route.
	EndpointOther Endpoint = "other"
)

// Groups of routes.
const (
	// EndpointJWKS is both JWKS routes.
	EndpointJWKS Endpoint = "jwks"
	// EndpointSessions is every /v1/sessions route.
	EndpointSessions Endpoint = "sessions"
	// EndpointMachines is every /v1/machines route.
	EndpointMachines Endpoint = "machines"
	// EndpointM2MTokens is every /v1/m2m_tokens route.
	EndpointM2MTokens Endpoint = "m2m_tokens"
	// EndpointAPIKeys is every /v1/api_keys route.
	EndpointAPIKeys Endpoint = "api_keys"
	// EndpointMachineVerify is the three machine token verification routes:
	// M2M tokens, API keys and OAuth access tokens.
	EndpointMachineVerify Endpoint = "machine_verify"
	// EndpointAll is every request.
	EndpointAll Endpoint = "all"
)

var sessionRoutes = []Endpoint{EndpointSessionList, EndpointSessionCreate, EndpointSessionGet,
	EndpointSessionRevoke, EndpointSessionVerify, EndpointSessionToken, EndpointSessionTemplateToken}

var machineRoutes = []Endpoint{EndpointMachineList, EndpointMachineCreate, EndpointMachineGet,
	EndpointMachineUpdate, EndpointMachineDelete, EndpointMachineSecretKey, EndpointMachineSecretKeyRotate,
	EndpointMachineScopeCreate, EndpointMachineScopeDelete}

var m2mRoutes = []Endpoint{EndpointM2MCreate, EndpointM2MList, EndpointM2MVerify, EndpointM2MRevoke}

var apiKeyRoutes = []Endpoint{EndpointAPIKeyList, EndpointAPIKeyCreate, EndpointAPIKeyGet,
	EndpointAPIKeySecret, EndpointAPIKeyRevoke, EndpointAPIKeyVerify}

var verifyRoutes = []Endpoint{EndpointM2MVerify, EndpointAPIKeyVerify, EndpointOAuthTokenVerify}

// covers reports whether the endpoint or group e includes route r.
func (e Endpoint) covers(r Endpoint) bool {
	switch e {
	case EndpointAll:
		return true
	case EndpointJWKS:
		return r == EndpointAPIJWKS || r == EndpointFrontendJWKS
	case EndpointSessions:
		return slices.Contains(sessionRoutes, r)
	case EndpointMachines:
		return slices.Contains(machineRoutes, r)
	case EndpointM2MTokens:
		return slices.Contains(m2mRoutes, r)
	case EndpointAPIKeys:
		return slices.Contains(apiKeyRoutes, r)
	case EndpointMachineVerify:
		return slices.Contains(verifyRoutes, r)
	}
	return e == r
}

func (e Endpoint) isJWKS() bool { return EndpointJWKS.covers(e) }

// Fault describes how an endpoint misbehaves; it is a plain value. Its effects apply in this
// order: Delay, then Down, Status (or RetryAfter), MalformedBody,
// EmptyKeys; a Fault with only Delay set slows normal answers down.
type Fault struct {
	// Down closes the connection without an answer (the handler panics with
	// http.ErrAbortHandler, which net/http servers treat as an abort).
	Down bool
	// Delay holds the answer back; it ends early, with no answer, when the
	// request's context ends or the server closes.
	Delay time.Duration
	// Status answers with this status and a Clerk error body (5xx:
	// internal_clerk_error, 429: too_many_requests, …).
	Status int
	// RetryAfter sets a Retry-After header (whole seconds, rounded up); with
	// no Status it implies 429.
	RetryAfter time.Duration
	// EmptyKeys answers the JWKS routes with {"keys":[]}.
	EmptyKeys bool
	// MalformedBody answers 200 with a truncated JSON body.
	MalformedBody bool
	// Times limits the fault to this many requests; 0 means until cleared.
	Times int
}

type faultEntry struct {
	ep   Endpoint
	f    Fault
	left int
}

// SetFault makes ep (a route or a group) misbehave as f, replacing an
// earlier fault set for the same ep. A zero Fault clears it. When faults of
// several groups cover a route, the most recently set one applies.
func (s *Server) SetFault(ep Endpoint, f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.st.faults = slices.DeleteFunc(s.st.faults, func(e *faultEntry) bool { return e.ep == ep })
	if f != (Fault{}) {
		s.st.faults = append(s.st.faults, &faultEntry{ep: ep, f: f, left: f.Times})
	}
}

// ClearFaults removes every fault.
func (s *Server) ClearFaults() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.st.faults = nil
}

// Requests returns how many requests route or group ep has received,
// whatever their outcome (faulted and unauthorized ones included).
func (s *Server) Requests(ep Endpoint) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for r, c := range s.st.counts {
		if ep.covers(r) {
			n += c
		}
	}
	return n
}

// ResetRequests sets every request counter back to zero.
func (s *Server) ResetRequests() {
	s.mu.Lock()
	defer s.mu.Unlock()
	clear(s.st.counts)
}

// arrive counts a request to route r and returns the fault to apply, if
// any, using one of its Times.
func (s *Server) arrive(r Endpoint) (Fault, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.st.counts[r]++
	for i := len(s.st.faults) - 1; i >= 0; i-- {
		e := s.st.faults[i]
		if !e.ep.covers(r) {
			continue
		}
		if e.left > 0 {
			if e.left--; e.left == 0 {
				s.st.faults = slices.Delete(s.st.faults, i, i+1)
			}
		}
		return e.f, true
	}
	return Fault{}, false
}

// applyFault carries out f and reports whether it answered the request.
func (s *Server) applyFault(w http.ResponseWriter, r *http.Request, route Endpoint, f Fault) bool {
	if f.Delay > 0 && !s.wait(r, f.Delay) {
		return true
	}
	switch {
	case f.Down:
		panic(http.ErrAbortHandler)
	case f.Status != 0 || f.RetryAfter > 0:
		writeFaultStatus(w, f)
	case f.MalformedBody:
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusOK)
		w.Write([]byte(`{"keys":[{"kty":"RSA","n":`))
	case f.EmptyKeys && route.isJWKS():
		writeJSON(w, http.StatusOK, jwks{Keys: []jwk{}})
	default:
		return false
	}
	return true
}

// wait sleeps for d and reports whether it did so to the end.
func (s *Server) wait(r *http.Request, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-r.Context().Done():
	case <-s.closing:
	}
	return false
}

func writeFaultStatus(w http.ResponseWriter, f Fault) {
	status := f.Status
	if status == 0 {
		status = http.StatusTooManyRequests
	}
	if f.RetryAfter > 0 {
		secs := int64((f.RetryAfter + time.Second - 1) / time.Second)
		w.Header().Set("Retry-After", strconv.FormatInt(secs, 10))
	}
	code, msg := faultCode(status)
	writeError(w, status, apiError{Message: msg, LongMessage: msg, Code: code})
}

func faultCode(status int) (code, msg string) {
	switch {
	case status == http.StatusTooManyRequests:
		return "too_many_requests", "Too many requests, retry later"
	case status >= 500:
		return "internal_clerk_error", "Oops, an unexpected error occurred"
	case status == http.StatusUnauthorized:
		return "authentication_invalid", "Unauthorized request"
	case status == http.StatusForbidden:
		return "authorization_invalid", "Unauthorized request"
	case status == http.StatusNotFound:
		return "resource_not_found", "not found"
	}
	return "fault_injected", http.StatusText(status)
}
