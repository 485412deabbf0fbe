package clerkauth

import (
	"errors"
	"math"
	"strconv"
	"time"

	"github.com/clerkauth/clerkauth/internal/jsonscan"
	"github.com/clerkauth/clerkauth/internal/scoped"
)

// How parseClaims treats each claim (absent always means the zero value):
//
//   - sub, sid, iss, azp, jti: must be strings, else token-verification-failed.
//   - aud: a string or an array of strings, else token-verification-failed.
//   - exp, nbf, iat: numbers with 0 <= x < 2^53 (fractions allowed), else
//     token-verification-failed.
//   - sts: a string or null, else token-verification-failed (a mistyped
//     status must not read as "active").
//   - act: an object or null, whose iss, sid, sub and type members are
//     strings or null, else token-verification-failed (a mistyped actor must
//     not hide an impersonation).
//   - v: 2 (any JSON number equal to 2) selects the v2 organization claims;
//     anything else is version 1.
//   - fva: exactly two integers, each -1 or in [0, 2^53); any other shape
//     leaves FactorVerificationAge nil, so reverification checks fail.
//   - fea, pla: strings; any other type reads as absent, so feature and plan
//     checks fail.
//   - v2 o and v1 org_*: the organization needs a non-empty string id; other
//     mistyped members read as absent, so role and permission checks fail.
//
// Error messages never hold claim values.

// claimsBlock holds a Claims and the values it usually points to, so that
// a token costs one allocation for all of them. The rare Actor is not in it.
type claimsBlock struct {
	c     Claims
	org   Organization
	perms pendingPermissions
	fva   [2]int
	aud   [1]string
}

// claimsDecoder builds a Claims from the members of a payload.
type claimsDecoder struct {
	// s is the payload as a string: decoded strings without escapes are
	// substrings of it, which saves an allocation per claim.
	s   string
	b   *claimsBlock
	act *Actor
	v2  bool
	// fea and pla are the feature and plan claims.
	fea, pla string
	// o holds the members of the v2 o claim, org the v1 org_* claims,
	// until v is known.
	o struct {
		present                  bool
		id, slug, role, per, fpm string
	}
	orgID, orgSlug, orgRole, orgPerms jsonscan.Value
}

// parseClaims decodes a session token's JSON payload into Claims, with
// the organization permissions expanded: for claims whose signature is
// checked, or that are only decoded.
func parseClaims(payload []byte) (*Claims, error) {
	c, err := parseClaimsUnsigned(payload)
	if err != nil {
		return nil, err
	}
	c.expandPermissions()
	return c, nil
}

// parseClaimsUnsigned decodes a session token's JSON payload into Claims,
// leaving the organization permissions undecoded until
// [Claims.expandPermissions] (after the signature check); see the table
// above for each claim's rules. Malformed JSON gives token-invalid, a
// mistyped registered claim token-verification-failed.
func parseClaimsUnsigned(payload []byte) (*Claims, error) {
	d := claimsDecoder{s: string(payload), b: new(claimsBlock)}
	nestedClaims := [...]string{"act", "o"}
	if err := jsonscan.ObjectNested(payload, d.member, nestedClaims[:], d.nested); err != nil {
		if _, ok := err.(*jsonscan.SyntaxError); ok {
			return nil, verrWrap(ReasonTokenInvalid, "payload is not a valid JSON object", err)
		}
		return nil, err
	}
	d.finish()
	c := &d.b.c
	c.raw = d.s
	return c, nil
}

// member decodes one top-level member.
func (d *claimsDecoder) member(key []byte, v jsonscan.Value) error {
	c := &d.b.c
	switch string(key) {
	case "sub":
		return d.requireString(&c.UserID, v, "sub claim must be a string")
	case "sid":
		return d.requireString(&c.SessionID, v, "sid claim must be a string")
	case "iss":
		return d.requireString(&c.Issuer, v, "iss claim must be a string")
	case "azp":
		return d.requireString(&c.AuthorizedParty, v, "azp claim must be a string")
	case "jti":
		return d.requireString(&c.ID, v, "jti claim must be a string")
	case "aud":
		return d.audience(v)
	case "exp":
		return d.numericDate(&c.Expiry, v, "exp claim must be a number of seconds in [0, 2^53)")
	case "nbf":
		return d.numericDate(&c.NotBefore, v, "nbf claim must be a number of seconds in [0, 2^53)")
	case "iat":
		return d.numericDate(&c.IssuedAt, v, "iat claim must be a number of seconds in [0, 2^53)")
	case "sts":
		return d.optionalString(&c.SessionStatus, 0, v, "sts claim must be a string")
	case "act":
		return d.actor(v)
	default:
		d.deferred(key, v)
	}
	return nil
}

// deferred records the claims that need no check now: those read leniently
// and those whose meaning depends on v.
func (d *claimsDecoder) deferred(key []byte, v jsonscan.Value) {
	switch string(key) {
	case "v":
		d.v2 = v.Kind == jsonscan.KindNumber && d.number(0, v) == 2
	case "fva":
		d.b.c.FactorVerificationAge = d.factorAges(v)
	case "fea":
		d.fea = d.lenientString(0, v)
	case "pla":
		d.pla = d.lenientString(0, v)
	case "o":
		d.o.present = v.Kind == jsonscan.KindObject
	case "org_id":
		d.orgID = v
	case "org_slug":
		d.orgSlug = v
	case "org_role":
		d.orgRole = v
	case "org_permissions":
		d.orgPerms = v
	}
}

// finish derives what depends on several claims.
func (d *claimsDecoder) finish() {
	c := &d.b.c
	c.Version = 1
	if d.v2 {
		c.Version = 2
	}
	c.Features, c.Plans = scoped.SplitLists(d.fea, d.pla)
	if d.v2 {
		c.Org = d.orgV2()
	} else {
		c.Org = d.orgV1()
	}
}

// str returns the value of the string v, whose offset is relative to the
// payload offset base.
func (d *claimsDecoder) str(base int, v jsonscan.Value) string {
	if v.Escaped {
		return string(jsonscan.Unescape(v.Raw[1 : len(v.Raw)-1]))
	}
	start := base + v.Off + 1
	return d.s[start : start+len(v.Raw)-2]
}

func (d *claimsDecoder) requireString(dst *string, v jsonscan.Value, msg string) error {
	if v.Kind != jsonscan.KindString {
		return verr(ReasonTokenVerificationFailed, msg)
	}
	*dst = d.str(0, v)
	return nil
}

// optionalString is requireString that also accepts null.
func (d *claimsDecoder) optionalString(dst *string, base int, v jsonscan.Value, msg string) error {
	switch v.Kind {
	case jsonscan.KindNull:
		return nil
	case jsonscan.KindString:
		*dst = d.str(base, v)
		return nil
	}
	return verr(ReasonTokenVerificationFailed, msg)
}

// lenientString returns v's value if it is a string, else "".
func (d *claimsDecoder) lenientString(base int, v jsonscan.Value) string {
	if v.Kind != jsonscan.KindString {
		return ""
	}
	return d.str(base, v)
}

// number returns the value of the number v, or NaN if it does not fit a
// float64.
func (d *claimsDecoder) number(base int, v jsonscan.Value) float64 {
	text := d.s[base+v.Off : base+v.Off+len(v.Raw)]
	if n, ok := smallUint(text); ok {
		return float64(n)
	}
	if n, ok := smallUint(text[1:]); ok && text[0] == '-' { // fva's -1
		return -float64(n)
	}
	f, err := strconv.ParseFloat(text, 64)
	if err != nil {
		return math.NaN()
	}
	return f
}

// smallUint parses a plain integer of at most 15 digits, the common form of
// every numeric claim.
func smallUint(s string) (uint64, bool) {
	if len(s) == 0 || len(s) > 15 {
		return 0, false
	}
	var n uint64
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
		n = n*10 + uint64(s[i]-'0')
	}
	return n, true
}

// numericDate decodes a JWT NumericDate.
func (d *claimsDecoder) numericDate(dst *time.Time, v jsonscan.Value, msg string) error {
	if v.Kind != jsonscan.KindNumber {
		return verr(ReasonTokenVerificationFailed, msg)
	}
	f := d.number(0, v)
	if !(f >= 0 && f < 1<<53) {
		return verr(ReasonTokenVerificationFailed, msg)
	}
	sec, frac := math.Modf(f)
	*dst = time.Unix(int64(sec), int64(frac*1e9)).UTC()
	return nil
}

func (d *claimsDecoder) audience(v jsonscan.Value) error {
	const msg = "aud claim must be a string or an array of strings"
	c := &d.b.c
	switch v.Kind {
	case jsonscan.KindString:
		d.b.aud[0] = d.str(0, v)
		c.Audience = d.b.aud[:1:1]
		return nil
	case jsonscan.KindArray:
		var aud []string
		err := jsonscan.Array(v.Raw, func(e jsonscan.Value) error {
			if e.Kind != jsonscan.KindString {
				return verr(ReasonTokenVerificationFailed, msg)
			}
			aud = append(aud, d.str(v.Off, e))
			return nil
		})
		c.Audience = aud
		return err
	}
	return verr(ReasonTokenVerificationFailed, msg)
}

// nested decodes the members of the act and o claims.
func (d *claimsDecoder) nested(parent, key []byte, v jsonscan.Value) error {
	if string(parent) == "act" {
		return d.actorMember(key, v)
	}
	d.orgMember(key, v)
	return nil
}

// actor checks the act claim, whose members actorMember has decoded.
func (d *claimsDecoder) actor(v jsonscan.Value) error {
	switch v.Kind {
	case jsonscan.KindNull:
		return nil
	case jsonscan.KindObject:
		if d.act == nil { // {}: no member was decoded
			d.act = new(Actor)
		}
		d.b.c.Actor = d.act
		return nil
	}
	return verr(ReasonTokenVerificationFailed, actorMessage)
}

const actorMessage = "act claim must be an object of strings"

func (d *claimsDecoder) actorMember(key []byte, v jsonscan.Value) error {
	if d.act == nil {
		d.act = new(Actor)
	}
	a := d.act
	switch string(key) {
	case "iss":
		return d.optionalString(&a.Issuer, 0, v, actorMessage)
	case "sid":
		return d.optionalString(&a.SessionID, 0, v, actorMessage)
	case "sub":
		return d.optionalString(&a.Subject, 0, v, actorMessage)
	case "type":
		return d.optionalString(&a.Type, 0, v, actorMessage)
	}
	return nil
}

// orgMember decodes a member of the v2 o claim.
func (d *claimsDecoder) orgMember(key []byte, v jsonscan.Value) {
	switch string(key) {
	case "id":
		d.o.id = d.lenientString(0, v)
	case "slg":
		d.o.slug = d.lenientString(0, v)
	case "rol":
		d.o.role = d.lenientString(0, v)
	case "per":
		d.o.per = d.lenientString(0, v)
	case "fpm":
		d.o.fpm = d.lenientString(0, v)
	}
}

// factorAges decodes fva, or returns nil if its shape is not two integers,
// each -1 or in [0, 2^53).
func (d *claimsDecoder) factorAges(v jsonscan.Value) []int {
	if v.Kind != jsonscan.KindArray {
		return nil
	}
	dst := &d.b.fva
	n := 0
	err := jsonscan.Array(v.Raw, func(e jsonscan.Value) error {
		if n == len(dst) || e.Kind != jsonscan.KindNumber {
			return errStop
		}
		f := d.number(v.Off, e)
		if f != math.Trunc(f) || f < -1 || f >= 1<<53 {
			return errStop
		}
		dst[n] = int(f)
		n++
		return nil
	})
	if err != nil || n != len(dst) {
		return nil
	}
	return dst[:]
}

// errStop ends a scan early; it never leaves this file.
var errStop = errors.New("clerkauth: stop scanning")

// orgV2 returns the organization of the v2 o claim, with the permissions
// it encodes.
func (d *claimsDecoder) orgV2() *Organization {
	if !d.o.present || d.o.id == "" {
		return nil
	}
	org := &d.b.org
	org.ID, org.Slug, org.Role = d.o.id, d.o.slug, scoped.PrefixWithOrg(d.o.role)
	d.b.c.orgPerms = &d.b.perms // expanded once the signature is checked
	d.b.perms = pendingPermissions{per: d.o.per, fpm: d.o.fpm}
	return org
}

// orgV1 decodes the v1 org_id, org_slug, org_role and org_permissions
// claims.
func (d *claimsDecoder) orgV1() *Organization {
	id := d.lenientString(0, d.orgID)
	if id == "" {
		return nil
	}
	org := &d.b.org
	org.ID = id
	org.Slug = d.lenientString(0, d.orgSlug)
	org.Role = scoped.PrefixWithOrg(d.lenientString(0, d.orgRole))
	org.Permissions = d.stringList(d.orgPerms)
	return org
}

// stringList decodes an array of strings, or returns nil if v is anything
// else.
func (d *claimsDecoder) stringList(v jsonscan.Value) []string {
	if v.Kind != jsonscan.KindArray {
		return nil
	}
	var list []string
	err := jsonscan.Array(v.Raw, func(e jsonscan.Value) error {
		if e.Kind != jsonscan.KindString {
			return errStop
		}
		list = append(list, d.str(v.Off, e))
		return nil
	})
	if err != nil {
		return nil
	}
	return list
}
