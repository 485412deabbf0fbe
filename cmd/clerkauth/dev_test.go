package main

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/clerkauth/clerkauth/clerktest"
)

func TestDevJSONKeysAndDevRoutes(t *testing.T) {
	clearClerkEnv(t)
	b := start(t, "dev", "--addr", "127.0.0.1:0", "--json")
	lines := b.readUntil(t, "{")
	var info devInfo
	require.NoError(t, json.Unmarshal([]byte(lines[len(lines)-1]), &info))
	assert.True(t, strings.HasPrefix(info.URL, "http://127.0.0.1:"), info.URL)
	assert.Equal(t, info.URL+"/v1", info.APIURL)
	assert.True(t, strings.HasPrefix(info.PublishableKey, "pk_test_"))
	assert.True(t, strings.HasPrefix(info.SecretKey, "sk_test_"))
	assert.Contains(t, info.JWTKey, "BEGIN PUBLIC KEY")
	assert.Equal(t, "https://"+clerktest.DefaultFrontendAPI, info.Issuer)

	status, body := post(t, info.DevSessionsURL, `{"user_id":"user_dev","org":{"role":"admin","permissions":["org:invoices:read"]}}`)
	require.Equal(t, http.StatusOK, status, body)
	var created clerktest.DevTokenResponse
	require.NoError(t, json.Unmarshal([]byte(body), &created))
	assert.Equal(t, "user_dev", created.UserID)

	// The printed keys verify the minted token, over the JWKS and with the PEM key.
	r := cli(t, "", "verify", "--api-url", info.APIURL, "--secret-key", info.SecretKey, "--publishable-key", info.PublishableKey, created.Token)
	assert.Equal(t, exitOK, r.code, "stderr: %s", r.stderr)
	r = cli(t, "", "verify", "--jwt-key", info.JWTKey, "--publishable-key", info.PublishableKey, created.Token)
	assert.Equal(t, exitOK, r.code, "stderr: %s", r.stderr)

	status, body = post(t, info.DevTokenURL+"?format=text&session="+created.SessionID, "")
	require.Equal(t, http.StatusOK, status, body)
	r = cli(t, "", "verify", "--jwks-url", info.JWKSURL, "--publishable-key", info.PublishableKey, strings.TrimSpace(body))
	assert.Equal(t, exitOK, r.code, "stderr: %s", r.stderr)

	// The Sessions API works with the printed secret key.
	r = cli(t, "", "sessions", "get", "--api-url", info.APIURL, "--secret-key", info.SecretKey, created.SessionID)
	assert.Equal(t, exitOK, r.code, "stderr: %s", r.stderr)

	assert.Equal(t, exitOK, b.stop(), "interrupt ends it cleanly")
	_, err := http.Get(info.JWKSURL)
	assert.Error(t, err, "the server is gone after the interrupt")
}

func TestDevText(t *testing.T) {
	clearClerkEnv(t)
	b := start(t, "dev", "--addr", "127.0.0.1:0", "--frontend-api", "clerk.dev.localhost")
	out := strings.Join(b.readUntil(t, "Serving until interrupted"), "\n")
	for _, want := range []string{"Publishable key  pk_test_", "Secret key       sk_test_",
		"export CLERK_API_URL=http://127.0.0.1:", "/dev/sessions", "/dev/token?session=", "BEGIN PUBLIC KEY",
		"Issuer           https://clerk.dev.localhost"} {
		assert.Contains(t, out, want)
	}
	assert.Equal(t, exitOK, b.stop())
}

func TestDevRefusesBadAddresses(t *testing.T) {
	clearClerkEnv(t)
	for _, addr := range []string{"0.0.0.0:0", ":0", "192.0.2.1:3100", "nonsense"} {
		t.Run(addr, func(t *testing.T) {
			r := cli(t, "", "dev", "--addr", addr)
			assert.Equal(t, exitUsage, r.code)
			assert.Contains(t, r.stderr, "clerkauth dev:")
			assert.Empty(t, r.stdout)
		})
	}
	r := cli(t, "", "dev", "--token-lifetime", "0s")
	assert.Equal(t, exitUsage, r.code)
	r = cli(t, "", "dev", "extra")
	assert.Equal(t, exitUsage, r.code)
}

// The dev server serves clerktest's machine authentication routes: a
// machine created with the printed secret key mints an M2M token that the
// instance key verifies.
func TestDevServesMachineRoutes(t *testing.T) {
	clearClerkEnv(t)
	b := start(t, "dev", "--addr", "127.0.0.1:0", "--json")
	lines := b.readUntil(t, "{")
	var info devInfo
	require.NoError(t, json.Unmarshal([]byte(lines[len(lines)-1]), &info))

	send := func(method, url, key, body string) (int, map[string]any) {
		req, err := http.NewRequest(method, url, strings.NewReader(body))
		require.NoError(t, err)
		req.Header.Set("Authorization", "Bearer "+key)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		var m map[string]any
		require.NoError(t, json.NewDecoder(resp.Body).Decode(&m))
		return resp.StatusCode, m
	}
	status, machine := send("POST", info.APIURL+"/machines", info.SecretKey, `{"name":"dev machine"}`)
	require.Equal(t, http.StatusOK, status, machine)
	status, tok := send("POST", info.URL+"/m2m_tokens", machine["secret_key"].(string), `{"token_format":"opaque"}`)
	require.Equal(t, http.StatusCreated, status, tok)
	status, verified := send("POST", info.URL+"/m2m_tokens/verify", info.SecretKey, `{"token":"`+tok["token"].(string)+`"}`)
	require.Equal(t, http.StatusOK, status, verified)
	assert.Equal(t, machine["id"], verified["subject"])
	assert.Equal(t, exitOK, b.stop())
}
