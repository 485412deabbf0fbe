package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"
)

// shutdownTimeout bounds the graceful shutdown after an interrupt.
const shutdownTimeout = 5 * time.Second

// checkLoopback returns an error unless addr is host:port with a loopback
// host (127.0.0.0/8, ::1 or localhost).
func checkLoopback(addr string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("bad address %q: %w", addr, err)
	}
	if strings.EqualFold(host, "localhost") {
		return nil
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
		return nil
	}
	return fmt.Errorf("address %q is not a loopback address (use 127.0.0.1:PORT)", addr)
}

// listenLoopback listens on addr, which must be a loopback address.
func listenLoopback(addr string) (net.Listener, error) {
	if err := checkLoopback(addr); err != nil {
		return nil, err
	}
	return net.Listen("tcp", addr)
}

// listenOrFallback listens on addr or, when that fails (port busy), on a
// free port of the same host. fellBack reports the fallback.
func listenOrFallback(addr string) (l net.Listener, fellBack bool, err error) {
	l, err = listenLoopback(addr)
	if err == nil {
		return l, false, nil
	}
	host, port, splitErr := net.SplitHostPort(addr)
	if splitErr != nil || checkLoopback(addr) != nil || port == "0" {
		return nil, false, err
	}
	l, err2 := net.Listen("tcp", net.JoinHostPort(host, "0"))
	if err2 != nil {
		return nil, false, err
	}
	return l, true, nil
}

// server is an HTTP server on a listener, shut down gracefully.
type server struct {
	srv  *http.Server
	done chan error

	stopOnce sync.Once
	stopErr  error
}

// startServer serves h on l in a goroutine until stop is called.
func startServer(l net.Listener, h http.Handler) *server {
	s := &server{
		srv:  &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second},
		done: make(chan error, 1),
	}
	go func() {
		err := s.srv.Serve(l)
		if errors.Is(err, http.ErrServerClosed) {
			err = nil
		}
		s.done <- err
	}()
	return s
}

// stop shuts the server down gracefully, waiting at most shutdownTimeout
// for requests in flight, and returns the error that ended Serve, if any.
// Later calls return the same error.
func (s *server) stop() error {
	s.stopOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
		defer cancel()
		s.stopErr = s.srv.Shutdown(ctx)
		if serveErr := <-s.done; serveErr != nil {
			s.stopErr = serveErr
		}
	})
	return s.stopErr
}

// url returns http://<listener address>.
func listenerURL(l net.Listener) string { return "http://" + l.Addr().String() }
