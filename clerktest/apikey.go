package clerktest

import (
	"fmt"
	"maps"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"time"
)

var (
	apiKeyIDPattern      = regexp.MustCompile(`^(ak|api_key)_[0-9A-Fa-f]{32}$`)
	apiKeySubjectPattern = regexp.MustCompile(`^(user|org|mch|scim)_\w{27}$`)
	userIDPattern        = regexp.MustCompile(`^user_\w{27}$`)
	apiKeyNamePattern    = regexp.MustCompile(`^(\S(.*\S)?)?$`)
)

// DefaultAPIKeyType is the type of API keys created without one.
const DefaultAPIKeyType = "api_key"

// APIKeyParams describes an API key to create. Subject is required.
type APIKeyParams struct {
	// Subject owns the key: user_, org_, mch_ or scim_ and 27 word
	// characters (such as a User's or Machine's ID).
	Subject string
	// Name is the key's name: at least 3 characters, no leading or
	// trailing space; default "clerktest key".
	Name string
	// Type is the key's type, 3 to 25 characters; default
	// DefaultAPIKeyType.
	Type string
	// Description is an optional description of at most 255 characters.
	Description string
	// Scopes are free-form strings, such as "read:invoices".
	Scopes []string
	// Claims are custom claims returned by verification.
	Claims map[string]any
	// CreatedBy is the ID of the user who created the key (user_…), or "".
	CreatedBy string
	// Lifetime is the time until the key expires; 0 means never (Clerk's
	// default).
	Lifetime time.Duration
}

// APIKey is a snapshot of an API key, owned by the caller.
type APIKey struct {
	// ID is the key's ID: ak_ and 32 hex digits.
	ID string
	// Secret is the key itself (ak_…), which callers present as a Bearer
	// token.
	Secret string
	// Type, Subject, Name, Description, Scopes, Claims and CreatedBy are
	// as in [APIKeyParams].
	Type, Subject, Name, Description string
	Scopes                           []string
	Claims                           map[string]any
	CreatedBy                        string
	// Revoked and RevocationReason tell whether and why the key was
	// revoked ("" for no reason).
	Revoked          bool
	RevocationReason string
	// Expiration is when the key expires; zero for never.
	Expiration time.Time
	// CreatedAt, UpdatedAt and LastUsedAt (zero: never verified) date the
	// key.
	CreatedAt, UpdatedAt, LastUsedAt time.Time
}

type apiKey struct {
	APIKey
	seq int
}

func (k *APIKey) clone() *APIKey {
	c := *k
	c.Scopes, c.Claims = slices.Clone(k.Scopes), maps.Clone(k.Claims)
	return &c
}

// CreateAPIKey creates an API key, as POST /api_keys does, and returns it
// with its secret. It returns an error for invalid parameters.
func (s *Server) CreateAPIKey(p APIKeyParams) (*APIKey, error) {
	if err := checkAPIKeyParams(&p); err != nil {
		return nil, err
	}
	now := s.clock.Now()
	k := &APIKey{ID: PrefixAPIKey + randomHex(32), Secret: newSecret(PrefixAPIKey), Type: p.Type,
		Subject: p.Subject, Name: p.Name, Description: p.Description, Scopes: slices.Clone(p.Scopes),
		Claims: maps.Clone(p.Claims), CreatedBy: p.CreatedBy, Expiration: lifetimeEnd(now, p.Lifetime),
		CreatedAt: now, UpdatedAt: now}
	if k.Scopes == nil {
		k.Scopes = []string{}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.st.seq++
	s.st.apiKeys[k.ID] = &apiKey{APIKey: *k.clone(), seq: s.st.seq}
	s.st.apiKeySecrets[hashSecret(k.Secret)] = k.ID
	return k, nil
}

// MustAPIKey is CreateAPIKey that panics on error.
func (s *Server) MustAPIKey(p APIKeyParams) *APIKey {
	k, err := s.CreateAPIKey(p)
	if err != nil {
		panic(err.Error())
	}
	return k
}

func checkAPIKeyParams(p *APIKeyParams) error {
	if p.Name == "" {
		p.Name = "clerktest key"
	}
	if p.Type == "" {
		p.Type = DefaultAPIKeyType
	}
	switch {
	case len(p.Name) < 3 || !apiKeyNamePattern.MatchString(p.Name):
		return &paramError{"name", "Must be at least 3 characters, without leading or trailing whitespace"}
	case !apiKeySubjectPattern.MatchString(p.Subject):
		return &paramError{"subject", "Failed regex check"}
	case len(p.Type) < 3 || len(p.Type) > 25:
		return &paramError{"type", "Must be 3 to 25 characters"}
	case len(p.Description) > 255:
		return &paramError{"description", "Must be at most 255 characters"}
	case p.CreatedBy != "" && !userIDPattern.MatchString(p.CreatedBy):
		return &paramError{"created_by", "Failed regex check"}
	case p.Lifetime < 0:
		return &paramError{"seconds_until_expiration", "Number must be greater than 0"}
	}
	return nil
}

// APIKey returns a snapshot of API key id, secret included, or
// ErrNotFound.
func (s *Server) APIKey(id string) (*APIKey, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	k, ok := s.st.apiKeys[id]
	if !ok {
		return nil, fmt.Errorf("%w: API key %s", ErrNotFound, id)
	}
	return k.clone(), nil
}

// RevokeAPIKey revokes API key id with an optional reason, as
// POST /api_keys/{id}/revoke does: it no longer verifies. It returns
// ErrNotFound for an unknown key.
func (s *Server) RevokeAPIKey(id, reason string) error {
	now := s.clock.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	k, ok := s.st.apiKeys[id]
	if !ok {
		return fmt.Errorf("%w: API key %s", ErrNotFound, id)
	}
	k.Revoked, k.RevocationReason, k.UpdatedAt = true, reason, now
	return nil
}

// apiKeyResource is the api_key object; Secret is set only in the answer
// of POST /api_keys.
type apiKeyResource struct {
	Object           string         `json:"object"`
	ID               string         `json:"id"`
	Type             string         `json:"type"`
	Subject          string         `json:"subject"`
	Name             string         `json:"name"`
	Description      *string        `json:"description"`
	Claims           map[string]any `json:"claims"`
	Scopes           []string       `json:"scopes"`
	Secret           string         `json:"secret,omitempty"`
	Revoked          bool           `json:"revoked"`
	RevocationReason *string        `json:"revocation_reason"`
	Expired          bool           `json:"expired"`
	Expiration       *int64         `json:"expiration"`
	CreatedBy        *string        `json:"created_by"`
	LastUsedAt       *int64         `json:"last_used_at"`
	CreatedAt        int64          `json:"created_at"`
	UpdatedAt        int64          `json:"updated_at"`
}

func apiKeyJSON(k *APIKey, now time.Time) apiKeyResource {
	return apiKeyResource{Object: "api_key", ID: k.ID, Type: k.Type, Subject: k.Subject, Name: k.Name,
		Description: stringPtr(k.Description, k.Description != ""), Claims: k.Claims, Scopes: k.Scopes,
		Revoked: k.Revoked, RevocationReason: stringPtr(k.RevocationReason, k.RevocationReason != ""),
		Expired: expiredAt(k.Expiration, now), Expiration: millisPtr(k.Expiration),
		CreatedBy: stringPtr(k.CreatedBy, k.CreatedBy != ""), LastUsedAt: millisPtr(k.LastUsedAt),
		CreatedAt: millis(k.CreatedAt), UpdatedAt: millis(k.UpdatedAt)}
}

func errAPIKeyNotFound() *httpError { return errNotFound("API key not found") }

func (s *Server) createAPIKeyHTTP(w http.ResponseWriter, r *http.Request, _ caller) {
	p, e := createAPIKeyParams(r)
	if e != nil {
		writeHTTPError(w, e)
		return
	}
	k, err := s.CreateAPIKey(p)
	if err != nil {
		writeHTTPError(w, httpErrorOf(err))
		return
	}
	res := apiKeyJSON(k, s.clock.Now())
	res.Secret = k.Secret
	writeJSON(w, http.StatusOK, res)
}

func createAPIKeyParams(r *http.Request) (APIKeyParams, *httpError) {
	params, e := strictBody(r, "type", "name", "description", "subject", "claims", "scopes", "created_by", "seconds_until_expiration")
	if e != nil {
		return APIKeyParams{}, e
	}
	var p APIKeyParams
	var given bool
	for _, f := range []struct {
		name     string
		dst      *string
		required bool
	}{{"name", &p.Name, true}, {"subject", &p.Subject, true}, {"type", &p.Type, false},
		{"description", &p.Description, false}, {"created_by", &p.CreatedBy, false}} {
		if *f.dst, given, e = optString(params, f.name); e != nil {
			return p, e
		}
		if f.required && !given {
			return p, errBadParam("body", f.name, "Required")
		}
	}
	if p.Type == "" && params["type"] != nil {
		return p, errBadParam("body", "type", "Must be 3 to 25 characters")
	}
	if p.Claims, e = optClaims(params, "claims"); e != nil {
		return p, e
	}
	if p.Scopes, e = optStrings(params, "scopes"); e != nil {
		return p, e
	}
	p.Lifetime, _, e = optSeconds(params, "seconds_until_expiration")
	return p, e
}

// withAPIKey runs f on API key {id} under s.mu and answers its result: 400
// for a malformed ID, 404 for an unknown key.
func (s *Server) withAPIKey(w http.ResponseWriter, r *http.Request, f func(k *apiKey, now time.Time) any) {
	id := r.PathValue("id")
	if e := checkID(id, apiKeyIDPattern, "apiKeyID"); e != nil {
		writeHTTPError(w, e)
		return
	}
	now := s.clock.Now()
	s.mu.Lock()
	k, ok := s.st.apiKeys[id]
	var res any
	if ok {
		res = f(k, now)
	}
	s.mu.Unlock()
	if !ok {
		writeHTTPError(w, errAPIKeyNotFound())
		return
	}
	writeJSON(w, http.StatusOK, res)
}

func (s *Server) getAPIKey(w http.ResponseWriter, r *http.Request, _ caller) {
	s.withAPIKey(w, r, func(k *apiKey, now time.Time) any { return apiKeyJSON(&k.APIKey, now) })
}

func (s *Server) getAPIKeySecret(w http.ResponseWriter, r *http.Request, _ caller) {
	s.withAPIKey(w, r, func(k *apiKey, _ time.Time) any { return map[string]string{"secret": k.Secret} })
}

func (s *Server) revokeAPIKeyHTTP(w http.ResponseWriter, r *http.Request, _ caller) {
	params, e := strictBody(r, "revocation_reason")
	var reason string
	if e == nil {
		reason, _, e = optString(params, "revocation_reason")
	}
	if e != nil {
		writeHTTPError(w, e)
		return
	}
	s.withAPIKey(w, r, func(k *apiKey, now time.Time) any {
		k.Revoked, k.RevocationReason, k.UpdatedAt = true, reason, now
		return apiKeyJSON(&k.APIKey, now)
	})
}

// verifyAPIKeyHTTP serves POST /api_keys/verify: 200 for a live key, 404
// for an unknown, revoked or expired one ("the method will throw an
// error", Clerk's docs say).
func (s *Server) verifyAPIKeyHTTP(w http.ResponseWriter, r *http.Request, _ caller) {
	params, e := strictBody(r, "secret")
	var secret string
	var given bool
	if e == nil {
		secret, given, e = optString(params, "secret")
	}
	if e == nil && !given {
		e = errBadParam("body", "secret", "Required")
	}
	if e != nil {
		writeHTTPError(w, e)
		return
	}
	now := s.clock.Now()
	s.mu.Lock()
	k, ok := s.st.apiKeys[s.st.apiKeySecrets[hashSecret(secret)]]
	var res apiKeyResource
	if ok && (!k.Revoked && !expiredAt(k.Expiration, now) || s.cfg.VerifyReportsInvalid) {
		if !k.Revoked && !expiredAt(k.Expiration, now) {
			k.LastUsedAt = now
		}
		res = apiKeyJSON(&k.APIKey, now)
	}
	s.mu.Unlock()
	if res.ID == "" {
		writeHTTPError(w, errAPIKeyNotFound())
		return
	}
	writeJSON(w, http.StatusOK, res)
}

// listAPIKeys serves GET /api_keys: the keys of subject and type (default
// api_key), newest first; revoked and expired ones only with
// include_invalid=true. query matches part of the name.
func (s *Server) listAPIKeys(w http.ResponseWriter, r *http.Request, _ caller) {
	q := r.URL.Query()
	subject, typ := q.Get("subject"), q.Get("type")
	if typ == "" {
		typ = DefaultAPIKeyType
	}
	e := checkQueryID(subject, apiKeySubjectPattern, "subject")
	var limit, offset int
	if e == nil && len(typ) < 3 {
		e = errBadParam("query", "type", "Must be at least 3 characters")
	}
	inv := q.Get("include_invalid")
	if e == nil && inv != "" && inv != "true" && inv != "false" {
		e = errBadParam("query", "include_invalid", "Expected 'true' | 'false'")
	}
	if e == nil {
		limit, e = queryRange(r, "limit", 10, 1, 100)
	}
	if e == nil {
		offset, e = queryRange(r, "offset", 0, 0, -1)
	}
	if e != nil {
		writeHTTPError(w, e)
		return
	}
	query := strings.ToLower(q.Get("query"))
	now := s.clock.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	var all []*apiKey
	for _, k := range s.st.apiKeys {
		valid := !k.Revoked && !expiredAt(k.Expiration, now)
		if k.Subject == subject && k.Type == typ && (valid || inv == "true") &&
			(query == "" || strings.Contains(strings.ToLower(k.Name), query)) {
			all = append(all, k)
		}
	}
	slices.SortFunc(all, func(a, b *apiKey) int { return b.seq - a.seq })
	lo, hi := page(len(all), offset, limit)
	data := make([]apiKeyResource, 0, hi-lo)
	for _, k := range all[lo:hi] {
		data = append(data, apiKeyJSON(&k.APIKey, now))
	}
	writeJSON(w, http.StatusOK, map[string]any{"data": data, "total_count": len(all)})
}
