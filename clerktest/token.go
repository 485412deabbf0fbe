package clerktest

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"maps"
	"math/big"
	"slices"
	"strings"
	"time"
)

// Token categories of Clerk's cat header.
const (
	// CategorySession is the cat of session tokens.
	CategorySession = "cl_B7d4PD111AAA"
	// CategoryJWTTemplate is the cat of tokens from JWT templates.
	CategoryJWTTemplate = "cl_B7d4PD222AAA"
	// CategoryM2M is the cat of machine-to-machine tokens.
	CategoryM2M = "cl_B7d4PD333AAA"
)

type tokenOptions struct {
	lifetime time.Duration
	version  int
	azp      *string
	extra    map[string]any
	without  []string
	header   map[string]any
	issuedAt *time.Time
	template string
	kid      string
}

// TokenOption changes a token minted by [Server.Token].
type TokenOption func(*tokenOptions)

// WithLifetime sets the token's life (exp - iat); default
// Config.TokenLifetime, or the template's lifetime.
func WithLifetime(d time.Duration) TokenOption { return func(o *tokenOptions) { o.lifetime = d } }

// WithVersion selects the claim format: 2 (default) or 1.
func WithVersion(v int) TokenOption { return func(o *tokenOptions) { o.version = v } }

// WithAuthorizedParty sets the azp claim, overriding the session's; ""
// removes it.
func WithAuthorizedParty(azp string) TokenOption { return func(o *tokenOptions) { o.azp = &azp } }

// WithClaims adds or overrides payload claims.
func WithClaims(claims map[string]any) TokenOption {
	return func(o *tokenOptions) {
		if o.extra == nil {
			o.extra = map[string]any{}
		}
		maps.Copy(o.extra, claims)
	}
}

// WithoutClaims removes payload claims, such as "sid" or "exp".
func WithoutClaims(names ...string) TokenOption {
	return func(o *tokenOptions) { o.without = append(o.without, names...) }
}

// WithHeader adds or overrides header parameters; a nil value removes one.
func WithHeader(header map[string]any) TokenOption {
	return func(o *tokenOptions) {
		if o.header == nil {
			o.header = map[string]any{}
		}
		maps.Copy(o.header, header)
	}
}

// WithIssuedAt dates the token at t instead of the server clock's now; exp
// and nbf follow.
func WithIssuedAt(t time.Time) TokenOption { return func(o *tokenOptions) { o.issuedAt = &t } }

// WithTemplate mints the token from the JWT template registered under name
// (see [Server.AddJWTTemplate]).
func WithTemplate(name string) TokenOption { return func(o *tokenOptions) { o.template = name } }

// WithKeyID signs with key kid, any key the server ever held (such as one
// dropped by RotateKey), instead of the current one.
func WithKeyID(kid string) TokenOption { return func(o *tokenOptions) { o.kid = kid } }

// Token mints a token for session sessionID, signed with the current key:
// a v2 session token by default (see the package doc for the claims). It
// mints for a session in any status, so tests can present tokens of revoked
// sessions. It returns ErrNotFound for an unknown session or template.
func (s *Server) Token(sessionID string, opts ...TokenOption) (string, error) {
	o := s.tokenOptions(opts)
	header, payload, err := s.tokenParts(sessionID, o)
	if err != nil {
		return "", err
	}
	signer, err := s.signerFor(o.kid)
	if err != nil {
		return "", err
	}
	return mint(header, payload, signer)
}

// MustToken is Token that panics on error.
func (s *Server) MustToken(sessionID string, opts ...TokenOption) string {
	t, err := s.Token(sessionID, opts...)
	if err != nil {
		panic(err.Error())
	}
	return t
}

// SessionClaims returns the header and payload that Token would sign, for
// tests that alter them and sign with [Server.Mint].
func (s *Server) SessionClaims(sessionID string, opts ...TokenOption) (header, payload map[string]any, err error) {
	return s.tokenParts(sessionID, s.tokenOptions(opts))
}

func (s *Server) tokenOptions(opts []TokenOption) *tokenOptions {
	o := &tokenOptions{version: 2}
	for _, opt := range opts {
		opt(o)
	}
	return o
}

func (s *Server) tokenParts(sessionID string, o *tokenOptions) (header, payload map[string]any, err error) {
	sess, err := s.Session(sessionID)
	if err != nil {
		return nil, nil, err
	}
	if o.version != 1 && o.version != 2 {
		return nil, nil, fmt.Errorf("clerktest: unknown token version %d", o.version)
	}
	if o.kid == "" {
		o.kid = s.KeyID()
	}
	header = map[string]any{"alg": "RS256", "kid": o.kid, "typ": "JWT", "cat": CategorySession}
	if o.template != "" {
		header["cat"] = CategoryJWTTemplate
		payload, err = s.templateClaims(sess, o)
	} else {
		payload = s.sessionClaims(sess, o)
	}
	if err != nil {
		return nil, nil, err
	}
	applyOverrides(header, o.header)
	applyOverrides(payload, o.extra)
	for _, name := range o.without {
		delete(payload, name)
	}
	return header, payload, nil
}

func applyOverrides(m, over map[string]any) {
	for k, v := range over {
		if v == nil {
			delete(m, k)
			continue
		}
		m[k] = v
	}
}

// times returns iat and exp for a token of the given default lifetime.
func (s *Server) times(o *tokenOptions, lifetime time.Duration) (iat, exp time.Time) {
	iat = s.clock.Now()
	if o.issuedAt != nil {
		iat = *o.issuedAt
	}
	if o.lifetime != 0 {
		lifetime = o.lifetime
	}
	return iat, iat.Add(lifetime)
}

func (s *Server) sessionClaims(sess *Session, o *tokenOptions) map[string]any {
	iat, exp := s.times(o, s.cfg.TokenLifetime)
	c := map[string]any{
		"exp": exp.Unix(), "iat": iat.Unix(), "nbf": iat.Unix() - 10,
		"iss": s.Issuer(), "sid": sess.ID, "sub": sess.UserID,
		"fva": []int{sess.FactorAge[0], sess.FactorAge[1]},
	}
	azp := sess.AuthorizedParty
	if o.azp != nil {
		azp = *o.azp
	}
	if azp != "" {
		c["azp"] = azp
	}
	if sess.Actor != nil {
		c["act"] = sess.Actor
	}
	if o.version == 2 {
		addV2Claims(c, sess)
	} else {
		addV1Claims(c, sess)
	}
	maps.Copy(c, sess.Claims)
	return c
}

func addV2Claims(c map[string]any, sess *Session) {
	c["v"] = 2
	c["jti"] = strings.ToLower(randomString(20))
	c["sts"] = StatusActive
	if sess.Status == StatusPending {
		c["sts"] = StatusPending
	}
	if pla := plansClaim(sess.Plans); pla != "" {
		c["pla"] = pla
	}
	orgFeatures := orgFeatures(sess.Org)
	if fea := featuresClaim(orgFeatures, sess.UserFeatures); fea != "" {
		c["fea"] = fea
	}
	if sess.Org != nil {
		c["o"] = orgClaimV2(sess.Org, orgFeatures)
	}
}

func addV1Claims(c map[string]any, sess *Session) {
	if sess.Org == nil {
		return
	}
	perms := []string{}
	for _, p := range sess.Org.Permissions {
		if f, _, _ := splitPermission(p); !isSystemFeature(f) {
			perms = append(perms, p)
		}
	}
	c["org_id"], c["org_slug"], c["org_role"], c["org_permissions"] = sess.Org.ID, sess.Org.Slug, sess.Org.Role, perms
}

// plansClaim joins plans, scoping unscoped ones to the user.
func plansClaim(plans []string) string {
	out := make([]string, 0, len(plans))
	for _, p := range plans {
		if !strings.Contains(p, ":") {
			p = "u:" + p
		}
		out = append(out, p)
	}
	return strings.Join(out, ",")
}

func isSystemFeature(f string) bool { return strings.HasPrefix(f, "sys_") }

// orgFeatures returns the organization's features that go into tokens.
func orgFeatures(org *OrgMembership) []string {
	if org == nil {
		return nil
	}
	var out []string
	for _, f := range org.Features {
		if !isSystemFeature(f) && !slices.Contains(out, f) {
			out = append(out, f)
		}
	}
	return out
}

// featuresClaim builds fea: organization features first (scope "o", or
// "ou" when the user has the feature too), then user-only features ("u").
// Putting organization features first makes an fpm indexed by organization
// feature equally valid when indexed by position in fea.
func featuresClaim(org, user []string) string {
	var out []string
	for _, f := range org {
		scope := "o"
		if slices.Contains(user, f) {
			scope = "ou"
		}
		out = append(out, scope+":"+f)
	}
	for _, f := range user {
		if !slices.Contains(org, f) {
			out = append(out, "u:"+f)
		}
	}
	return strings.Join(out, ",")
}

// orgClaimV2 builds the o claim. per lists the sorted permission names;
// fpm holds, for each organization feature in fea order, the bitmask of its
// permissions (bit j = per[j]), the inverse of Clerk's decoding.
func orgClaimV2(org *OrgMembership, features []string) map[string]any {
	o := map[string]any{"id": org.ID, "rol": strings.TrimPrefix(org.Role, "org:")}
	if org.Slug != "" {
		o["slg"] = org.Slug
	}
	if len(features) == 0 {
		return o
	}
	var names []string
	for _, p := range org.Permissions {
		if f, name, _ := splitPermission(p); !isSystemFeature(f) && !slices.Contains(names, name) {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	masks := make([]string, len(features))
	for i, f := range features {
		mask := new(big.Int)
		for _, p := range org.Permissions {
			if pf, name, _ := splitPermission(p); pf == f {
				mask.SetBit(mask, slices.Index(names, name), 1)
			}
		}
		masks[i] = mask.String()
	}
	o["per"], o["fpm"] = strings.Join(names, ","), strings.Join(masks, ",")
	return o
}

type jwtTemplate struct {
	claims   map[string]any
	lifetime time.Duration
}

// AddJWTTemplate registers (or replaces) the JWT template name: its tokens
// carry Clerk's default template claims (azp, exp, iat, iss, jti, nbf, sub)
// plus claims, and last lifetime (default Config.TokenLifetime). String
// claim values that are exactly one of the shortcodes {{user.id}},
// {{user.primary_email_address}}, {{session.id}}, {{org.id}}, {{org.slug}}
// or {{org.role}} are replaced, also inside nested maps; other values are
// copied as they are.
func (s *Server) AddJWTTemplate(name string, claims map[string]any, lifetime time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.st.templates[name] = jwtTemplate{claims: maps.Clone(claims), lifetime: lifetime}
}

func (s *Server) template(name string) (jwtTemplate, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.st.templates[name]
	return t, ok
}

func (s *Server) templateClaims(sess *Session, o *tokenOptions) (map[string]any, error) {
	t, ok := s.template(o.template)
	if !ok {
		return nil, fmt.Errorf("%w: JWT template %q", ErrNotFound, o.template)
	}
	lifetime := t.lifetime
	if lifetime == 0 {
		lifetime = s.cfg.TokenLifetime
	}
	iat, exp := s.times(o, lifetime)
	c := map[string]any{
		"exp": exp.Unix(), "iat": iat.Unix(), "nbf": iat.Unix() - 5,
		"iss": s.Issuer(), "sub": sess.UserID, "jti": strings.ToLower(randomString(20)),
	}
	azp := sess.AuthorizedParty
	if o.azp != nil {
		azp = *o.azp
	}
	if azp != "" {
		c["azp"] = azp
	}
	codes := s.shortcodes(sess)
	for k, v := range t.claims {
		c[k] = expandShortcodes(v, codes)
	}
	return c, nil
}

func (s *Server) shortcodes(sess *Session) map[string]any {
	codes := map[string]any{"{{user.id}}": sess.UserID, "{{session.id}}": sess.ID}
	if u, err := s.User(sess.UserID); err == nil && u.Email != "" {
		codes["{{user.primary_email_address}}"] = u.Email
	}
	if sess.Org != nil {
		codes["{{org.id}}"], codes["{{org.slug}}"], codes["{{org.role}}"] = sess.Org.ID, sess.Org.Slug, sess.Org.Role
	}
	return codes
}

func expandShortcodes(v any, codes map[string]any) any {
	switch v := v.(type) {
	case string:
		if r, ok := codes[v]; ok {
			return r
		}
		return v
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, e := range v {
			out[k] = expandShortcodes(e, codes)
		}
		return out
	}
	return v
}

// encodeSegment returns the base64url (unpadded) of raw bytes.
func encodeSegment(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

func mint(header, payload map[string]any, signer Signer) (string, error) {
	h, err := json.Marshal(header)
	if err != nil {
		return "", fmt.Errorf("clerktest: encoding header: %w", err)
	}
	p, err := json.Marshal(payload)
	if err != nil {
		return "", fmt.Errorf("clerktest: encoding payload: %w", err)
	}
	input := encodeSegment(h) + "." + encodeSegment(p)
	sig, err := signer.Sign([]byte(input))
	if err != nil {
		return "", err
	}
	return input + "." + encodeSegment(sig), nil
}
