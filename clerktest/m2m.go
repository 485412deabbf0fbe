package clerktest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"time"
)

// Formats of M2M tokens and OAuth access tokens.
const (
	// FormatOpaque is a random, stored token verified by the Backend API
	// (mt_… or oat_…).
	FormatOpaque = "opaque"
	// FormatJWT is a stateless JWT signed with the instance's current key.
	FormatJWT = "jwt"
)

// m2mReservedClaims are the claims Clerk sets in every JWT M2M token; a
// token's custom claims may not contain them.
var m2mReservedClaims = []string{"iss", "sub", "exp", "nbf", "iat", "jti"}

var m2mIDPattern = regexp.MustCompile(`^mt_[0-9A-Fa-f]{32}$`)

// M2MTokenParams describes an M2M token to create. Every field is
// optional.
type M2MTokenParams struct {
	// Format is FormatOpaque (default, as in Clerk) or FormatJWT.
	Format string
	// Lifetime is the time until the token expires; default the machine's
	// DefaultTokenTTL (Clerk's description says so; its docs say such
	// tokens never expire).
	Lifetime time.Duration
	// NeverExpires makes an opaque token without expiration (the Backend
	// API never mints one; the Go API can, for tests of verifiers).
	NeverExpires bool
	// Claims are custom claims: returned by verification and, for a JWT,
	// added to its payload. They may not hold iss, sub, exp, nbf, iat or
	// jti.
	Claims map[string]any
	// MinRemainingTTL, for an opaque token, returns an existing live token
	// of the machine with the same claims and scopes and at least this much
	// life left instead of creating one (min_remaining_ttl_seconds). It
	// must be shorter than the token's lifetime.
	MinRemainingTTL time.Duration
}

// M2MToken is a snapshot of an M2M token, owned by the caller. JWT tokens
// are not stored by the server (as in Clerk): only [Server.CreateM2MToken]
// returns them.
type M2MToken struct {
	// ID is the token ID, mt_ and 32 hex digits; the jti of a JWT.
	ID string
	// Token is the secret: an opaque mt_… token or a JWT.
	Token string
	// Format is FormatOpaque or FormatJWT.
	Format string
	// Subject is the ID of the machine that created the token.
	Subject string
	// Scopes are the IDs of the machines the token may call: the creating
	// machine's scoped machines when the token was created.
	Scopes []string
	// Claims are the token's custom claims, or nil.
	Claims map[string]any
	// Revoked and RevocationReason tell whether and why the token was
	// revoked ("" for no reason).
	Revoked          bool
	RevocationReason string
	// Expiration is when the token expires; zero for never.
	Expiration time.Time
	// CreatedAt, UpdatedAt and LastUsedAt (zero: never verified) date the
	// token.
	CreatedAt, UpdatedAt, LastUsedAt time.Time
}

type m2mToken struct {
	M2MToken
	seq int
}

func (t *M2MToken) clone() *M2MToken {
	c := *t
	c.Scopes, c.Claims = slices.Clone(t.Scopes), maps.Clone(t.Claims)
	return &c
}

// paramError is an invalid parameter of a Go API call or request.
type paramError struct{ param, msg string }

func (e *paramError) Error() string { return "clerktest: " + e.param + ": " + e.msg }

// CreateM2MToken creates an M2M token for machine machineID, as
// POST /m2m_tokens authenticated with the machine's secret key does, and
// returns it with its secret. An opaque token is stored; a JWT is signed
// with the current key and not stored (see the package documentation for
// its header and claims). It returns ErrNotFound for an unknown machine and
// an error for invalid parameters.
func (s *Server) CreateM2MToken(machineID string, p M2MTokenParams) (*M2MToken, error) {
	now := s.clock.Now()
	s.mu.Lock()
	tok, err := s.st.createM2M(machineID, p, now)
	s.mu.Unlock()
	if err != nil || tok.Format == FormatOpaque {
		return tok, err
	}
	header, payload := s.m2mJWTParts(tok, s.currentKey())
	if tok.Token, err = s.signCurrent(header, payload); err != nil {
		return nil, err
	}
	return tok, nil
}

// MustM2MToken is CreateM2MToken that panics on error.
func (s *Server) MustM2MToken(machineID string, p M2MTokenParams) *M2MToken {
	tok, err := s.CreateM2MToken(machineID, p)
	if err != nil {
		panic(err.Error())
	}
	return tok
}

// M2MClaims returns the header and payload of a JWT M2M token that
// CreateM2MToken would sign for machineID (p.Format is ignored), for tests
// that alter them and sign with [Server.Mint]. Nothing is stored.
func (s *Server) M2MClaims(machineID string, p M2MTokenParams) (header, payload map[string]any, err error) {
	p.Format = FormatJWT
	now := s.clock.Now()
	s.mu.Lock()
	tok, err := s.st.createM2M(machineID, p, now)
	s.mu.Unlock()
	if err != nil {
		return nil, nil, err
	}
	header, payload = s.m2mJWTParts(tok, s.currentKey())
	return header, payload, nil
}

// signCurrent signs with the key named by header's kid.
func (s *Server) signCurrent(header, payload map[string]any) (string, error) {
	kid, _ := header["kid"].(string)
	signer, err := s.signerFor(kid)
	if err != nil {
		return "", err
	}
	return mint(header, payload, signer)
}

// m2mJWTParts builds a JWT M2M token: header {alg, cat, kid}, payload iss,
// sub, exp, nbf, iat, jti and the custom claims.
func (s *Server) m2mJWTParts(tok *M2MToken, key *signingKey) (header, payload map[string]any) {
	header = map[string]any{"alg": "RS256", "cat": CategoryM2M, "kid": key.kid}
	payload = maps.Clone(tok.Claims)
	if payload == nil {
		payload = map[string]any{}
	}
	iat := tok.CreatedAt.Unix()
	maps.Copy(payload, map[string]any{"iss": s.Issuer(), "sub": tok.Subject, "iat": iat, "nbf": iat,
		"exp": tok.Expiration.Unix(), "jti": tok.ID})
	return header, payload
}

// createM2M makes a token for machineID, storing it if opaque; a JWT's
// Token is left for the caller to sign.
func (st *state) createM2M(machineID string, p M2MTokenParams, now time.Time) (*M2MToken, error) {
	m, ok := st.machines[machineID]
	if !ok {
		return nil, fmt.Errorf("%w: machine %s", ErrNotFound, machineID)
	}
	lifetime, err := checkM2MParams(&p, m.ttl)
	if err != nil {
		return nil, err
	}
	if p.Format == FormatJWT {
		now = now.Truncate(time.Second) // JWT times are whole seconds
	}
	scopes := slices.Clone(m.scoped)
	if scopes == nil {
		scopes = []string{}
	}
	if p.Format == FormatOpaque && p.MinRemainingTTL > 0 {
		if t := st.reusableM2M(machineID, p, scopes, now); t != nil {
			return t.clone(), nil
		}
	}
	tok := &M2MToken{ID: PrefixM2MToken + randomHex(32), Format: p.Format, Subject: machineID,
		Scopes: scopes, Claims: maps.Clone(p.Claims), Expiration: lifetimeEnd(now, lifetime),
		CreatedAt: now, UpdatedAt: now}
	if p.Format == FormatOpaque {
		tok.Token = newSecret(PrefixM2MToken)
		st.seq++
		st.m2mTokens[tok.ID] = &m2mToken{M2MToken: *tok.clone(), seq: st.seq}
		st.m2mSecrets[hashSecret(tok.Token)] = tok.ID
	}
	return tok, nil
}

// checkM2MParams defaults and checks p and returns the token's lifetime
// (0: never expires).
func checkM2MParams(p *M2MTokenParams, machineTTL time.Duration) (time.Duration, error) {
	if p.Format == "" {
		p.Format = FormatOpaque
	}
	if p.Format != FormatOpaque && p.Format != FormatJWT {
		return 0, &paramError{"token_format", "Expected 'opaque' | 'jwt'"}
	}
	lifetime := p.Lifetime
	switch {
	case p.NeverExpires && p.Format == FormatJWT:
		return 0, &paramError{"seconds_until_expiration", "A JWT M2M token must expire"}
	case p.NeverExpires:
		lifetime = 0
	case lifetime < 0:
		return 0, &paramError{"seconds_until_expiration", "Number must be greater than 0"}
	case lifetime == 0:
		lifetime = machineTTL
	}
	if p.Format == FormatJWT {
		lifetime = lifetime.Truncate(time.Second)
		for _, c := range m2mReservedClaims {
			if _, ok := p.Claims[c]; ok {
				return 0, &paramError{"claims", "Claim '" + c + "' is reserved"}
			}
		}
	}
	if p.MinRemainingTTL < 0 || (p.MinRemainingTTL > 0 && lifetime > 0 && p.MinRemainingTTL >= lifetime) {
		return 0, &paramError{"min_remaining_ttl_seconds", "Must be at least 0 and less than the token lifetime"}
	}
	return lifetime, nil
}

// reusableM2M returns the newest live opaque token of machineID with the
// same claims and scopes and at least p.MinRemainingTTL left.
func (st *state) reusableM2M(machineID string, p M2MTokenParams, scopes []string, now time.Time) *m2mToken {
	want, _ := json.Marshal(p.Claims)
	var best *m2mToken
	for _, t := range st.m2mTokens {
		got, _ := json.Marshal(t.Claims)
		if t.Subject != machineID || t.Revoked || !slices.Equal(t.Scopes, scopes) || !bytes.Equal(got, want) {
			continue
		}
		if !t.Expiration.IsZero() && t.Expiration.Sub(now) < p.MinRemainingTTL {
			continue
		}
		if best == nil || t.seq > best.seq {
			best = t
		}
	}
	return best
}

// M2MToken returns a snapshot of the opaque M2M token id, secret included,
// or ErrNotFound (JWT tokens are not stored).
func (s *Server) M2MToken(id string) (*M2MToken, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.st.m2mTokens[id]
	if !ok {
		return nil, fmt.Errorf("%w: M2M token %s", ErrNotFound, id)
	}
	return t.clone(), nil
}

// RevokeM2MToken revokes the opaque M2M token id, with an optional reason,
// as POST /m2m_tokens/{id}/revoke does: it no longer verifies. It returns
// ErrNotFound for an unknown token or a JWT, which cannot be revoked.
func (s *Server) RevokeM2MToken(id, reason string) error {
	now := s.clock.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.st.m2mTokens[id]
	if !ok {
		return fmt.Errorf("%w: M2M token %s", ErrNotFound, id)
	}
	t.Revoked, t.RevocationReason, t.UpdatedAt = true, reason, now
	return nil
}

// m2mResource is the machine_to_machine_token object; Token is set only
// in the answer of POST /m2m_tokens.
type m2mResource struct {
	Object           string         `json:"object"`
	ID               string         `json:"id"`
	Subject          string         `json:"subject"`
	Claims           map[string]any `json:"claims"`
	Scopes           []string       `json:"scopes"`
	Token            string         `json:"token,omitempty"`
	Revoked          bool           `json:"revoked"`
	RevocationReason *string        `json:"revocation_reason"`
	Expired          bool           `json:"expired"`
	Expiration       *int64         `json:"expiration"`
	LastUsedAt       *int64         `json:"last_used_at"`
	CreatedAt        int64          `json:"created_at"`
	UpdatedAt        int64          `json:"updated_at"`
}

func m2mJSON(t *M2MToken, now time.Time) m2mResource {
	scopes := t.Scopes
	if scopes == nil {
		scopes = []string{}
	}
	return m2mResource{Object: "machine_to_machine_token", ID: t.ID, Subject: t.Subject, Claims: t.Claims,
		Scopes: scopes, Revoked: t.Revoked, RevocationReason: stringPtr(t.RevocationReason, t.RevocationReason != ""),
		Expired: expiredAt(t.Expiration, now), Expiration: millisPtr(t.Expiration), LastUsedAt: millisPtr(t.LastUsedAt),
		CreatedAt: millis(t.CreatedAt), UpdatedAt: millis(t.UpdatedAt)}
}

// httpErrorOf maps a Go API error to an answer of the 400-style endpoints.
func httpErrorOf(err error) *httpError {
	var pe *paramError
	switch {
	case errors.As(err, &pe):
		return errBadParam("body", pe.param, pe.msg)
	case errors.Is(err, ErrNotFound):
		return errNotFound(strings.TrimPrefix(err.Error(), "clerktest: not found: "))
	}
	return &httpError{http.StatusInternalServerError, apiError{Message: "internal error", LongMessage: err.Error(), Code: "internal_clerk_error"}}
}

func (s *Server) createM2MTokenHTTP(w http.ResponseWriter, r *http.Request, c caller) {
	p, e := createM2MParams(r)
	if e != nil {
		writeHTTPError(w, e)
		return
	}
	tok, err := s.CreateM2MToken(c.machine, p)
	if err != nil {
		writeHTTPError(w, httpErrorOf(err))
		return
	}
	res := m2mJSON(tok, s.clock.Now())
	res.Token = tok.Token
	writeJSON(w, http.StatusCreated, res)
}

func createM2MParams(r *http.Request) (M2MTokenParams, *httpError) {
	params, e := strictBody(r, "token_format", "seconds_until_expiration", "claims", "min_remaining_ttl_seconds")
	if e != nil {
		return M2MTokenParams{}, e
	}
	var p M2MTokenParams
	if p.Format, _, e = optString(params, "token_format"); e != nil {
		return p, e
	}
	if p.Lifetime, _, e = optSeconds(params, "seconds_until_expiration"); e != nil {
		return p, e
	}
	if p.Claims, e = optClaims(params, "claims"); e != nil {
		return p, e
	}
	minTTL, e := intParam(params, "min_remaining_ttl_seconds")
	if e != nil || (minTTL != nil && *minTTL < 0) {
		return p, errBadParam("body", "min_remaining_ttl_seconds", "Expected integer >= 0")
	}
	if minTTL != nil {
		p.MinRemainingTTL = time.Duration(*minTTL) * time.Second
	}
	return p, nil
}

func errM2MNotFound() *httpError { return errNotFound("M2M token not found") }

// verifyM2MTokenHTTP serves POST /m2m_tokens/verify. With a machine secret
// key the token must be scoped to that machine; with the instance key any
// token of the instance verifies. Unknown, revoked, expired and unscoped
// tokens get 404 (Clerk documents no status for them).
func (s *Server) verifyM2MTokenHTTP(w http.ResponseWriter, r *http.Request, c caller) {
	params, e := strictBody(r, "token")
	var token string
	var given bool
	if e == nil {
		token, given, e = optString(params, "token")
	}
	if e == nil && !given {
		e = errBadParam("body", "token", "Required")
	}
	if e != nil {
		writeHTTPError(w, e)
		return
	}
	var res m2mResource
	if isJWTShaped(token) {
		res, e = s.verifyM2MJWT(token, c)
	} else {
		res, e = s.verifyOpaqueM2M(token, c)
	}
	if e != nil {
		writeHTTPError(w, e)
		return
	}
	writeJSON(w, http.StatusOK, res)
}

func (s *Server) verifyOpaqueM2M(token string, c caller) (m2mResource, *httpError) {
	now := s.clock.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.st.m2mTokens[s.st.m2mSecrets[hashSecret(token)]]
	if !ok || !s.m2mAllowed(t.Subject, t.Scopes, c) {
		return m2mResource{}, errM2MNotFound()
	}
	if t.Revoked || expiredAt(t.Expiration, now) {
		if !s.cfg.VerifyReportsInvalid {
			return m2mResource{}, errM2MNotFound()
		}
		return m2mJSON(&t.M2MToken, now), nil
	}
	t.LastUsedAt = now
	return m2mJSON(&t.M2MToken, now), nil
}

// m2mAllowed reports whether a token of machine subject with scopes may
// be verified by c: its machine must still exist and, for a machine
// caller, be in the scopes. s.mu must be held.
func (s *Server) m2mAllowed(subject string, scopes []string, c caller) bool {
	if _, ok := s.st.machines[subject]; !ok {
		return false
	}
	return c.machine == "" || slices.Contains(scopes, c.machine)
}

// verifyM2MJWT verifies a JWT M2M token as Clerk's SDKs do locally (cat
// M2M or absent, typ absent or JWT, sub mch_, numeric exp not passed).
// With a machine key, the token's machine must currently be scoped to the
// caller: a JWT carries no target machines (clerktest's guess).
func (s *Server) verifyM2MJWT(token string, c caller) (m2mResource, *httpError) {
	header, payload, err := s.parseSignedJWT(token)
	if err != nil {
		return m2mResource{}, errM2MNotFound()
	}
	cat, hasCat := header["cat"]
	typ, hasTyp := header["typ"]
	sub, _ := payload["sub"].(string)
	exp, okExp := numberClaim(payload, "exp")
	if (hasCat && cat != CategoryM2M) || (hasTyp && typ != "JWT") || !strings.HasPrefix(sub, PrefixMachineID) || !okExp {
		return m2mResource{}, errM2MNotFound()
	}
	now := s.clock.Now()
	s.mu.Lock()
	var scoped []string
	if m, ok := s.st.machines[sub]; ok {
		scoped = slices.Clone(m.scoped)
	}
	allowed := s.m2mAllowed(sub, scoped, c)
	s.mu.Unlock()
	expiration := time.Unix(exp, 0)
	if !allowed || (expiredAt(expiration, now) && !s.cfg.VerifyReportsInvalid) {
		return m2mResource{}, errM2MNotFound()
	}
	iat, _ := numberClaim(payload, "iat")
	tok := &M2MToken{Subject: sub, Scopes: jwtScopes(payload), Claims: customClaims(payload),
		Expiration: expiration, CreatedAt: time.Unix(iat, 0), UpdatedAt: time.Unix(iat, 0)}
	tok.ID, _ = payload["jti"].(string)
	return m2mJSON(tok, now), nil
}

// jwtScopes reads an M2M JWT's scopes as Clerk's JS SDK does: the scopes
// claim split on spaces, else an aud array, else none.
func jwtScopes(payload map[string]any) []string {
	if s, ok := payload["scopes"].(string); ok {
		return strings.Split(s, " ")
	}
	out := []string{}
	if aud, ok := payload["aud"].([]any); ok {
		for _, a := range aud {
			if s, ok := a.(string); ok {
				out = append(out, s)
			}
		}
	}
	return out
}

// customClaims returns the payload without the reserved claims, or nil.
func customClaims(payload map[string]any) map[string]any {
	out := maps.Clone(payload)
	for _, c := range m2mReservedClaims {
		delete(out, c)
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

func (s *Server) revokeM2MTokenHTTP(w http.ResponseWriter, r *http.Request, c caller) {
	id := r.PathValue("id")
	var reason string
	e := checkID(id, m2mIDPattern, "m2m_token_id")
	var params map[string]any
	if e == nil {
		params, e = strictBody(r, "revocation_reason")
	}
	if e == nil {
		reason, _, e = optString(params, "revocation_reason")
	}
	if e != nil {
		writeHTTPError(w, e)
		return
	}
	now := s.clock.Now()
	s.mu.Lock()
	t, ok := s.st.m2mTokens[id]
	var res m2mResource
	if ok && (c.machine == "" || t.Subject == c.machine) {
		t.Revoked, t.RevocationReason, t.UpdatedAt = true, reason, now
		res = m2mJSON(&t.M2MToken, now)
	}
	s.mu.Unlock()
	if res.ID == "" {
		writeHTTPError(w, errM2MNotFound())
		return
	}
	writeJSON(w, http.StatusOK, res)
}

// checkID answers 400 for a path ID that does not match pattern.
func checkID(id string, pattern *regexp.Regexp, name string) *httpError {
	if !pattern.MatchString(id) {
		return errBadParam("url_parameter", name, "Failed regex check")
	}
	return nil
}

// listM2MTokens serves GET /m2m_tokens: the opaque tokens of machine
// subject whose revoked and expired states equal the revoked and expired
// parameters (default false: live tokens), newest first. A machine may
// list only its own tokens (403).
func (s *Server) listM2MTokens(w http.ResponseWriter, r *http.Request, c caller) {
	subject := r.URL.Query().Get("subject")
	e := checkQueryID(subject, machineIDPattern, "subject")
	var revoked, expired bool
	var limit, offset int
	if e == nil {
		revoked, e = queryBool(r, "revoked", false)
	}
	if e == nil {
		expired, e = queryBool(r, "expired", false)
	}
	if e == nil {
		limit, e = queryRange(r, "limit", 10, 1, 100)
	}
	if e == nil {
		offset, e = queryRange(r, "offset", 0, 0, -1)
	}
	if e == nil && c.machine != "" && c.machine != subject {
		e = &httpError{http.StatusForbidden, apiError{Message: "Unauthorized request",
			LongMessage: "A machine may only list its own M2M tokens.", Code: "authorization_invalid"}}
	}
	if e != nil {
		writeHTTPError(w, e)
		return
	}
	now := s.clock.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.st.machines[subject]; !ok {
		writeHTTPError(w, errMachineNotFound(subject))
		return
	}
	var all []*m2mToken
	for _, t := range s.st.m2mTokens {
		if t.Subject == subject && t.Revoked == revoked && expiredAt(t.Expiration, now) == expired {
			all = append(all, t)
		}
	}
	slices.SortFunc(all, func(a, b *m2mToken) int { return b.seq - a.seq })
	lo, hi := page(len(all), offset, limit)
	data := make([]m2mResource, 0, hi-lo)
	for _, t := range all[lo:hi] {
		data = append(data, m2mJSON(&t.M2MToken, now))
	}
	writeJSON(w, http.StatusOK, map[string]any{"m2m_tokens": data, "total_count": len(all)})
}

func checkQueryID(id string, pattern *regexp.Regexp, name string) *httpError {
	if !pattern.MatchString(id) {
		return errBadParam("query", name, "Failed regex check")
	}
	return nil
}
