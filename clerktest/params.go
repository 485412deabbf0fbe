package clerktest

import (
	"bytes"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

const maxBodyBytes = 1 << 20

// bodyParams reads a JSON object (or a form) body; an empty body gives no
// parameters. Values are strings, json.Number, bools, nil or nested JSON.
func bodyParams(r *http.Request) (map[string]any, *httpError) {
	b, err := io.ReadAll(io.LimitReader(r.Body, maxBodyBytes+1))
	if err != nil || len(b) > maxBodyBytes {
		return nil, errBodyInvalid()
	}
	if len(bytes.TrimSpace(b)) == 0 {
		return map[string]any{}, nil
	}
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt == "application/x-www-form-urlencoded" {
		return formParams(string(b))
	}
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var m map[string]any
	if err := d.Decode(&m); err != nil || m == nil {
		return nil, errBodyInvalid()
	}
	return m, nil
}

func formParams(body string) (map[string]any, *httpError) {
	v, err := url.ParseQuery(body)
	if err != nil {
		return nil, errBodyInvalid()
	}
	m := map[string]any{}
	for k := range v {
		m[k] = v.Get(k)
	}
	return m, nil
}

func errBodyInvalid() *httpError {
	return errBadRequest("request_body_invalid",
		"The request body is invalid. Please consult the API documentation for more information.")
}

// stringParam returns a string parameter; absent or null gives "".
func stringParam(m map[string]any, name string) (string, *httpError) {
	switch v := m[name].(type) {
	case nil:
		return "", nil
	case string:
		return v, nil
	}
	return "", errParamInvalid(name, name+" must be a string.")
}

// intParam returns an integer parameter; absent or null gives nil.
func intParam(m map[string]any, name string) (*int64, *httpError) {
	var s string
	switch v := m[name].(type) {
	case nil:
		return nil, nil
	case json.Number:
		s = v.String()
	case string:
		s = v
	default:
		return nil, errParamInvalid(name, name+" must be an integer.")
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return nil, errParamInvalid(name, name+" must be an integer.")
	}
	return &n, nil
}

// verifyToken checks an RS256 token of session sid against the published
// keys and the server clock, for the verify endpoint.
func (s *Server) verifyToken(token, sid string) error {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return errors.New("malformed token")
	}
	var header struct{ Alg, Kid string }
	var claims struct {
		Sid string `json:"sid"`
		Exp int64  `json:"exp"`
	}
	if decodeSegment(parts[0], &header) != nil || decodeSegment(parts[1], &claims) != nil {
		return errors.New("malformed token")
	}
	key := s.publishedKey(header.Kid)
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if key == nil || header.Alg != "RS256" || err != nil {
		return errors.New("unknown key or algorithm")
	}
	sum := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	if rsa.VerifyPKCS1v15(key, crypto.SHA256, sum[:], sig) != nil {
		return errors.New("bad signature")
	}
	if !s.clock.Now().Before(time.Unix(claims.Exp, 0)) {
		return errors.New("token expired")
	}
	if claims.Sid != sid {
		return fmt.Errorf("token belongs to another session")
	}
	return nil
}

func decodeSegment(seg string, v any) error {
	b, err := base64.RawURLEncoding.DecodeString(seg)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, v)
}
