package clerktest

import (
	"bytes"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
)

// parseSignedJWT checks that token is a compact RS256 JWT signed by a key
// of the served key set and returns its header and payload, numbers as
// json.Number. Claims are not checked.
func (s *Server) parseSignedJWT(token string) (header, payload map[string]any, err error) {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return nil, nil, errors.New("malformed token")
	}
	if decodeJSONSegment(parts[0], &header) != nil || decodeJSONSegment(parts[1], &payload) != nil ||
		header == nil || payload == nil {
		return nil, nil, errors.New("malformed token")
	}
	kid, _ := header["kid"].(string)
	key := s.publishedKey(kid)
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if key == nil || header["alg"] != "RS256" || err != nil {
		return nil, nil, errors.New("unknown key or algorithm")
	}
	sum := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	if rsa.VerifyPKCS1v15(key, crypto.SHA256, sum[:], sig) != nil {
		return nil, nil, errors.New("bad signature")
	}
	return header, payload, nil
}

func decodeJSONSegment(seg string, v any) error {
	b, err := base64.RawURLEncoding.DecodeString(seg)
	if err != nil {
		return err
	}
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	return d.Decode(v)
}

// numberClaim returns an integral numeric claim.
func numberClaim(payload map[string]any, name string) (int64, bool) {
	n, ok := payload[name].(json.Number)
	if !ok {
		return 0, false
	}
	if i, err := n.Int64(); err == nil {
		return i, true
	}
	f, err := n.Float64()
	return int64(f), err == nil
}
