// Package scoped decodes the comma-separated, scope-prefixed strings of
// Clerk's session token claims: the fea and pla lists ("o:dashboard,u:beta")
// and the v2 organization permissions encoded in fea, o.per and o.fpm. It
// answers the list questions of has() (scoped features and plans,
// organization permissions) and the "org:" prefix rules, and knows nothing
// of tokens or their verification.
package scoped

import (
	"math/big"
	"math/bits"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// The v2 permission claims. A v2 token does not list the
// organization permissions; it carries
//
//	fea   "o:dashboard,o:teams,u:beta"  scoped features (o, u, ou or uo)
//	o.per "manage,read"                 permission names, bit j = name j
//	o.fpm "3,2"                         one decimal bitmask per feature
//
// and the permission org:<feature>:<name> is granted when bit j (least
// significant first) of the feature's bitmask is set.
//
// Which bitmask belongs to which feature is ambiguous: Clerk's docs say the
// position in fpm matches the position in the whole fea claim, Clerk's JS
// SDK indexes fpm by the position among the organization features only.
// Both agree when user-only features come last, as in every token seen. We
// index by the whole fea position when fpm has exactly one entry per fea
// element, and by the organization position otherwise.
//
// A malformed claim (a fea element without a colon, an fpm element that is
// not a decimal number) grants no permission at all. Bitmasks have
// arbitrary precision, so per may list more than 64 names.

// Permissions decodes the permissions granted by per and fpm for the
// features fea (the already split fea claim).
func Permissions(fea []string, per, fpm string) []string {
	if per == "" || fpm == "" || len(fea) == 0 {
		return nil
	}
	masks, ok := countBitmasks(fpm)
	if !ok || !allScoped(fea) {
		return nil
	}
	w := permissionWalk{fea: fea, per: per, fpm: fpm, byPosition: masks == len(fea)}
	var g grants
	w.each(g.count)
	if g.n == 0 {
		return nil
	}
	return g.build(&w)
}

// grants sizes a permission list, and remembers its first entries so that
// a typical token is walked only once.
type grants struct {
	n, size int
	first   [16]struct{ feature, name string }
}

func (g *grants) count(feature, name string) {
	if g.n < len(g.first) {
		g.first[g.n].feature, g.first[g.n].name = feature, name
	}
	g.n++
	g.size += len("org:") + len(feature) + len(":") + len(name)
}

// build returns the permissions counted, walking w again if there were too
// many to remember. One buffer holds them all: strings taken from a Builder
// stay valid as it grows, since it only ever appends.
func (g *grants) build(w *permissionWalk) []string {
	out := make([]string, 0, g.n)
	var b strings.Builder
	b.Grow(g.size)
	add := func(feature, name string) {
		start := b.Len()
		b.WriteString("org:")
		b.WriteString(feature)
		b.WriteByte(':')
		b.WriteString(name)
		out = append(out, b.String()[start:])
	}
	if g.n > len(g.first) {
		w.each(add)
		return out
	}
	for _, e := range g.first[:g.n] {
		add(e.feature, e.name)
	}
	return out
}

// countBitmasks returns the number of fpm elements, and false if one is
// not a decimal number.
func countBitmasks(fpm string) (int, bool) {
	n := 0
	for rest, more := fpm, true; more; n++ {
		var element string
		element, rest, more = cutComma(rest)
		if !isDecimal(TrimJS(element)) {
			return 0, false
		}
	}
	return n, true
}

func isDecimal(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) {
			return false
		}
	}
	return true
}

// allScoped reports whether every element has a scope (a colon).
func allScoped(elements []string) bool {
	for _, e := range elements {
		if strings.IndexByte(e, ':') < 0 {
			return false
		}
	}
	return true
}

// IsOrgScope reports whether a fea scope covers the organization.
func IsOrgScope(scope string) bool { return scope == "o" || scope == "ou" || scope == "uo" }

// permissionWalk enumerates the permissions of validated claims.
type permissionWalk struct {
	fea        []string
	per, fpm   string
	byPosition bool
}

// each calls emit for every granted permission, in fea then per order.
func (w *permissionWalk) each(emit func(feature, name string)) {
	masks := listCursor{rest: w.fpm}
	orgIndex := 0
	for pos, element := range w.fea {
		scope, feature, _ := Cut(element, ':')
		if !IsOrgScope(scope) {
			continue
		}
		index := orgIndex
		if w.byPosition {
			index = pos
		}
		orgIndex++
		mask, ok := masks.seek(index)
		if !ok {
			return
		}
		m := parseBitmask(TrimJS(mask))
		names := w.per
		for j := 0; j < m.len(); j++ {
			name, rest, more := cutComma(names)
			if m.bit(j) {
				emit(feature, TrimJS(name))
			}
			if !more {
				break
			}
			names = rest
		}
	}
}

// listCursor walks the elements of a comma-separated list forwards.
type listCursor struct {
	rest string
	next int // index of the first element of rest
	done bool
}

// seek returns element i, which must not be before the last one returned.
func (c *listCursor) seek(i int) (string, bool) {
	for !c.done {
		element, rest, more := cutComma(c.rest)
		c.rest, c.done = rest, !more
		c.next++
		if c.next-1 == i {
			return element, true
		}
	}
	return "", false
}

// bitmask is a decoded fpm element: a uint64 when it fits, else a big.Int.
type bitmask struct {
	small uint64
	big   *big.Int
}

// parseBitmask decodes a validated decimal string.
func parseBitmask(digits string) bitmask {
	if len(digits) <= 19 { // always fits: 10^19 - 1 < 2^64
		var n uint64
		for i := 0; i < len(digits); i++ {
			n = n*10 + uint64(digits[i]-'0')
		}
		return bitmask{small: n}
	}
	if n, err := strconv.ParseUint(digits, 10, 64); err == nil {
		return bitmask{small: n}
	}
	n, _ := new(big.Int).SetString(digits, 10)
	return bitmask{big: n}
}

// len returns the number of bits up to the highest set one.
func (m bitmask) len() int {
	if m.big != nil {
		return m.big.BitLen()
	}
	return bits.Len64(m.small)
}

// bit reports whether bit j (least significant first) is set.
func (m bitmask) bit(j int) bool {
	if m.big != nil {
		return m.big.Bit(j) == 1
	}
	return j < 64 && m.small>>uint(j)&1 == 1
}

// SplitLists splits the fea and pla claims into their trimmed
// elements, sharing one allocation. An empty claim gives nil.
func SplitLists(fea, pla string) (features, plans []string) {
	nf, np := countElements(fea), countElements(pla)
	if nf+np == 0 {
		return nil, nil
	}
	all := make([]string, nf+np)
	fillElements(all[:nf], fea)
	fillElements(all[nf:], pla)
	if nf > 0 {
		features = all[:nf:nf]
	}
	if np > 0 {
		plans = all[nf:]
	}
	return features, plans
}

// cutComma is strings.Cut(s, ",") without the general substring search.
func cutComma(s string) (before, after string, found bool) { return Cut(s, ',') }

// Cut is strings.Cut for a one-byte separator. A plain loop beats
// strings.IndexByte on the short elements of claims.
func Cut(s string, sep byte) (before, after string, found bool) {
	for i := 0; i < len(s); i++ {
		if s[i] == sep {
			return s[:i], s[i+1:], true
		}
	}
	return s, "", false
}

func countElements(list string) int {
	if list == "" {
		return 0
	}
	return strings.Count(list, ",") + 1
}

func fillElements(dst []string, list string) {
	for i := range dst {
		var element string
		element, list, _ = cutComma(list)
		dst[i] = TrimJS(element)
	}
}

// TrimOrgPrefixes strips every leading "org:".
func TrimOrgPrefixes(v string) string {
	for strings.HasPrefix(v, "org:") {
		v = v[len("org:"):]
	}
	return v
}

// PrefixWithOrg returns v with its leading "org:" prefixes collapsed into
// one (adding it if there is none), as Clerk's PrefixWithOrg does; "" stays
// "" (no role). It reuses v's memory when v already has a prefix.
func PrefixWithOrg(v string) string {
	if v == "" {
		return ""
	}
	t := TrimOrgPrefixes(v)
	if len(t) < len(v) {
		return v[len(v)-len(t)-len("org:"):]
	}
	return "org:" + v
}

// TrimJS trims what JavaScript's String.prototype.trim trims: Unicode white
// space and line terminators, including U+FEFF but not U+0085.
func TrimJS(s string) string {
	if len(s) > 0 && ' ' < s[0] && s[0] < utf8.RuneSelf && ' ' < s[len(s)-1] && s[len(s)-1] < utf8.RuneSelf {
		return s // the common case: no ASCII or Unicode space at either end
	}
	start, end := 0, len(s)
	for start < end {
		r, size := rune(s[start]), 1
		if r >= utf8.RuneSelf {
			r, size = utf8.DecodeRuneInString(s[start:end])
		}
		if !isJSSpace(r) {
			break
		}
		start += size
	}
	for end > start {
		r, size := rune(s[end-1]), 1
		if r >= utf8.RuneSelf {
			r, size = utf8.DecodeLastRuneInString(s[start:end])
		}
		if !isJSSpace(r) {
			break
		}
		end -= size
	}
	return s[start:end]
}

func isJSSpace(r rune) bool {
	switch r {
	case ' ', '\t', '\n', '\v', '\f', '\r', 0xFEFF:
		return true
	case 0x85:
		return false
	}
	return r >= utf8.RuneSelf && unicode.IsSpace(r)
}

// HasOrgPermission reports whether perms holds PrefixWithOrg(want), without
// building it.
func HasOrgPermission(perms []string, want string) bool {
	want = TrimOrgPrefixes(want)
	for _, p := range perms {
		if len(p) == len("org:")+len(want) && strings.HasPrefix(p, "org:") && p[len("org:"):] == want {
			return true
		}
	}
	return false
}

// Has reports whether the scoped list (fea or pla elements) holds
// want. A list element without a scope makes the whole list unusable, as
// Clerk's splitByScope throws on it.
func Has(list []string, want string) bool {
	scope, id, scoped := Cut(want, ':')
	wantOrg, wantUser := true, true
	if !scoped {
		id = scope
	} else {
		wantOrg = scope == "o" || scope == "org" || scope == "organization"
		wantUser = scope == "u" || scope == "user"
	}
	if id == "" || (!wantOrg && !wantUser) || len(list) == 0 {
		return false
	}
	found := false
	for _, element := range list {
		s, value, ok := Cut(element, ':')
		if !ok {
			return false
		}
		org, user := IsOrgScope(s), s == "u" || s == "ou" || s == "uo"
		if value == id && ((wantOrg && org) || (wantUser && user)) {
			found = true
		}
	}
	return found
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }
