package clerktest

import (
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
	"time"
)

// DefaultOAuthTokenLifetime is the life of OAuth access tokens, one day as
// in Clerk.
const DefaultOAuthTokenLifetime = 24 * time.Hour

// OAuthTokenParams describes an OAuth access token, which Clerk issues to
// an OAuth application acting for a user. Every field is optional.
type OAuthTokenParams struct {
	// Format is FormatJWT (default, as in Clerk) or FormatOpaque.
	Format string
	// UserID is the token's subject; default a random user_… ID.
	UserID string
	// ClientID is the OAuth application's client ID; default a random one.
	ClientID string
	// Scopes are the granted scopes, such as "profile" or "email".
	Scopes []string
	// Lifetime is the time until the token expires; default
	// DefaultOAuthTokenLifetime.
	Lifetime time.Duration
	// Audience is the aud claim of a JWT: a string for one value, an array
	// for more; none by default.
	Audience []string
	// Claims add to or override a JWT's payload claims; a nil value removes
	// one (for hostile tokens). Opaque tokens ignore them.
	Claims map[string]any
}

// OAuthToken is a snapshot of an OAuth access token, owned by the caller.
// JWT tokens are not stored: only [Server.CreateOAuthToken] returns them.
type OAuthToken struct {
	// ID is the token ID, oat_ and 32 hex digits; the jti of a JWT.
	ID string
	// Token is the secret: an opaque oat_… token or a JWT.
	Token string
	// Format is FormatJWT or FormatOpaque.
	Format string
	// ClientID is the OAuth application's client ID.
	ClientID string
	// Subject is the user the token acts for.
	Subject string
	// Scopes are the granted scopes.
	Scopes []string
	// Revoked and RevocationReason tell whether and why an opaque token
	// was revoked.
	Revoked          bool
	RevocationReason string
	// Expiration, CreatedAt and UpdatedAt date the token.
	Expiration, CreatedAt, UpdatedAt time.Time
}

type oauthToken struct {
	OAuthToken
	seq int
}

func (t *OAuthToken) clone() *OAuthToken {
	c := *t
	c.Scopes = slices.Clone(t.Scopes)
	return &c
}

// CreateOAuthToken mints an OAuth access token. A JWT is signed with the
// current key and not stored (see the package documentation for its header
// and claims); an opaque token is stored. There is no Backend API route to
// create one: Clerk issues them through the OAuth flows of its Frontend API.
func (s *Server) CreateOAuthToken(p OAuthTokenParams) (*OAuthToken, error) {
	tok, err := s.newOAuthToken(&p)
	if err != nil {
		return nil, err
	}
	if tok.Format == FormatJWT {
		header, payload := s.oauthJWTParts(tok, p, s.currentKey())
		if tok.Token, err = s.signCurrent(header, payload); err != nil {
			return nil, err
		}
		return tok, nil
	}
	tok.Token = newSecret(PrefixOAuthToken)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.st.seq++
	s.st.oauthTokens[tok.ID] = &oauthToken{OAuthToken: *tok.clone(), seq: s.st.seq}
	s.st.oauthSecrets[hashSecret(tok.Token)] = tok.ID
	return tok, nil
}

// MustOAuthToken is CreateOAuthToken that panics on error.
func (s *Server) MustOAuthToken(p OAuthTokenParams) *OAuthToken {
	tok, err := s.CreateOAuthToken(p)
	if err != nil {
		panic(err.Error())
	}
	return tok
}

// OAuthClaims returns the header and payload of a JWT OAuth access token
// that CreateOAuthToken would sign (p.Format is ignored), for tests that
// alter them and sign with [Server.Mint].
func (s *Server) OAuthClaims(p OAuthTokenParams) (header, payload map[string]any, err error) {
	p.Format = FormatJWT
	tok, err := s.newOAuthToken(&p)
	if err != nil {
		return nil, nil, err
	}
	header, payload = s.oauthJWTParts(tok, p, s.currentKey())
	return header, payload, nil
}

func (s *Server) newOAuthToken(p *OAuthTokenParams) (*OAuthToken, error) {
	if p.Format == "" {
		p.Format = FormatJWT
	}
	if p.Format != FormatJWT && p.Format != FormatOpaque {
		return nil, fmt.Errorf("clerktest: unknown OAuth token format %q", p.Format)
	}
	if p.Lifetime < 0 {
		return nil, fmt.Errorf("clerktest: negative OAuth token lifetime %v", p.Lifetime)
	}
	if p.Lifetime == 0 {
		p.Lifetime = DefaultOAuthTokenLifetime
	}
	if p.UserID == "" {
		p.UserID = "user_" + randomString(27)
	}
	if p.ClientID == "" {
		p.ClientID = randomString(16)
	}
	now := s.clock.Now()
	if p.Format == FormatJWT {
		now = now.Truncate(time.Second)
		p.Lifetime = p.Lifetime.Truncate(time.Second)
	}
	scopes := slices.Clone(p.Scopes)
	if scopes == nil {
		scopes = []string{}
	}
	return &OAuthToken{ID: PrefixOAuthToken + randomHex(32), Format: p.Format, ClientID: p.ClientID,
		Subject: p.UserID, Scopes: scopes, Expiration: now.Add(p.Lifetime), CreatedAt: now, UpdatedAt: now}, nil
}

// oauthJWTParts builds a JWT OAuth access token (RFC 9068): header {alg,
// kid, typ: at+jwt}, payload iss, sub, client_id, scope (when any), jti,
// iat, nbf, exp, aud (when any), then p.Claims.
func (s *Server) oauthJWTParts(tok *OAuthToken, p OAuthTokenParams, key *signingKey) (header, payload map[string]any) {
	header = map[string]any{"alg": "RS256", "kid": key.kid, "typ": "at+jwt"}
	iat := tok.CreatedAt.Unix()
	payload = map[string]any{"iss": s.Issuer(), "sub": tok.Subject, "client_id": tok.ClientID, "jti": tok.ID,
		"iat": iat, "nbf": iat, "exp": tok.Expiration.Unix()}
	if len(tok.Scopes) > 0 {
		payload["scope"] = strings.Join(tok.Scopes, " ")
	}
	switch len(p.Audience) {
	case 0:
	case 1:
		payload["aud"] = p.Audience[0]
	default:
		payload["aud"] = slices.Clone(p.Audience)
	}
	applyOverrides(payload, maps.Clone(p.Claims))
	return header, payload
}

// RevokeOAuthToken revokes the opaque OAuth access token id, with an
// optional reason: it no longer verifies. It returns ErrNotFound for an
// unknown token or a JWT, which cannot be revoked.
func (s *Server) RevokeOAuthToken(id, reason string) error {
	now := s.clock.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.st.oauthTokens[id]
	if !ok {
		return fmt.Errorf("%w: OAuth token %s", ErrNotFound, id)
	}
	t.Revoked, t.RevocationReason, t.UpdatedAt = true, reason, now
	return nil
}

// oauthResource is the clerk_idp_oauth_access_token object. Its timestamps
// are Unix seconds: Clerk's description states no unit and its examples
// are seconds.
type oauthResource struct {
	Object           string   `json:"object"`
	ID               string   `json:"id"`
	ClientID         string   `json:"client_id"`
	Subject          string   `json:"subject"`
	Scopes           []string `json:"scopes"`
	Revoked          bool     `json:"revoked"`
	RevocationReason *string  `json:"revocation_reason"`
	Expired          bool     `json:"expired"`
	Expiration       *int64   `json:"expiration"`
	CreatedAt        int64    `json:"created_at"`
	UpdatedAt        int64    `json:"updated_at"`
}

func oauthJSON(t *OAuthToken, now time.Time) oauthResource {
	exp := t.Expiration.Unix()
	return oauthResource{Object: "clerk_idp_oauth_access_token", ID: t.ID, ClientID: t.ClientID, Subject: t.Subject,
		Scopes: t.Scopes, Revoked: t.Revoked, RevocationReason: stringPtr(t.RevocationReason, t.RevocationReason != ""),
		Expired: expiredAt(t.Expiration, now), Expiration: &exp, CreatedAt: t.CreatedAt.Unix(), UpdatedAt: t.UpdatedAt.Unix()}
}

func errOAuthNotFound() *httpError { return errNotFound("OAuth access token not found") }

// verifyOAuthTokenHTTP serves POST /oauth_applications/access_tokens/verify
// for the token in access_token (or the deprecated secret): 200 with the
// token for a live opaque token or a valid at+jwt JWT; 200 {"active":false}
// for an expired JWT, as Clerk's description has it; 404 otherwise.
func (s *Server) verifyOAuthTokenHTTP(w http.ResponseWriter, r *http.Request, _ caller) {
	params, e := bodyParams(r)
	var token string
	var given bool
	if e == nil {
		token, given, e = optString(params, "access_token")
	}
	if e == nil && !given {
		token, given, e = optString(params, "secret")
	}
	if e == nil && !given {
		e = errBadParam("body", "access_token", "Required")
	}
	if e != nil {
		writeHTTPError(w, e)
		return
	}
	var res any
	if isJWTShaped(token) {
		res, e = s.verifyOAuthJWT(token)
	} else {
		res, e = s.verifyOpaqueOAuth(token)
	}
	if e != nil {
		writeHTTPError(w, e)
		return
	}
	writeJSON(w, http.StatusOK, res)
}

func (s *Server) verifyOpaqueOAuth(token string) (any, *httpError) {
	now := s.clock.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.st.oauthTokens[s.st.oauthSecrets[hashSecret(token)]]
	if !ok || ((t.Revoked || expiredAt(t.Expiration, now)) && !s.cfg.VerifyReportsInvalid) {
		return nil, errOAuthNotFound()
	}
	return oauthJSON(&t.OAuthToken, now), nil
}

func (s *Server) verifyOAuthJWT(token string) (any, *httpError) {
	header, payload, err := s.parseSignedJWT(token)
	if err != nil || (header["typ"] != "at+jwt" && header["typ"] != "application/at+jwt") {
		return nil, errOAuthNotFound()
	}
	exp, ok := numberClaim(payload, "exp")
	if !ok {
		return nil, errOAuthNotFound()
	}
	now := s.clock.Now()
	if expiredAt(time.Unix(exp, 0), now) {
		return map[string]bool{"active": false}, nil
	}
	iat, _ := numberClaim(payload, "iat")
	tok := &OAuthToken{Scopes: []string{}, Expiration: time.Unix(exp, 0), CreatedAt: time.Unix(iat, 0), UpdatedAt: time.Unix(iat, 0)}
	tok.ID, _ = payload["jti"].(string)
	tok.ClientID, _ = payload["client_id"].(string)
	tok.Subject, _ = payload["sub"].(string)
	if scope, _ := payload["scope"].(string); scope != "" {
		tok.Scopes = strings.Split(scope, " ")
	}
	return oauthJSON(tok, now), nil
}
