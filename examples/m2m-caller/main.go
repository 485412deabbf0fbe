// Command m2m-caller is a service that calls an internal API as a Clerk
// machine: every request carries an M2M token, created with the machine's
// secret key and renewed before it expires.
//
//	CLERK_MACHINE_SECRET_KEY=ak_… BILLING_URL=https://billing.internal go run ./m2m-caller
//
// It fetches $BILLING_URL/invoices once and prints the answer.
package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"time"

	"github.com/clerkauth/clerkauth"
)

func main() {
	if err := run(context.Background()); err != nil {
		fmt.Fprintln(os.Stderr, "m2m-caller:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context) error {
	billing := os.Getenv("BILLING_URL")
	client, closeClient, err := newBillingClient(clerkauth.M2MConfigFromEnv(), billing)
	if err != nil {
		return err
	}
	defer closeClient()
	body, err := fetch(ctx, client, billing+"/invoices")
	if err != nil {
		return err
	}
	fmt.Println(body)
	return nil
}

// newBillingClient returns an HTTP client that sends M2M tokens of the
// machine cfg names to billingURL, and only there. The returned func
// stops the token source.
func newBillingClient(cfg clerkauth.M2MConfig, billingURL string) (*http.Client, func(), error) {
	src, err := clerkauth.NewM2MTokenSource(cfg)
	if err != nil {
		return nil, nil, err
	}
	client, err := clerkauth.NewM2MHTTPClient(src, clerkauth.M2MTransportOptions{Origins: []string{billingURL}})
	if err != nil {
		_ = src.Close()
		return nil, nil, err
	}
	client.Timeout = 10 * time.Second
	return client, func() { _ = src.Close() }, nil
}

// fetch GETs url and returns the body of a 200 answer.
func fetch(ctx context.Context, client *http.Client, url string) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return "", err
	}
	resp, err := client.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return "", err
	}
	if resp.StatusCode != http.StatusOK {
		return "", &statusError{code: resp.StatusCode}
	}
	return string(body), nil
}

type statusError struct{ code int }

func (e *statusError) Error() string { return fmt.Sprintf("billing answered %d", e.code) }
