// Package jose is clerkauth's seam over the JOSE library: the only place
// that imports github.com/lestrrat-go/jwx. It turns JWK sets and PEM
// documents into RSA public keys ready for signature checks; signatures
// themselves are checked with crypto/rsa by the caller.
package jose

import (
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"strings"

	"github.com/lestrrat-go/jwx/v3/jwk"
)

// MinRSABits is the smallest RSA modulus accepted.
const MinRSABits = 2048

// RSAKey is a usable RSA signing key from a JWK set.
type RSAKey struct {
	KID string
	// Alg is the key's alg member, or "" when the key does not name one.
	Alg string
	Key *rsa.PublicKey
}

// Skipped explains why a key of a set was not kept.
type Skipped struct {
	KID    string
	Reason string
}

// ParseJWKS parses a JWK set and returns its RSA signing keys of at least
// MinRSABits bits with a sane exponent. Keys of other types, keys for
// encryption, keys without kid and duplicated kids are skipped and reported.
func ParseJWKS(body []byte) ([]RSAKey, []Skipped, error) {
	set, err := jwk.Parse(body, jwk.WithIgnoreParseError(true))
	if err != nil {
		return nil, nil, fmt.Errorf("parse jwks: %w", err)
	}
	var keys []RSAKey
	var skipped []Skipped
	seen := make(map[string]bool, set.Len())
	for i := range set.Len() {
		k, _ := set.Key(i)
		rk, why := usableRSAKey(k)
		if why == "" && seen[rk.KID] {
			why = "duplicate kid"
		}
		if why != "" {
			kid, _ := k.KeyID()
			skipped = append(skipped, Skipped{KID: kid, Reason: why})
			continue
		}
		seen[rk.KID] = true
		keys = append(keys, rk)
	}
	return keys, skipped, nil
}

func usableRSAKey(k jwk.Key) (RSAKey, string) {
	kid, _ := k.KeyID()
	if kid == "" {
		return RSAKey{}, "no kid"
	}
	if k.KeyType().String() != "RSA" {
		return RSAKey{}, "not an RSA key"
	}
	if use, ok := k.KeyUsage(); ok && use != "sig" {
		return RSAKey{}, "use is not sig"
	}
	var pub rsa.PublicKey
	if err := jwk.Export(k, &pub); err != nil {
		var priv rsa.PrivateKey
		if jwk.Export(k, &priv) != nil {
			return RSAKey{}, "cannot export RSA key"
		}
		return RSAKey{}, "private key in a public set"
	}
	if why := CheckRSAKey(&pub); why != "" {
		return RSAKey{}, why
	}
	alg := ""
	if a, ok := k.Algorithm(); ok {
		alg = a.String()
	}
	return RSAKey{KID: kid, Alg: alg, Key: &pub}, ""
}

// CheckRSAKey returns why key must not be used, or "".
func CheckRSAKey(key *rsa.PublicKey) string {
	switch {
	case key.N == nil || key.N.BitLen() < MinRSABits:
		return fmt.Sprintf("RSA key under %d bits", MinRSABits)
	case key.E < 3 || key.E%2 == 0:
		return "RSA exponent is not an odd number of at least 3"
	}
	return ""
}

// ParsePEM parses an RSA public key in PKIX form, as Clerk's dashboard shows
// it: a PEM block, or its base64 body alone on one line or several.
func ParsePEM(s string) (*rsa.PublicKey, error) {
	der, err := pemBody(s)
	if err != nil {
		return nil, err
	}
	pub, err := x509.ParsePKIXPublicKey(der)
	if err != nil {
		if k, err2 := x509.ParsePKCS1PublicKey(der); err2 == nil {
			pub = k
		} else {
			return nil, fmt.Errorf("parse public key: %w", err)
		}
	}
	rk, ok := pub.(*rsa.PublicKey)
	if !ok {
		return nil, errors.New("public key is not an RSA key")
	}
	if why := CheckRSAKey(rk); why != "" {
		return nil, errors.New(why)
	}
	return rk, nil
}

func pemBody(s string) ([]byte, error) {
	s = strings.TrimSpace(strings.ReplaceAll(s, `\n`, "\n"))
	if strings.HasPrefix(s, "-----BEGIN") {
		block, _ := pem.Decode([]byte(s))
		if block == nil {
			return nil, errors.New("malformed PEM block")
		}
		if block.Type != "PUBLIC KEY" && block.Type != "RSA PUBLIC KEY" {
			return nil, fmt.Errorf("PEM block is %q, want PUBLIC KEY", block.Type)
		}
		return block.Bytes, nil
	}
	compact := strings.Map(func(r rune) rune {
		if r == ' ' || r == '\n' || r == '\r' || r == '\t' {
			return -1
		}
		return r
	}, s)
	der, err := base64.StdEncoding.DecodeString(compact)
	if err != nil {
		return nil, errors.New("public key is neither PEM nor base64")
	}
	return der, nil
}
