package clerkauth

import (
	"bytes"
	"encoding/json"
	"errors"
	"slices"
	"strings"
)

// joseHeader holds the header members clerkauth reads. Embedded keys (jwk,
// jku, x5u, x5c) are never read: keys come only from the configured source.
type joseHeader struct {
	alg, kid       string
	typ, cat       string
	hasTyp, hasCat bool
	crit           json.RawMessage // as written; nil when absent
}

// headerMembers are the header member names clerkauth reads.
var headerMembers = [...]string{"alg", "kid", "typ", "cat", "crit"}

var (
	errHeaderSyntax    = errors.New("header is not a JSON object")
	errHeaderDuplicate = errors.New("header repeats a member")
	errHeaderCase      = errors.New("header member name differs from a known one only in case")
)

// decodeHeader decodes a JOSE header. Clerk's shape, a flat object of
// alg, cat, kid and typ with plain ASCII string values, is read by hand,
// without encoding/json's reflection; any other shape (other members,
// escapes, non-string values, non-ASCII, malformed input) goes through
// encoding/json. Both paths are stricter than encoding/json alone: they
// reject a repeated member (it would let the last one win) and, in the
// general path, a name that matches a known member only case-insensitively
// (encoding/json would read "ALG" as alg).
func decodeHeader(raw []byte) (joseHeader, error) {
	if h, ok, err := decodeHeaderFast(raw); ok || err != nil {
		return h, err
	}
	return decodeHeaderJSON(raw)
}

// decodeHeaderFast reads Clerk's header shape. ok is false when raw has any
// other shape, for the general path to judge.
func decodeHeaderFast(raw []byte) (h joseHeader, ok bool, err error) {
	i := skipSpace(raw, 0)
	if i >= len(raw) || raw[i] != '{' {
		return h, false, nil
	}
	var seen uint8
	for i = skipSpace(raw, i+1); ; i = skipSpace(raw, i+1) {
		key, j, ok := plainString(raw, i)
		if !ok {
			return h, false, nil
		}
		if i = skipSpace(raw, j); i >= len(raw) || raw[i] != ':' {
			return h, false, nil
		}
		val, j, ok := plainString(raw, skipSpace(raw, i+1))
		if !ok {
			return h, false, nil
		}
		bit := h.setPlain(key, val)
		if bit == 0 {
			return h, false, nil
		}
		if seen&bit != 0 {
			return h, true, errHeaderDuplicate
		}
		seen |= bit
		if i = skipSpace(raw, j); i >= len(raw) || (raw[i] != ',' && raw[i] != '}') {
			return h, false, nil
		}
		if raw[i] == '}' {
			return h, skipSpace(raw, i+1) == len(raw), nil
		}
	}
}

// setPlain stores a string member read by the fast path and returns its
// bit, or 0 for a member the fast path leaves to encoding/json. Expected
// values are stored as constants, so they cost no allocation.
func (h *joseHeader) setPlain(key, val []byte) uint8 {
	switch string(key) {
	case "alg":
		h.alg = internAlg(val)
		return 1
	case "kid":
		h.kid = string(val)
		return 2
	case "typ":
		h.typ, h.hasTyp = internOne(val, "JWT"), true
		return 4
	case "cat":
		h.cat, h.hasCat = internOne(val, categorySession), true
		return 8
	}
	return 0
}

func internAlg(b []byte) string {
	for _, a := range defaultAlgorithms {
		if string(b) == a {
			return a
		}
	}
	return string(b)
}

func internOne(b []byte, want string) string {
	if string(b) == want {
		return want
	}
	return string(b)
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// plainString reads a JSON string at b[i] made only of printable ASCII
// without escapes, and returns its contents and the index after it. ok is
// false for anything else.
func plainString(b []byte, i int) (s []byte, next int, ok bool) {
	if i >= len(b) || b[i] != '"' {
		return nil, i, false
	}
	for j := i + 1; j < len(b); j++ {
		switch c := b[j]; {
		case c == '"':
			return b[i+1 : j], j + 1, true
		case c == '\\' || c < 0x20 || c >= 0x7f:
			return nil, i, false
		}
	}
	return nil, i, false
}

// jsonHeader is the general path's view of the header.
type jsonHeader struct {
	Alg  string          `json:"alg"`
	Kid  string          `json:"kid"`
	Typ  *string         `json:"typ"`
	Cat  *string         `json:"cat"`
	Crit json.RawMessage `json:"crit"`
}

// decodeHeaderJSON decodes any header shape with encoding/json, after
// checking its member names.
func decodeHeaderJSON(raw []byte) (joseHeader, error) {
	if err := checkMemberNames(raw); err != nil {
		return joseHeader{}, err
	}
	var j jsonHeader
	if err := json.Unmarshal(raw, &j); err != nil {
		return joseHeader{}, errHeaderSyntax
	}
	h := joseHeader{alg: j.Alg, kid: j.Kid, crit: j.Crit}
	if j.Typ != nil {
		h.typ, h.hasTyp = *j.Typ, true
	}
	if j.Cat != nil {
		h.cat, h.hasCat = *j.Cat, true
	}
	return h, nil
}

// checkMemberNames rejects a header object that repeats a member name or
// spells a known one in another case.
func checkMemberNames(raw []byte) error {
	dec := json.NewDecoder(bytes.NewReader(raw))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return errHeaderSyntax
	}
	var names []string
	for dec.More() {
		t, err := dec.Token()
		name, ok := t.(string)
		if err != nil || !ok {
			return errHeaderSyntax
		}
		if slices.Contains(names, name) {
			return errHeaderDuplicate
		}
		for _, known := range headerMembers {
			if name != known && strings.EqualFold(name, known) {
				return errHeaderCase
			}
		}
		names = append(names, name)
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			return errHeaderSyntax
		}
	}
	return nil
}
