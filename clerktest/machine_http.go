package clerktest

import (
	"crypto/subtle"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// authMode says which keys a machine-authentication route accepts.
type authMode int

const (
	authInstance          authMode = iota // the instance secret key only
	authMachine                           // a machine secret key only
	authInstanceOrMachine                 // either
)

// caller is who sent a Backend API request: the instance (machine "") or
// the machine whose secret key authenticated it.
type caller struct{ machine string }

type callerHandler func(w http.ResponseWriter, r *http.Request, c caller)

// machineRoutes registers the machine authentication routes, each both
// under /v1 (the OpenAPI server URL, used by Clerk's Go SDK) and without
// it (the "bapi-proxy" URLs Clerk's JS SDK uses for M2M tokens, API keys
// and OAuth access tokens); both count as the same Endpoint.
func (s *Server) machineRoutes(mux *http.ServeMux) {
	s.handleBoth(mux, "GET", "/machines", EndpointMachineList, authInstance, s.listMachines)
	s.handleBoth(mux, "POST", "/machines", EndpointMachineCreate, authInstance, s.createMachineHTTP)
	s.handleBoth(mux, "GET", "/machines/{id}", EndpointMachineGet, authInstance, s.getMachine)
	s.handleBoth(mux, "PATCH", "/machines/{id}", EndpointMachineUpdate, authInstance, s.updateMachine)
	s.handleBoth(mux, "DELETE", "/machines/{id}", EndpointMachineDelete, authInstance, s.deleteMachineHTTP)
	s.handleBoth(mux, "GET", "/machines/{id}/secret_key", EndpointMachineSecretKey, authInstance, s.getMachineSecretKey)
	s.handleBoth(mux, "POST", "/machines/{id}/secret_key/rotate", EndpointMachineSecretKeyRotate, authInstance, s.rotateMachineSecretKey)
	s.handleBoth(mux, "POST", "/machines/{id}/scopes", EndpointMachineScopeCreate, authInstance, s.createMachineScope)
	s.handleBoth(mux, "DELETE", "/machines/{id}/scopes/{other}", EndpointMachineScopeDelete, authInstance, s.deleteMachineScope)

	s.handleBoth(mux, "POST", "/m2m_tokens", EndpointM2MCreate, authMachine, s.createM2MTokenHTTP)
	s.handleBoth(mux, "GET", "/m2m_tokens", EndpointM2MList, authInstanceOrMachine, s.listM2MTokens)
	s.handleBoth(mux, "POST", "/m2m_tokens/verify", EndpointM2MVerify, authInstanceOrMachine, s.verifyM2MTokenHTTP)
	s.handleBoth(mux, "POST", "/m2m_tokens/{id}/revoke", EndpointM2MRevoke, authInstanceOrMachine, s.revokeM2MTokenHTTP)

	s.handleBoth(mux, "GET", "/api_keys", EndpointAPIKeyList, authInstance, s.listAPIKeys)
	s.handleBoth(mux, "POST", "/api_keys", EndpointAPIKeyCreate, authInstance, s.createAPIKeyHTTP)
	s.handleBoth(mux, "GET", "/api_keys/{id}", EndpointAPIKeyGet, authInstance, s.getAPIKey)
	s.handleBoth(mux, "GET", "/api_keys/{id}/secret", EndpointAPIKeySecret, authInstance, s.getAPIKeySecret)
	s.handleBoth(mux, "POST", "/api_keys/{id}/revoke", EndpointAPIKeyRevoke, authInstance, s.revokeAPIKeyHTTP)
	s.handleBoth(mux, "POST", "/api_keys/verify", EndpointAPIKeyVerify, authInstance, s.verifyAPIKeyHTTP)

	s.handleBoth(mux, "POST", "/oauth_applications/access_tokens/verify", EndpointOAuthTokenVerify, authInstance, s.verifyOAuthTokenHTTP)
}

// handleBoth registers h for method at /v1<path> and at <path>, behind the
// request counter, the fault injector, the key check of auth and the API
// version check.
func (s *Server) handleBoth(mux *http.ServeMux, method, path string, route Endpoint, auth authMode, h callerHandler) {
	serve := func(w http.ResponseWriter, r *http.Request) {
		if f, ok := s.arrive(route); ok && s.applyFault(w, r, route, f) {
			return
		}
		c, e := s.authenticate(r, auth)
		if e == nil {
			_, e = apiVersion(r)
		}
		if e != nil {
			writeHTTPError(w, e)
			return
		}
		h(w, r, c)
	}
	mux.HandleFunc(method+" /v1"+path, serve)
	mux.HandleFunc(method+" "+path, serve)
}

// authenticate identifies the caller from its Bearer key under mode.
func (s *Server) authenticate(r *http.Request, mode authMode) (caller, *httpError) {
	key, e := bearerKey(r.Header.Get("Authorization"))
	if e != nil {
		return caller{}, e
	}
	if subtle.ConstantTimeCompare([]byte(key), []byte(s.secretKey)) == 1 {
		if mode == authMachine {
			return caller{}, errMachineKeyRequired()
		}
		return caller{}, nil
	}
	if mode == authInstance {
		return caller{}, errKeyInvalid()
	}
	now := s.clock.Now()
	s.mu.Lock()
	m, ok := s.st.machineForKey(key, now)
	s.mu.Unlock()
	if !ok {
		if mode == authMachine {
			return caller{}, errMachineKeyInvalid()
		}
		return caller{}, errKeyInvalid()
	}
	return caller{machine: m.id}, nil
}

// bearerKey returns the key of "Bearer <key>" (scheme case-insensitive).
func bearerKey(auth string) (string, *httpError) {
	scheme, key, ok := strings.Cut(strings.TrimSpace(auth), " ")
	key = strings.TrimSpace(key)
	if !ok || !strings.EqualFold(scheme, "Bearer") || key == "" {
		return "", errFormatInvalid()
	}
	return key, nil
}

func errMachineKeyRequired() *httpError {
	return &httpError{http.StatusForbidden, apiError{
		Message:     "Unauthorized request",
		LongMessage: "This endpoint must be authenticated with a Machine Secret Key, not the instance Secret Key.",
		Code:        "authorization_invalid",
	}}
}

func errMachineKeyInvalid() *httpError {
	return &httpError{http.StatusUnauthorized, apiError{
		Message:     "The provided Machine Secret Key is invalid.",
		LongMessage: "The provided Machine Secret Key is invalid. Make sure that your Machine Secret Key is correct.",
		Code:        "machine_secret_key_invalid",
	}}
}

// errBadParam is the 400 of the M2M token, API key and OAuth token
// endpoints, shaped like the examples of Clerk's description for them.
func errBadParam(where, name, why string) *httpError {
	return &httpError{http.StatusBadRequest, apiError{
		Message:     "Bad Request",
		LongMessage: fmt.Sprintf("Invalid '%s.%s': %s", where, name, why),
		Code:        "bad_request",
		Meta:        map[string]any{"param_name": name},
	}}
}

// strictBody reads a JSON body that may hold only the allowed parameters
// (additionalProperties: false), answering 400 for any other.
func strictBody(r *http.Request, allowed ...string) (map[string]any, *httpError) {
	m, e := bodyParams(r)
	if e != nil {
		return nil, e
	}
	for k := range m {
		if !slices.Contains(allowed, k) {
			return nil, errBadParam("body", k, "Unrecognized key")
		}
	}
	return m, nil
}

// optString returns a nullable string parameter of a 400-style endpoint and
// whether it was given (not absent, not null).
func optString(m map[string]any, name string) (string, bool, *httpError) {
	switch v := m[name].(type) {
	case nil:
		return "", false, nil
	case string:
		return v, true, nil
	}
	return "", false, errBadParam("body", name, "Expected string")
}

// optSeconds returns a nullable number of seconds > 0 (exclusive minimum).
func optSeconds(m map[string]any, name string) (time.Duration, bool, *httpError) {
	var f float64
	switch v := m[name].(type) {
	case nil:
		return 0, false, nil
	case json.Number:
		var err error
		if f, err = v.Float64(); err != nil {
			return 0, false, errBadParam("body", name, "Expected number")
		}
	default:
		return 0, false, errBadParam("body", name, "Expected number")
	}
	if f <= 0 || f > maxExpiresIn {
		return 0, false, errBadParam("body", name, "Number must be greater than 0 and at most "+strconv.Itoa(maxExpiresIn))
	}
	return time.Duration(f * float64(time.Second)), true, nil
}

// optClaims returns a nullable claims object. Clerk's description allows
// any JSON value; clerktest only takes objects (or null).
func optClaims(m map[string]any, name string) (map[string]any, *httpError) {
	switch v := m[name].(type) {
	case nil:
		return nil, nil
	case map[string]any:
		return v, nil
	}
	return nil, errBadParam("body", name, "Expected object or null")
}

// optStrings returns an array of strings parameter.
func optStrings(m map[string]any, name string) ([]string, *httpError) {
	switch v := m[name].(type) {
	case nil:
		return nil, nil
	case []any:
		out := make([]string, 0, len(v))
		for _, e := range v {
			s, ok := e.(string)
			if !ok {
				return nil, errBadParam("body", name, "Expected array of strings")
			}
			out = append(out, s)
		}
		return out, nil
	}
	return nil, errBadParam("body", name, "Expected array of strings")
}

// queryBool parses a boolean query parameter (default when absent).
func queryBool(r *http.Request, name string, def bool) (bool, *httpError) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return def, nil
	}
	switch v {
	case "true":
		return true, nil
	case "false":
		return false, nil
	}
	return false, errBadParam("query", name, "Expected boolean")
}

// queryRange parses an integer query parameter within [lo, hi] for the
// 400-style endpoints.
func queryRange(r *http.Request, name string, def, lo, hi int) (int, *httpError) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < lo || (hi >= 0 && n > hi) {
		return 0, errBadParam("query", name, "Number out of range")
	}
	return n, nil
}

// page returns the [offset, offset+limit) window of n items.
func page(n, offset, limit int) (lo, hi int) { return min(offset, n), min(offset+limit, n) }

func millisPtr(t time.Time) *int64 {
	if t.IsZero() {
		return nil
	}
	ms := t.UnixMilli()
	return &ms
}

func stringPtr(s string, set bool) *string {
	if !set {
		return nil
	}
	return &s
}

// expiredAt reports whether an expiration (zero: never) has passed at now.
func expiredAt(expiration, now time.Time) bool {
	return !expiration.IsZero() && !now.Before(expiration)
}

// lifetimeEnd returns the expiration of a credential created at now that
// lives for d (0: never).
func lifetimeEnd(now time.Time, d time.Duration) time.Time {
	if d <= 0 {
		return time.Time{}
	}
	return now.Add(d)
}

var jwtShape = regexp.MustCompile(`^[a-zA-Z0-9\-_]+\.[a-zA-Z0-9\-_]+\.[a-zA-Z0-9\-_]+$`)

// isJWTShaped applies the test Clerk's JS SDK uses to route tokens: three
// non-empty base64url segments.
func isJWTShaped(token string) bool { return jwtShape.MatchString(token) }
