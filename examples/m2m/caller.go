package main

// The calling side: a service that calls the billing API as the machine
// whose secret key it holds. Every request carries an M2M token, created
// with that key and renewed before it expires.

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/clerkauth/clerkauth"
)

// call fetches billingURL/invoices once, as the machine of
// CLERK_MACHINE_SECRET_KEY, and prints the answer.
func call(ctx context.Context, billingURL string) error {
	client, closeClient, err := newBillingClient(clerkauth.M2MConfigFromEnv(), billingURL)
	if err != nil {
		return err
	}
	defer closeClient()
	body, err := fetch(ctx, client, billingURL+"/invoices")
	if err != nil {
		return err
	}
	fmt.Println(body)
	return nil
}

// newBillingClient returns an HTTP client that sends M2M tokens of the
// machine cfg names to billingURL, and only there: a redirect to another
// host is followed without the token. The returned func stops the token
// source.
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

// statusError is a non-200 answer of the billing API.
type statusError struct{ code int }

func (e *statusError) Error() string { return fmt.Sprintf("billing answered %d", e.code) }
