package compat

import (
	"crypto/rand"
	"crypto/rsa"
	"fmt"
	"os"
	"testing"
	"time"
)

const time10Minutes = 10 * time.Minute

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
