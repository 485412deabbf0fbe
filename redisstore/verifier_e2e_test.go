package redisstore_test

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"testing"
	"time"

	"github.com/clerkauth/clerkauth"
	"github.com/clerkauth/clerkauth/redisstore"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// testKey signs the tokens of the end-to-end tests; TestMain generates it
// once per test binary.
var testKey *rsa.PrivateKey

const testIssuer = "https://clerk.example.test"

func newTestKey() *rsa.PrivateKey {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	return k
}

func publicKeyPEM(t testing.TB) string {
	der, err := x509.MarshalPKIXPublicKey(&testKey.PublicKey)
	require.NoError(t, err)
	return string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
}

// mintToken signs a Clerk v2 session token for sid, valid for a minute.
func mintToken(t testing.TB, sid string) string {
	t.Helper()
	now := time.Now()
	enc := func(v any) string {
		b, err := json.Marshal(v)
		require.NoError(t, err)
		return base64.RawURLEncoding.EncodeToString(b)
	}
	input := enc(map[string]any{"alg": "RS256", "typ": "JWT", "kid": "ins_test"}) + "." +
		enc(map[string]any{"sub": "user_e2e", "sid": sid, "iss": testIssuer, "v": 2,
			"exp": now.Add(time.Minute).Unix(), "iat": now.Unix(), "nbf": now.Add(-time.Second).Unix()})
	sum := sha256.Sum256([]byte(input))
	sig, err := rsa.SignPKCS1v15(rand.Reader, testKey, crypto.SHA256, sum[:])
	require.NoError(t, err)
	return input + "." + base64.RawURLEncoding.EncodeToString(sig)
}

// newReplica returns a Verifier whose revocations live in store.
func newReplica(t testing.TB, store clerkauth.RevocationStore) *clerkauth.Verifier {
	t.Helper()
	v, err := clerkauth.NewVerifier(clerkauth.Config{
		PublishableKey: "pk_test_" + base64.StdEncoding.EncodeToString([]byte("clerk.example.test$")),
		JWTKey:         publicKeyPEM(t),
		Revocations:    store,
	})
	require.NoError(t, err)
	t.Cleanup(func() { _ = v.Close() })
	return v
}

func TestVerifierReplicasShareRevocations(t *testing.T) {
	r := startRedis(t)
	storeA := newStore(t, newClient(t, r.addr()), redisstore.Options{})
	storeB := newStore(t, newClient(t, r.addr()), redisstore.Options{})
	a, b := newReplica(t, storeA), newReplica(t, storeB)

	tests := []struct {
		name   string
		sid    string
		revoke func(sid string) error
	}{
		{"through A's store", "sess_e2e_store", func(sid string) error {
			return storeA.Revoke(bg, sid, time.Now().Add(2*time.Minute))
		}},
		{"through A's Verifier.MarkRevoked", "sess_e2e_mark", func(sid string) error {
			return a.MarkRevoked(bg, sid)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			token := mintToken(t, tt.sid)
			claims, err := b.Verify(bg, token) // also puts it in B's token cache
			require.NoError(t, err)
			require.Equal(t, tt.sid, claims.SessionID)

			require.NoError(t, tt.revoke(tt.sid))
			eventually(t, 5*time.Second, "replica B rejects the revoked session", func() bool {
				_, err := b.Verify(bg, token)
				return err != nil
			})
			_, err = b.Verify(bg, token)
			assert.ErrorIs(t, err, clerkauth.ErrSessionRevoked)
			assert.ErrorIs(t, err, clerkauth.ErrInvalidToken)
			_, err = a.Verify(bg, token)
			assert.ErrorIs(t, err, clerkauth.ErrSessionRevoked)
		})
	}
	_, err := b.Verify(bg, mintToken(t, "sess_e2e_other"))
	assert.NoError(t, err, "other sessions unaffected")
}

func TestVerifierFailsClosedWithoutRedis(t *testing.T) {
	r := startRedis(t)
	opts := fastOptions()
	opts.FailClosed = true
	store := newStore(t, newClient(t, r.addr()), opts)
	v := newReplica(t, store)
	token := mintToken(t, "sess_e2e_down")
	_, err := v.Verify(bg, token)
	require.NoError(t, err)

	r.stop()
	eventually(t, 10*time.Second, "store notices the outage", func() bool { return !store.Status().Connected })
	_, err = v.Verify(bg, token)
	assert.ErrorIs(t, err, clerkauth.ErrKeysUnavailable, "unavailable, not an invalid token")
	assert.NotErrorIs(t, err, clerkauth.ErrInvalidToken)
	assert.ErrorIs(t, err, redisstore.ErrUnavailable)
}
