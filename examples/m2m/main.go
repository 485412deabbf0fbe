// Command m2m is a pair of services that talk with Clerk M2M tokens: an
// internal billing API that only the machines it names may call, and a
// caller that calls it as a machine. Run each as its own process, with its
// own machine's secret key:
//
//	# the billing API: its own machine key (optional) lets Clerk refuse
//	# opaque tokens not scoped to it; ALLOWED_MACHINES says who may call
//	CLERK_SECRET_KEY=sk_… CLERK_PUBLISHABLE_KEY=pk_… CLERK_MACHINE_SECRET_KEY=ak_… \
//	ALLOWED_MACHINES=mch_… go run ./m2m api
//
//	# the caller: the calling machine's key
//	CLERK_MACHINE_SECRET_KEY=ak_… go run ./m2m call
//
// api.go is the receiving side and caller.go the calling side; each reads
// alone. ADDR is where the API listens and BILLING_URL where the caller
// calls it, both 127.0.0.1:8082 by default.
package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
)

const usage = "usage: m2m api|call (see go doc ./m2m)"

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, usage)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var err error
	switch os.Args[1] {
	case "api":
		logger := slog.New(slog.NewTextHandler(os.Stderr, nil))
		err = serveAPI(ctx, envOr("ADDR", "127.0.0.1:8082"), strings.Split(os.Getenv("ALLOWED_MACHINES"), ","), logger)
	case "call":
		err = call(ctx, envOr("BILLING_URL", "http://127.0.0.1:8082"))
	default:
		fmt.Fprintln(os.Stderr, usage)
		os.Exit(2)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "m2m "+os.Args[1]+":", err)
		os.Exit(1)
	}
}

func envOr(name, def string) string {
	if v := strings.TrimSpace(os.Getenv(name)); v != "" {
		return v
	}
	return def
}
