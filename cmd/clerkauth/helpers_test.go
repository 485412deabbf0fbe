package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/clerkauth/clerkauth/clerktest"
)

// testKey is the one signing key generated for this test binary.
var testKey *rsa.PrivateKey

func TestMain(m *testing.M) {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		fmt.Fprintln(os.Stderr, "generating test key:", err)
		os.Exit(1)
	}
	testKey = k
	os.Exit(m.Run())
}

// clerkEnv lists the variables ConfigFromEnv reads.
func clerkEnv() []string {
	return []string{"CLERK_SECRET_KEY", "CLERK_PUBLISHABLE_KEY", "CLERK_JWT_KEY", "CLERK_API_URL",
		"CLERK_API_VERSION", "CLERK_JWKS_URL", "CLERK_AUTHORIZED_PARTIES", "CLERK_MACHINE_SECRET_KEY"}
}

// clearClerkEnv empties the CLERK_* variables for the test, so that a
// developer's own configuration (a real instance) never leaks into it.
func clearClerkEnv(t *testing.T) {
	t.Helper()
	for _, k := range clerkEnv() {
		t.Setenv(k, "")
	}
}

// useClerk points the CLERK_* variables at srv.
func useClerk(t *testing.T, srv *clerktest.Server) {
	t.Helper()
	clearClerkEnv(t)
	t.Setenv("CLERK_SECRET_KEY", srv.SecretKey())
	t.Setenv("CLERK_PUBLISHABLE_KEY", srv.PublishableKey())
	t.Setenv("CLERK_API_URL", srv.APIURL())
}

func newClerk(t *testing.T) *clerktest.Server {
	t.Helper()
	srv := clerktest.NewServer(clerktest.Config{SigningKey: testKey})
	t.Cleanup(srv.Close)
	return srv
}

type result struct {
	code           int
	stdout, stderr string
}

// cli runs the command line in-process with stdin and returns its result.
func cli(t *testing.T, stdin string, args ...string) result {
	t.Helper()
	var out, errOut bytes.Buffer
	code := run(context.Background(), args, strings.NewReader(stdin), &out, &errOut)
	return result{code: code, stdout: out.String(), stderr: errOut.String()}
}

// syncBuffer is a bytes.Buffer safe for a server goroutine and a test.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// background is a long-running command (dev, demo) run in-process.
type background struct {
	cancel context.CancelFunc
	lines  chan string // stdout, line by line
	code   chan int
	stderr *syncBuffer
	once   sync.Once
	exit   int
}

// start runs args until stop is called; its stdout is read line by line.
func start(t *testing.T, args ...string) *background {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	b := &background{cancel: cancel, lines: make(chan string, 1024), code: make(chan int, 1), stderr: &syncBuffer{}}
	go func() {
		code := run(ctx, args, strings.NewReader(""), pw, b.stderr)
		pw.Close()
		b.code <- code
	}()
	go func() {
		sc := bufio.NewScanner(pr)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			b.lines <- sc.Text()
		}
		close(b.lines)
		io.Copy(io.Discard, pr)
	}()
	t.Cleanup(func() { b.stop() })
	return b
}

// readUntil returns the stdout lines up to and including the first one
// containing marker, failing when stdout ends first.
func (b *background) readUntil(t *testing.T, marker string) []string {
	t.Helper()
	var got []string
	for line := range b.lines {
		got = append(got, line)
		if strings.Contains(line, marker) {
			return got
		}
	}
	t.Fatalf("stdout ended before %q; got %q; stderr %s", marker, got, b.stderr.String())
	return nil
}

// stop interrupts the command and returns its exit status.
func (b *background) stop() int {
	b.once.Do(func() {
		b.cancel()
		b.exit = <-b.code
	})
	return b.exit
}

// post sends a POST and returns the status and body.
func post(t *testing.T, url, body string) (int, string) {
	t.Helper()
	resp, err := http.Post(url, "application/json", strings.NewReader(body))
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, string(b)
}
