package clerkauth

import (
	"encoding/base64"
	"errors"
	"slices"
	"strings"

	"github.com/clerkauth/clerkauth/internal/jsonscan"
)

// JWT categories in Clerk's cat header.
const (
	categorySession = "cl_B7d4PD111AAA"
	categoryIgnore  = "cl_I7d4PD111III"
)

var defaultAlgorithms = []string{"RS256", "RS384", "RS512"}

// parsedToken is a structurally valid token whose signature is not yet
// checked: nothing in it may be trusted or reported.
type parsedToken struct {
	alg          string
	kid          string
	signingInput string
	sig          []byte
	claims       *Claims
}

// parse splits and decodes a session token and applies every check that
// needs no key: size, shape, header and claim syntax.
func (v *Verifier) parse(token string) (*parsedToken, error) {
	return v.parseWith(token, v.checkHeader)
}

// parseWith is parse with the header rules of checkHeader, for the token
// kinds with rules of their own (machine_jwt.go).
func (v *Verifier) parseWith(token string, checkHeader func(*joseHeader) error) (*parsedToken, error) {
	if len(token) > MaxTokenSize {
		return nil, verr(ReasonTokenInvalid, "token exceeds 16 KiB")
	}
	h, p, s, ok := splitToken(token)
	if !ok {
		return nil, verr(ReasonTokenInvalid, "a JWT consists of three parts separated by dots")
	}
	t := &parsedToken{signingInput: token[:len(h)+1+len(p)]}
	if err := parseHeader(h, t, checkHeader); err != nil {
		return nil, err
	}
	if s == "" {
		return nil, verr(ReasonTokenInvalid, "token has no signature")
	}
	sig, err := b64url.DecodeString(s)
	if err != nil || len(sig) == 0 {
		return nil, verr(ReasonTokenInvalid, "signature is not base64url")
	}
	t.sig = sig
	payload, err := b64url.DecodeString(p)
	if err != nil {
		return nil, verr(ReasonTokenInvalid, "payload is not base64url")
	}
	if t.claims, err = parseClaimsUnsigned(payload); err != nil {
		return nil, err
	}
	return t, nil
}

func splitToken(token string) (header, payload, sig string, ok bool) {
	header, rest, ok1 := strings.Cut(token, ".")
	payload, sig, ok2 := strings.Cut(rest, ".")
	if !ok1 || !ok2 || strings.IndexByte(sig, '.') >= 0 {
		return "", "", "", false
	}
	return header, payload, sig, header != "" && payload != ""
}

func parseHeader(seg string, t *parsedToken, checkHeader func(*joseHeader) error) error {
	raw, err := b64url.DecodeString(seg)
	if err != nil {
		return verr(ReasonTokenInvalid, "header is not base64url")
	}
	h, err := decodeHeader(raw)
	if err != nil {
		return verrWrap(ReasonTokenInvalid, "header is not a valid JSON object", err)
	}
	if err := checkHeader(&h); err != nil {
		return err
	}
	t.alg, t.kid = h.alg, h.kid
	return nil
}

func (v *Verifier) checkHeader(h *joseHeader) error {
	switch {
	case !slices.Contains(v.algs, h.alg):
		return verr(ReasonTokenInvalidAlgorithm, "algorithm is not allowed")
	case h.hasTyp && isAccessTokenType(h.typ):
		return verr(ReasonTokenTypeMismatch, "OAuth access tokens are not session tokens")
	case h.hasTyp && h.typ != "JWT":
		return verr(ReasonTokenInvalid, `typ must be "JWT" or absent`)
	case h.hasCat && h.cat != categorySession && h.cat != categoryIgnore:
		return verr(ReasonTokenTypeMismatch, "token category is not a session token")
	case h.hasCrit:
		return verr(ReasonTokenInvalid, "critical header parameters are not supported")
	}
	return nil
}

// b64url decodes JWT segments strictly: no padding, no non-zero trailing
// bits, so one signature has one encoding.
var b64url = base64.RawURLEncoding.Strict()

// joseHeader holds the header members clerkauth reads. Embedded keys (jwk,
// jku, x5u, x5c) are never read: keys come only from the configured source.
type joseHeader struct {
	alg, kid       string
	typ, cat       string
	hasTyp, hasCat bool
	hasCrit        bool
}

// headerMembers are the header member names clerkauth reads.
var headerMembers = [...]string{"alg", "kid", "typ", "cat", "crit"}

var (
	errHeaderType = errors.New("header alg, kid, typ and cat must be strings")
	errHeaderCase = errors.New("header member name differs from a known one only in case")
)

// decodeHeader decodes a JOSE header with the strict scanner the claims
// use (jsonscan.go): malformed JSON, trailing data, invalid UTF-8 and a
// repeated member are rejected (encoding/json, used before, let the last
// repeated member win). Names are case-sensitive, as RFC 7515 says, and a
// name matching a known member only case-insensitively ("ALG", which
// encoding/json read as alg) is rejected rather than ignored. Expected
// values are compared before they are copied, so a Clerk header costs one
// allocation (its kid), against 10 and 1.5 µs with encoding/json.
func decodeHeader(raw []byte) (joseHeader, error) {
	var h joseHeader
	err := jsonscan.Object(raw, h.setMember)
	return h, err
}

func (h *joseHeader) setMember(key []byte, v jsonscan.Value) error {
	var ok bool
	switch string(key) {
	case "alg":
		h.alg, ok = headerText(v, defaultAlgorithms...)
	case "kid":
		h.kid, ok = headerText(v)
	case "typ":
		h.typ, ok = headerText(v, "JWT")
		h.hasTyp = true
	case "cat":
		h.cat, ok = headerText(v, categorySession, categoryIgnore)
		h.hasCat = true
	case "crit":
		h.hasCrit, ok = true, true
	default:
		for _, known := range headerMembers {
			if strings.EqualFold(string(key), known) {
				return errHeaderCase
			}
		}
		ok = true
	}
	if !ok {
		return errHeaderType
	}
	return nil
}

// headerText returns a string member's value, as one of the expected
// constants when it equals one (no allocation), and false for any other
// kind of value.
func headerText(v jsonscan.Value, expected ...string) (string, bool) {
	if v.Kind != jsonscan.KindString {
		return "", false
	}
	if !v.Escaped {
		for _, e := range expected {
			if string(v.Raw[1:len(v.Raw)-1]) == e {
				return e, true
			}
		}
	}
	return v.Text()
}
