package clerkauth

import (
	"bytes"
	"context"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/clerkauth/clerkauth/clerktest"
)

// m2mEnv is a clerktest server with a frozen clock, a calling machine
// scoped to a receiving one, and a log buffer.
type m2mEnv struct {
	clerk          *clerktest.Server
	caller, callee *clerktest.Machine
	logs           *lockedBuffer
}

func newM2MEnv(t testing.TB) *m2mEnv {
	t.Helper()
	clerk := clerktest.NewServer(clerktest.Config{})
	t.Cleanup(clerk.Close)
	clerk.Clock().Set(time.Unix(1_800_000_000, 0))
	callee := clerk.CreateMachine(clerktest.MachineParams{Name: "billing"})
	caller := clerk.CreateMachine(clerktest.MachineParams{Name: "gateway", ScopedMachines: []string{callee.ID}})
	return &m2mEnv{clerk: clerk, caller: caller, callee: callee, logs: &lockedBuffer{}}
}

// config returns a configuration for the calling machine: no retries and
// the server's clock, logging to e.logs.
func (e *m2mEnv) config() M2MConfig {
	return M2MConfig{
		MachineSecretKey: e.caller.SecretKey, APIURL: e.clerk.APIURL(), MaxRetries: -1,
		Now: e.clerk.Clock().Now, Logger: slog.New(slog.NewTextHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	}
}

func (e *m2mEnv) source(t testing.TB, cfg M2MConfig) *M2MTokenSource {
	t.Helper()
	s, err := NewM2MTokenSource(cfg)
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func (e *m2mEnv) creates() int { return e.clerk.Requests(clerktest.EndpointM2MCreate) }

// requireNoSecrets fails when the logs hold a secret.
func (e *m2mEnv) requireNoSecrets(t testing.TB, secrets ...string) {
	t.Helper()
	logs := e.logs.String()
	for _, s := range append(secrets, e.caller.SecretKey) {
		if s != "" {
			require.NotContains(t, logs, s, "a secret was logged")
		}
	}
}

// startedCreates returns how many refreshes s started.
func startedCreates(s *M2MTokenSource) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.creates
}

// idle reports whether s has no refresh running.
func idle(s *M2MTokenSource) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.inflight == nil
}

type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func bg() context.Context { return context.Background() }
