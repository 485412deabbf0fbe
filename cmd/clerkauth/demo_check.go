package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/clerkauth/clerkauth"
	"github.com/clerkauth/clerkauth/clerktest"
)

// checkTimeout bounds each HTTP request of the checks.
const checkTimeout = 10 * time.Second

// checker drives the sample API and the embedded server.
type checker struct {
	ctx    context.Context
	em     *embedded
	app    *demoApp
	api    string
	client *http.Client

	signedOut string // session revoked by the revoked check
}

// demoCheck is one end-to-end check: run returns nil when it passes.
type demoCheck struct {
	name string
	run  func(*checker) error
}

// demoChecks lists what demo --check verifies, in order (the revocation
// comes late: it ends the demo session).
func demoChecks() []demoCheck {
	return []demoCheck{
		{"GET /api/public without a token -> 200", (*checker).publicOpen},
		{"GET /api/me with a fresh token -> 200 and the demo user", (*checker).signedIn},
		{"GET /api/me without a token -> 401", (*checker).noToken},
		{"GET /api/me with a garbage token -> 401", (*checker).garbageToken},
		{"GET /api/me with an expired token -> 401", (*checker).expiredToken},
		{"GET /api/me with an HS256 (algorithm confusion) token -> 401", (*checker).algConfusion},
		{"GET /api/me with a token of another instance (issuer) -> 401", (*checker).otherIssuer},
		{"GET /api/invoices with org:invoices:read -> 200", (*checker).withPermission},
		{"GET /api/billing without org:billing:manage -> 403", (*checker).withoutPermission},
		{"GET /api/invoices for a session without an organization -> 403", (*checker).noOrg},
		{"POST /api/signout, then GET /api/me with the same token -> 401 (revoked)", (*checker).revoked},
		{"the Sessions API reports the signed-out session revoked", (*checker).revokedAtClerk},
		{"GET /api/usage with an API key -> 200; with a session token or an unknown key -> 401", (*checker).machineCall},
		{"GET /api/me while the key server is down at cold start -> 503, 200 once it is back", (*checker).keysDown},
	}
}

// runChecks runs every check, printing one PASS/FAIL line each and a
// closing "N passed, M failed" line; it returns 0 only if all passed.
func runChecks(ctx context.Context, e env, em *embedded, app *demoApp, api string) int {
	c := &checker{ctx: ctx, em: em, app: app, api: api, client: &http.Client{Timeout: checkTimeout}}
	passed, failed := 0, 0
	for _, dc := range demoChecks() {
		if err := dc.run(c); err != nil {
			failed++
			fmt.Fprintf(e.stdout, "FAIL  %s: %v\n", dc.name, err)
			continue
		}
		passed++
		fmt.Fprintf(e.stdout, "PASS  %s\n", dc.name)
	}
	fmt.Fprintf(e.stdout, "%d passed, %d failed\n", passed, failed)
	if failed > 0 {
		return exitFailure
	}
	return exitOK
}

// session creates a session of the demo user, in the demo organization
// when withOrg.
func (c *checker) session(withOrg bool) *clerktest.Session {
	p := clerktest.SessionParams{UserID: "user_demo"}
	if withOrg {
		p.Org = demoOrg()
	}
	return c.em.clerk.CreateSession(p)
}

// token mints a token for a new session of the demo user.
func (c *checker) token(withOrg bool, opts ...clerktest.TokenOption) (string, error) {
	return c.em.clerk.Token(c.session(withOrg).ID, opts...)
}

// expect sends method path with token (none when "") to the API and
// checks the status; it returns the body.
func (c *checker) expect(method, path, token string, want int) ([]byte, error) {
	return expectStatus(c.ctx, c.client, method, c.api+path, token, want)
}

func expectStatus(ctx context.Context, client interface {
	Do(*http.Request) (*http.Response, error)
}, method, url, token string, want int) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, method, url, nil)
	if err != nil {
		return nil, err
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != want {
		return body, fmt.Errorf("got %d, want %d (body %.200s)", resp.StatusCode, want, bytes.TrimSpace(body))
	}
	return body, nil
}

func (c *checker) publicOpen() error {
	_, err := c.expect("GET", "/api/public", "", http.StatusOK)
	return err
}

func (c *checker) signedIn() error {
	tok, err := c.token(true)
	if err != nil {
		return err
	}
	body, err := c.expect("GET", "/api/me", tok, http.StatusOK)
	if err != nil {
		return err
	}
	var me struct {
		UserID string `json:"user_id"`
	}
	if err := json.Unmarshal(body, &me); err != nil || me.UserID != "user_demo" {
		return fmt.Errorf("want user_id user_demo in %.200s", body)
	}
	return nil
}

func (c *checker) noToken() error {
	_, err := c.expect("GET", "/api/me", "", http.StatusUnauthorized)
	return err
}

func (c *checker) garbageToken() error {
	_, err := c.expect("GET", "/api/me", "garbage.token.value", http.StatusUnauthorized)
	return err
}

func (c *checker) expiredToken() error {
	past := c.em.clerk.Clock().Now().Add(-time.Hour)
	tok, err := c.token(true, clerktest.WithIssuedAt(past), clerktest.WithLifetime(time.Minute))
	if err != nil {
		return err
	}
	_, err = c.expect("GET", "/api/me", tok, http.StatusUnauthorized)
	return err
}

// algConfusion signs a valid payload with HMAC, keyed by the public key.
func (c *checker) algConfusion() error {
	header, payload, err := c.em.clerk.SessionClaims(c.session(true).ID)
	if err != nil {
		return err
	}
	header["alg"] = "HS256"
	tok := c.em.clerk.Mint(header, payload, clerktest.HMACSigner([]byte(c.em.clerk.PublicKeyPEM()), "HS256"))
	_, err = c.expect("GET", "/api/me", tok, http.StatusUnauthorized)
	return err
}

func (c *checker) otherIssuer() error {
	tok, err := c.token(true, clerktest.WithClaims(map[string]any{"iss": "https://clerk.other-instance.example"}))
	if err != nil {
		return err
	}
	_, err = c.expect("GET", "/api/me", tok, http.StatusUnauthorized)
	return err
}

func (c *checker) withPermission() error {
	tok, err := c.token(true)
	if err != nil {
		return err
	}
	_, err = c.expect("GET", "/api/invoices", tok, http.StatusOK)
	return err
}

func (c *checker) withoutPermission() error {
	tok, err := c.token(true)
	if err != nil {
		return err
	}
	_, err = c.expect("GET", "/api/billing", tok, http.StatusForbidden)
	return err
}

func (c *checker) noOrg() error {
	tok, err := c.token(false)
	if err != nil {
		return err
	}
	_, err = c.expect("GET", "/api/invoices", tok, http.StatusForbidden)
	return err
}

// revoked signs a session out through the API, then presents its token.
// The session is kept for revokedAtClerk.
func (c *checker) revoked() error {
	sess := c.session(true)
	tok, err := c.em.clerk.Token(sess.ID)
	if err != nil {
		return err
	}
	if _, err := c.expect("GET", "/api/me", tok, http.StatusOK); err != nil {
		return fmt.Errorf("before signing out: %w", err)
	}
	if _, err := c.expect("POST", "/api/signout", tok, http.StatusOK); err != nil {
		return fmt.Errorf("signing out: %w", err)
	}
	c.signedOut = sess.ID
	_, err = c.expect("GET", "/api/me", tok, http.StatusUnauthorized)
	return err
}

func (c *checker) revokedAtClerk() error {
	if c.signedOut == "" {
		return fmt.Errorf("no signed-out session (the previous check failed)")
	}
	s, err := c.app.sessions.Get(c.ctx, c.signedOut)
	if err != nil {
		return err
	}
	if s.Status != clerkauth.SessionRevoked {
		return fmt.Errorf("status %q, want revoked", s.Status)
	}
	return nil
}

// keysDown starts a second, cold copy of the API (no keys fetched yet, no
// retries) while the key server fails, then brings the keys back.
func (c *checker) keysDown() error {
	cfg := c.em.config()
	cfg.MaxRetries = -1
	cold, err := newDemoApp(cfg)
	if err != nil {
		return err
	}
	defer cold.close()
	tok, err := c.token(true)
	if err != nil {
		return err
	}
	c.em.clerk.SetFault(clerktest.EndpointJWKS, clerktest.Fault{Status: http.StatusInternalServerError})
	defer c.em.clerk.ClearFaults()
	rt := handlerClient{cold.handler}
	if _, err := expectStatus(c.ctx, rt, "GET", "http://127.0.0.1/api/me", tok, http.StatusServiceUnavailable); err != nil {
		return fmt.Errorf("keys down: %w", err)
	}
	c.em.clerk.ClearFaults()
	if err := cold.verifier.Warm(c.ctx); err != nil {
		return fmt.Errorf("keys back: %w", err)
	}
	if _, err := expectStatus(c.ctx, rt, "GET", "http://127.0.0.1/api/me", tok, http.StatusOK); err != nil {
		return fmt.Errorf("keys back: %w", err)
	}
	return nil
}

// handlerClient answers requests with a handler, in process: the cold
// copy of the API needs no listener.
type handlerClient struct{ h http.Handler }

func (hc handlerClient) Do(r *http.Request) (*http.Response, error) {
	rec := httptest.NewRecorder()
	hc.h.ServeHTTP(rec, r)
	return rec.Result(), nil
}

func (c *checker) machineCall() error {
	key, err := c.em.clerk.CreateAPIKey(clerktest.APIKeyParams{Subject: demoKeyOwner, Name: "demo key"})
	if err != nil {
		return err
	}
	body, err := c.expect("GET", "/api/usage", key.Secret, http.StatusOK)
	if err != nil {
		return err
	}
	if !bytes.Contains(body, []byte(demoKeyOwner)) {
		return fmt.Errorf("the answer does not name the key's owner: %.200s", body)
	}
	tok, err := c.token(true)
	if err != nil {
		return err
	}
	if _, err := c.expect("GET", "/api/usage", tok, http.StatusUnauthorized); err != nil {
		return fmt.Errorf("session token: %w", err)
	}
	_, err = c.expect("GET", "/api/usage", "ak_unknown0000000000000000000000", http.StatusUnauthorized)
	return err
}
