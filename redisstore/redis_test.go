package redisstore_test

import (
	"bufio"
	"context"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// redisServer is a redis-server child process on a loopback port, private
// to one test. It can be killed and restarted on the same port.
type redisServer struct {
	t    testing.TB
	bin  string
	dir  string
	port int
	args []string // extra redis-server arguments
	cmd  *exec.Cmd
}

// startRedis starts a private redis-server with the given extra arguments,
// or skips the test (fails it when CI is set) if none is installed.
func startRedis(t testing.TB, args ...string) *redisServer {
	t.Helper()
	r := &redisServer{t: t, bin: requireBinary(t, "redis-server"), dir: t.TempDir(), port: freePort(t), args: args}
	r.start()
	t.Cleanup(r.stop)
	return r
}

// requireBinary returns the path of a program from the redis-server
// package, or skips the test saying why (fails it when CI is set: CI
// installs Debian's redis-server, which brings redis-cli).
func requireBinary(t testing.TB, name string) string {
	t.Helper()
	bin, err := exec.LookPath(name)
	if err != nil {
		if ci := os.Getenv("CI"); ci != "" && ci != "false" && ci != "0" {
			t.Fatalf("%s not on PATH (apt-get install redis-server): %v; CI=%s, so this fails rather than skips", name, err, ci)
		}
		t.Skipf("skipping: %s not on PATH (apt-get install redis-server): %v", name, err)
	}
	return bin
}

func freePort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

func (r *redisServer) addr() string { return "127.0.0.1:" + strconv.Itoa(r.port) }

// start launches redis-server and waits until it answers PING.
func (r *redisServer) start() {
	r.t.Helper()
	args := append([]string{"--port", strconv.Itoa(r.port), "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no", "--dir", r.dir,
		"--logfile", filepath.Join(r.dir, "redis.log")}, r.args...)
	r.cmd = exec.Command(r.bin, args...)
	if err := r.cmd.Start(); err != nil {
		r.t.Fatalf("starting redis-server: %v", err)
	}
	deadline := time.Now().Add(15 * time.Second)
	for !r.pings() {
		if time.Now().After(deadline) {
			r.stop()
			r.t.Fatalf("redis-server on %s did not answer PING", r.addr())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func (r *redisServer) pings() bool {
	c, err := net.DialTimeout("tcp", r.addr(), time.Second)
	if err != nil {
		return false
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(time.Second))
	if _, err := io.WriteString(c, "PING\r\n"); err != nil {
		return false
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	return err == nil && line == "+PONG\r\n"
}

// stop kills redis-server (SIGKILL: no goodbye to clients) and reaps it.
func (r *redisServer) stop() {
	if r.cmd == nil {
		return
	}
	_ = r.cmd.Process.Kill()
	_ = r.cmd.Wait()
	r.cmd = nil
}

// newClient returns a client for addr, closed at cleanup.
func newClient(t testing.TB, addr string) *redis.Client {
	t.Helper()
	c := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1,
		DialTimeout: time.Second, ReadTimeout: 2 * time.Second, WriteTimeout: 2 * time.Second})
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// proxy is a loopback TCP proxy whose link can be cut, to partition one
// replica from Redis while the others stay connected.
type proxy struct {
	ln     net.Listener
	target string
	mu     sync.Mutex
	cut    bool
	conns  map[net.Conn]struct{}
	wg     sync.WaitGroup
}

func newProxy(t testing.TB, target string) *proxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{ln: ln, target: target, conns: make(map[net.Conn]struct{})}
	p.wg.Add(1)
	go p.accept()
	t.Cleanup(p.close)
	return p
}

func (p *proxy) addr() string { return p.ln.Addr().String() }

func (p *proxy) accept() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		cut := p.cut
		p.mu.Unlock()
		if cut {
			_ = c.Close()
			continue
		}
		up, err := net.Dial("tcp", p.target)
		if err != nil {
			_ = c.Close()
			continue
		}
		p.pipe(c, up)
	}
}

func (p *proxy) pipe(a, b net.Conn) {
	p.mu.Lock()
	p.conns[a], p.conns[b] = struct{}{}, struct{}{}
	p.mu.Unlock()
	p.wg.Add(2)
	copyClose := func(dst, src net.Conn) {
		defer p.wg.Done()
		_, _ = io.Copy(dst, src)
		_ = dst.Close()
		_ = src.Close()
	}
	go copyClose(a, b)
	go copyClose(b, a)
}

// setCut cuts (closing every open link and refusing new ones) or heals.
func (p *proxy) setCut(cut bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cut = cut
	if cut {
		for c := range p.conns {
			_ = c.Close()
		}
		clear(p.conns)
	}
}

func (p *proxy) close() {
	_ = p.ln.Close()
	p.setCut(true)
	p.wg.Wait()
}

// eventually polls cond until it holds or the deadline passes. It bounds
// correctness (the state must be reached), it does not measure speed.
func eventually(t testing.TB, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("not reached within %v: %s", within, what)
		}
		time.Sleep(time.Millisecond)
	}
}

// unreachableAddr is a loopback address nothing listens on.
func unreachableAddr(t testing.TB) string {
	return "127.0.0.1:" + strconv.Itoa(freePort(t))
}

var bg = context.Background()

// logBuffer is a slog destination a test can read back.
type logBuffer struct {
	mu  sync.Mutex
	buf strings.Builder
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// count returns how many logged lines contain s.
func (b *logBuffer) count(s string) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	n := 0
	for line := range strings.Lines(b.buf.String()) {
		if strings.Contains(line, s) {
			n++
		}
	}
	return n
}

// sum adds up the integer attribute key of the logged lines containing s.
func (b *logBuffer) sum(s, key string) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	total := 0
	for line := range strings.Lines(b.buf.String()) {
		if !strings.Contains(line, s) {
			continue
		}
		for field := range strings.FieldsSeq(line) {
			if v, ok := strings.CutPrefix(field, key+"="); ok {
				n, _ := strconv.Atoi(v)
				total += n
			}
		}
	}
	return total
}

func (b *logBuffer) logger() *slog.Logger { return slog.New(slog.NewTextHandler(b, nil)) }

// quietLogger drops go-redis's own log lines (dial failures are expected
// in outage tests and reported through the Store instead).
type quietLogger struct{}

func (quietLogger) Printf(context.Context, string, ...any) {}

func TestMain(m *testing.M) {
	redis.SetLogger(quietLogger{})
	testKey = newTestKey()
	os.Exit(m.Run())
}
