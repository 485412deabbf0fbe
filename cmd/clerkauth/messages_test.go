package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/clerkauth/clerkauth"
	"github.com/clerkauth/clerkauth/clerktest"
)

// testPK is a well-formed publishable key of clerk.example.com.
const testPK = "pk_test_Y2xlcmsuZXhhbXBsZS5jb20k"

func TestUnknownFlagOrCommand(t *testing.T) {
	tests := []struct {
		arg, want string
	}{
		{"--bogus", `clerkauth: unknown flag "--bogus"`},
		{"-x", `clerkauth: unknown flag "-x"`},
		{"bogus", `clerkauth: unknown command "bogus"`},
	}
	for _, tt := range tests {
		t.Run(tt.arg, func(t *testing.T) {
			r := cli(t, "", tt.arg)
			assert.Equal(t, exitUsage, r.code)
			assert.True(t, strings.HasPrefix(r.stderr, tt.want+"\n"), r.stderr)
			assert.Empty(t, r.stdout)
		})
	}
}

// TestErrText checks the messages printed for the library's errors: its
// "clerkauth: " prefixes dropped, and in configuration errors the flags and
// variables named instead of the Config fields.
func TestErrText(t *testing.T) {
	_, noSource := clerkauth.NewVerifier(clerkauth.Config{PublishableKey: testPK})
	_, noIssuer := clerkauth.NewVerifier(clerkauth.Config{SecretKey: "sk_test_x"})
	_, noSecret := clerkauth.NewSessionsClient(clerkauth.Config{})
	_, badLeeway := clerkauth.NewVerifier(clerkauth.Config{PublishableKey: testPK, SecretKey: "sk_test_x", Leeway: -time.Second})
	_, badAlg := clerkauth.NewVerifier(clerkauth.Config{PublishableKey: testPK, SecretKey: "sk_test_x", Algorithms: []string{"HS256"}})
	_, httpAPI := clerkauth.NewSessionsClient(clerkauth.Config{SecretKey: "sk_test_x", APIURL: "http://api.example.com/v1"})
	tests := []struct {
		name string
		err  error
		want string
	}{
		{"no key source", noSource, "invalid configuration: no key source: set --jwt-key (CLERK_JWT_KEY), --secret-key (CLERK_SECRET_KEY) or --jwks-url (CLERK_JWKS_URL)"},
		{"no issuer", noIssuer, "invalid configuration: no known issuer: set --publishable-key (CLERK_PUBLISHABLE_KEY) or --issuer (or --insecure-skip-issuer-check)"},
		{"no secret key", noSecret, "invalid configuration: --secret-key (CLERK_SECRET_KEY) is required by the sessions client"},
		{"plain http API", httpAPI, "invalid configuration: --api-url (CLERK_API_URL) must use https (http only to a loopback host)"},
		{"not a configuration error: names kept", fmt.Errorf("clerkauth: SecretKey rejected: %w", clerkauth.ErrKeysUnavailable), "SecretKey rejected: signing keys unavailable"},
		{"a name inside a word is no name", fmt.Errorf("%w: MySecretKeys", clerkauth.ErrInvalidConfig), "invalid configuration: MySecretKeys"},
		{"wrapped configuration error", fmt.Errorf("loading: %w", noSecret), "loading: invalid configuration: --secret-key (CLERK_SECRET_KEY) is required by the sessions client"},
		{"a field with a flag only", badLeeway, "invalid configuration: --leeway is negative: -1s"},
		{"a field without a flag", badAlg, `invalid configuration: Algorithms: "HS256" is not allowed: only RS256, RS384 and RS512 are`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.Error(t, tt.err)
			assert.Equal(t, tt.want, errText(tt.err))
		})
	}
}

// TestCLINamesAreReal checks that every flag and variable of the cliNames
// table exists: the flags in verify's flag set, the variables among those
// ConfigFromEnv reads.
func TestCLINamesAreReal(t *testing.T) {
	var c verifyCmd
	fs := newFlagSet(env{}, "verify", "")
	c.register(fs)
	flagName := regexp.MustCompile(`--([a-z-]+)`)
	envName := regexp.MustCompile(`CLERK_[A-Z_]+`)
	for field, names := range cliNames {
		m := flagName.FindStringSubmatch(names)
		require.NotNil(t, m, "%s: no flag in %q", field, names)
		assert.NotNil(t, fs.Lookup(m[1]), "%s: no flag --%s", field, m[1])
		if v := envName.FindString(names); v != "" {
			assert.True(t, slices.Contains(clerkEnv(), v), "%s: ConfigFromEnv does not read %s", field, v)
		}
		_, ok := reflect.TypeFor[clerkauth.Config]().FieldByName(field)
		assert.True(t, ok, "%s is in cliNames but not a Config field", field)
	}
}

// TestErrorsPrintedOnce checks the command's own output for configuration
// errors: one prefix, the flags named.
func TestErrorsPrintedOnce(t *testing.T) {
	clearClerkEnv(t)
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"verify without key source", []string{"verify", "--publishable-key", testPK, "tok"}, "clerkauth verify: invalid configuration: no key source: set --jwt-key (CLERK_JWT_KEY), --secret-key (CLERK_SECRET_KEY) or --jwks-url (CLERK_JWKS_URL)\n"},
		{"verify without issuer", []string{"verify", "--secret-key", "sk_test_x", "tok"}, "clerkauth verify: invalid configuration: no known issuer: set --publishable-key (CLERK_PUBLISHABLE_KEY) or --issuer (or --insecure-skip-issuer-check)\n"},
		{"sessions get", []string{"sessions", "get", "sess_1"}, "clerkauth sessions get: invalid configuration: --secret-key (CLERK_SECRET_KEY) is required by the sessions client\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := cli(t, "", tt.args...)
			assert.Equal(t, exitUsage, r.code)
			assert.Equal(t, tt.want, r.stderr)
		})
	}
}

func TestAPIErrorPrintedOnce(t *testing.T) {
	srv := newClerk(t)
	useClerk(t, srv)
	r := cli(t, "", "sessions", "get", "sess_unknown")
	assert.Equal(t, exitFailure, r.code)
	assert.True(t, strings.HasPrefix(r.stderr, "clerkauth sessions get: "), r.stderr)
	assert.Equal(t, 1, strings.Count(r.stderr, "clerkauth"), r.stderr)
}

// TestVerifyTimeoutGovernsKeyFetch checks that --timeout bounds the whole
// verification: a key server slower than the library's own 10 s limit on a
// fetch is waited for under --timeout 60s, and --timeout 1s gives up after
// about a second.
func TestVerifyTimeoutGovernsKeyFetch(t *testing.T) {
	t.Parallel()
	srv := clerktest.NewServer(clerktest.Config{SigningKey: testKey})
	t.Cleanup(srv.Close)
	token := srv.MustToken(demoSession(srv).ID)
	args := []string{"--secret-key", srv.SecretKey(), "--publishable-key", srv.PublishableKey(), "--api-url", srv.APIURL()}
	verify := func(timeout string) (result, time.Duration) {
		var out, errOut bytes.Buffer
		e := env{stdin: strings.NewReader(""), stdout: &out, stderr: &errOut}
		start := time.Now()
		code := runVerify(context.Background(), e, append([]string{"--timeout", timeout, token}, args...))
		return result{code: code, stdout: out.String(), stderr: errOut.String()}, time.Since(start)
	}

	srv.SetFault(clerktest.EndpointJWKS, clerktest.Fault{Delay: 5 * time.Second})
	r, took := verify("1s")
	assert.Equal(t, exitUndecided, r.code, "stderr: %s", r.stderr)
	assert.Less(t, took, 4*time.Second, "gave up after --timeout")

	srv.SetFault(clerktest.EndpointJWKS, clerktest.Fault{Delay: 11 * time.Second})
	r, took = verify("60s")
	require.Equal(t, exitOK, r.code, "stderr: %s", r.stderr)
	assert.GreaterOrEqual(t, took, 11*time.Second)
	assert.Contains(t, r.stdout, `"user_id": "user_demo"`)
}

// TestProgressNote checks that a key fetch longer than progressDelay is
// announced on stderr when it is a terminal, and only then.
func TestProgressNote(t *testing.T) {
	t.Parallel()
	srv := clerktest.NewServer(clerktest.Config{SigningKey: testKey})
	t.Cleanup(srv.Close)
	token := srv.MustToken(demoSession(srv).ID)
	args := []string{token, "--secret-key", srv.SecretKey(), "--publishable-key", srv.PublishableKey(), "--api-url", srv.APIURL()}
	tests := []struct {
		name  string
		tty   bool
		delay time.Duration
		note  bool
	}{
		{"slow, terminal", true, 3 * progressDelay, true},
		{"slow, not a terminal", false, 3 * progressDelay, false},
		{"fast, terminal", true, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv.SetFault(clerktest.EndpointJWKS, clerktest.Fault{Delay: tt.delay})
			var out, errOut bytes.Buffer
			e := env{stdin: strings.NewReader(""), stdout: &out, stderr: &errOut, stderrTTY: tt.tty}
			code := runVerify(context.Background(), e, args)
			require.Equal(t, exitOK, code, "stderr: %s", errOut.String())
			if tt.note {
				assert.Equal(t, "clerkauth verify: fetching the signing keys (giving up after 30s)…\n", errOut.String())
			} else {
				assert.Empty(t, errOut.String())
			}
		})
	}
}

func TestIsTerminal(t *testing.T) {
	assert.False(t, isTerminal(&bytes.Buffer{}))
	f, err := os.CreateTemp(t.TempDir(), "stderr")
	require.NoError(t, err)
	defer f.Close()
	assert.False(t, isTerminal(f), "a regular file is no terminal")
	if tty, err := os.OpenFile("/dev/tty", os.O_WRONLY, 0); err == nil {
		defer tty.Close()
		assert.True(t, isTerminal(tty))
	}
}
