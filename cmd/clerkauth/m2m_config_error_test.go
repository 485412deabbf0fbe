package main

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

// TestM2MConfigErrorNamesTheFlag: a configuration error of the m2m
// commands names the flag and variable to fix, as the sessions commands
// do, not the Go field (APIURL) nor "configuration error: invalid
// configuration".
func TestM2MConfigErrorNamesTheFlag(t *testing.T) {
	clearClerkEnv(t)
	t.Setenv("CLERK_MACHINE_SECRET_KEY", "ak_0123456789abcdef")
	r := cli(t, "", "m2m", "token", "--api-url", "https://user:pw@api.example.com/v1")
	assert.Equal(t, exitUsage, r.code)
	assert.Equal(t, "clerkauth m2m token: invalid configuration: --api-url (CLERK_API_URL) must not hold user info, a query or a fragment\n", r.stderr)
}
