package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/clerkauth/clerkauth"
)

const verifyUsage = `Usage: clerkauth verify [flags] TOKEN|-

Verifies a Clerk token of any kind with the configured instance: a session
token (its claims are printed as JSON), an M2M token, an OAuth access
token or an API key (the verified machine token is printed as JSON).
Machine JWTs are verified networklessly like sessions; opaque tokens (mt_,
oat_, ak_) are sent to the Backend API's verify endpoint and need
CLERK_SECRET_KEY (or CLERK_MACHINE_SECRET_KEY for M2M tokens). With "-" the token is read from standard input (preferred:
a token on the command line shows in ps and the shell history). A leading
"Bearer " is ignored.

The instance is configured by CLERK_SECRET_KEY (keys from {api-url}/jwks),
CLERK_JWKS_URL (public JWKS) or CLERK_JWT_KEY (PEM key, no network at all),
and CLERK_PUBLISHABLE_KEY (the issuer); flags override them.

Output: the claims on stdout (exit 0), or the reason on stderr as
"invalid token: <reason>: <message>" (exit 1). With --json stdout always
holds one object:
  {"status":"valid","claims":{...}}
  {"status":"valid","machine_token":{"kind":"api_key",...}}
  {"status":"invalid","reason":"token-expired","message":"...","error":"..."}
  {"status":"undecided","reason":"jwk-remote-failed-to-load",...}

Exit status:
  0  the token is valid
  1  the token is invalid (the reason says why)
  2  usage or configuration error
  3  could not decide: the signing keys or the Backend API verify
     endpoint are unavailable (server down, secret key rejected, rate
     limited); the token may be valid
`

type verifyCmd struct {
	verifyFlags
	json    bool
	timeout time.Duration
}

func runVerify(ctx context.Context, e env, args []string) int {
	var c verifyCmd
	fs := newFlagSet(e, "clerkauth verify", verifyUsage)
	c.register(fs)
	fs.BoolVar(&c.json, "json", false, "print the result as one JSON object, valid or not")
	fs.DurationVar(&c.timeout, "timeout", 30*time.Second, "give up after this `duration`, the fetch of the signing keys included")
	pos, code, ok := fs.parse(args)
	if !ok {
		return code
	}
	if len(pos) != 1 {
		return fs.usageError("want exactly one TOKEN argument, or - to read it from stdin")
	}
	token, err := readToken(pos[0], e.stdin)
	if err != nil {
		return fs.usageError("%v", err)
	}
	cfg, err := c.config()
	if err != nil {
		return e.errorf(exitUsage, "verify", "%s", errText(err))
	}
	return c.verify(ctx, e, cfg, token)
}

// readToken returns the token argument, or the token read from stdin for
// "-", without a Bearer prefix and surrounding space.
func readToken(arg string, stdin io.Reader) (string, error) {
	token := arg
	if arg == "-" {
		b, err := io.ReadAll(io.LimitReader(stdin, clerkauth.MaxTokenSize+1024))
		if err != nil {
			return "", fmt.Errorf("reading the token from stdin: %w", err)
		}
		token = string(b)
	}
	token = strings.TrimSpace(token)
	if scheme, rest, ok := strings.Cut(token, " "); ok && strings.EqualFold(scheme, "Bearer") {
		token = strings.TrimSpace(rest)
	}
	if token == "" {
		return "", errors.New("empty token")
	}
	return token, nil
}

func (c *verifyCmd) verify(ctx context.Context, e env, cfg clerkauth.Config, token string) int {
	cfg.TokenCacheSize = -1
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel() // before v.Close, which waits for a fetch still running
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = operationClient(ctx)
	}
	v, err := clerkauth.NewVerifier(cfg)
	if err != nil {
		return e.errorf(exitUsage, "verify", "%s", errText(err))
	}
	defer v.Close()
	done := e.progress("verify", fmt.Sprintf("fetching the signing keys (giving up after %v)", c.timeout))
	mt, err := v.VerifyMachineToken(ctx, token)
	if clerkauth.ReasonOf(err) != clerkauth.ReasonTokenTypeMismatch {
		done()
		return c.reportMachine(e, mt, err)
	}
	claims, err := v.Verify(ctx, token) // not a machine token
	done()
	if err == nil {
		if c.json {
			writeJSON(e.stdout, map[string]any{"status": "valid", "claims": newClaimsJSON(claims)})
		} else {
			writeJSON(e.stdout, newClaimsJSON(claims))
		}
		return exitOK
	}
	return c.reportFailure(e, err)
}

// verdict is the JSON shape of a failed verification.
type verdict struct {
	Status  string           `json:"status"`
	Reason  clerkauth.Reason `json:"reason"`
	Message string           `json:"message"`
	Error   string           `json:"error"`
}

func (c *verifyCmd) reportFailure(e env, err error) int {
	out := verdict{Status: "invalid", Reason: clerkauth.ReasonOf(err), Error: err.Error()}
	code := exitFailure
	if errors.Is(err, clerkauth.ErrKeysUnavailable) {
		out.Status, code = "undecided", exitUndecided
	}
	var ve *clerkauth.VerificationError
	if errors.As(err, &ve) {
		out.Message = ve.Message
	}
	if c.json {
		writeJSON(e.stdout, out)
		return code
	}
	if code == exitUndecided {
		return e.errorf(code, "verify", "could not decide: %s: %s", out.Reason, errText(err))
	}
	return e.errorf(code, "verify", "invalid token: %s: %s", out.Reason, out.Message)
}

// operationClient returns the HTTP client of a verification bounded by
// ctx (--timeout): its requests run under ctx rather than under the
// library's own fixed limit on a key fetch (10 s), which would otherwise
// cut a longer --timeout short. Like the library's default client, it never
// follows a redirect.
func operationClient(ctx context.Context) *http.Client {
	return &http.Client{
		Transport:     operationTransport{ctx: ctx, base: http.DefaultTransport},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// operationTransport sends each request under ctx instead of the
// request's own context.
type operationTransport struct {
	ctx  context.Context
	base http.RoundTripper
}

func (t operationTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	return t.base.RoundTrip(r.WithContext(t.ctx))
}

// reportMachine prints the verdict on a machine token.
func (c *verifyCmd) reportMachine(e env, mt *clerkauth.MachineToken, err error) int {
	if err != nil {
		return c.reportFailure(e, err)
	}
	if c.json {
		writeJSON(e.stdout, map[string]any{"status": "valid", "machine_token": newMachineJSON(mt)})
	} else {
		writeJSON(e.stdout, newMachineJSON(mt))
	}
	return exitOK
}

// machineJSON is the stable JSON shape of a verified machine token.
type machineJSON struct {
	Kind      clerkauth.TokenKind `json:"kind"`
	Format    string              `json:"format"`
	ID        string              `json:"id"`
	Subject   string              `json:"subject"`
	Scopes    []string            `json:"scopes"`
	Name      string              `json:"name,omitempty"`
	ClientID  string              `json:"client_id,omitempty"`
	Audience  []string            `json:"audience,omitempty"`
	ExpiresAt *time.Time          `json:"expires_at,omitempty"`
	IssuedAt  *time.Time          `json:"issued_at,omitempty"`
	Claims    json.RawMessage     `json:"claims,omitempty"`
}

func newMachineJSON(mt *clerkauth.MachineToken) machineJSON {
	out := machineJSON{Kind: mt.Kind, Format: "opaque", ID: mt.ID, Subject: mt.Subject, Scopes: mt.Scopes,
		Name: mt.Name, ClientID: mt.ClientID, Audience: mt.Audience, Claims: mt.Claims}
	if mt.JWT {
		out.Format = "jwt"
	}
	if out.Scopes == nil {
		out.Scopes = []string{}
	}
	if !mt.Expiration.IsZero() {
		t := mt.Expiration.UTC()
		out.ExpiresAt = &t
	}
	if !mt.IssuedAt.IsZero() {
		t := mt.IssuedAt.UTC()
		out.IssuedAt = &t
	}
	return out
}
