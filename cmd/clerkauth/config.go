package main

import (
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/clerkauth/clerkauth"
)

// apiFlags are the flags that reach the Backend API, overriding the
// CLERK_* environment variables.
type apiFlags struct {
	secretKey, apiURL, apiVersion string
	maxRetries                    int
}

func (f *apiFlags) register(fs *flagSet) {
	fs.StringVar(&f.secretKey, "secret-key", "", "instance secret key `sk_…` (default $CLERK_SECRET_KEY; prefer the variable: flags show in ps)")
	fs.StringVar(&f.apiURL, "api-url", "", "Backend API base `URL` (default $CLERK_API_URL, else "+clerkauth.DefaultAPIURL+")")
	fs.StringVar(&f.apiVersion, "api-version", "", "Clerk-API-Version `YYYY-MM-DD` (default $CLERK_API_VERSION, else "+clerkauth.DefaultAPIVersion+")")
	fs.IntVar(&f.maxRetries, "max-retries", 0, "retries of failed requests to Clerk (`n`; 0: default 3, negative: none)")
}

// apply overrides cfg's fields with the flags that were set.
func (f *apiFlags) apply(cfg *clerkauth.Config) {
	setIf(&cfg.SecretKey, f.secretKey)
	setIf(&cfg.APIURL, f.apiURL)
	setIf(&cfg.APIVersion, f.apiVersion)
	cfg.MaxRetries = f.maxRetries
}

// verifyFlags are the flags of the verification configuration.
type verifyFlags struct {
	apiFlags
	publishableKey, jwtKey, jwksURL string
	parties, issuers, audience      listFlag
	leeway                          time.Duration
	allowPending, skipIssuer        bool
}

func (f *verifyFlags) register(fs *flagSet) {
	f.apiFlags.register(fs)
	fs.StringVar(&f.publishableKey, "publishable-key", "", "instance publishable key `pk_…`, from which the issuer is read (default $CLERK_PUBLISHABLE_KEY)")
	fs.StringVar(&f.jwtKey, "jwt-key", "", "PEM public key, or @`file` holding it: verify without any network request (default $CLERK_JWT_KEY)")
	fs.StringVar(&f.jwksURL, "jwks-url", "", "public JWKS `URL` used instead of {api-url}/jwks (default $CLERK_JWKS_URL)")
	fs.Var(&f.parties, "authorized-party", "accepted azp `origin`; repeatable or comma-separated (default $CLERK_AUTHORIZED_PARTIES)")
	fs.Var(&f.issuers, "issuer", "extra accepted `issuer` URL; repeatable")
	fs.Var(&f.audience, "audience", "required `aud` value; repeatable")
	fs.DurationVar(&f.leeway, "leeway", 0, "clock skew tolerated on exp, nbf and iat (`duration`; 0: default 5s)")
	fs.BoolVar(&f.allowPending, "allow-pending", false, "accept sessions whose status is pending")
	fs.BoolVar(&f.skipIssuer, "insecure-skip-issuer-check", false, "accept any issuer (MUST NOT be used for real decisions)")
}

// config returns the configuration of the environment with the flags
// applied.
func (f *verifyFlags) config() (clerkauth.Config, error) {
	cfg := clerkauth.ConfigFromEnv()
	f.apply(&cfg)
	setIf(&cfg.PublishableKey, f.publishableKey)
	setIf(&cfg.JWKSURL, f.jwksURL)
	if f.jwtKey != "" {
		pem, err := readAtFile(f.jwtKey)
		if err != nil {
			return cfg, err
		}
		cfg.JWTKey = pem
	}
	if len(f.parties) > 0 {
		cfg.AuthorizedParties = f.parties
	}
	cfg.Issuers, cfg.Audience = f.issuers, f.audience
	cfg.Leeway, cfg.AllowPendingSessions = f.leeway, f.allowPending
	cfg.InsecureSkipIssuerCheck = f.skipIssuer
	return cfg, nil
}

// readAtFile returns v, or the contents of the file v names after an '@'.
func readAtFile(v string) (string, error) {
	path, ok := strings.CutPrefix(v, "@")
	if !ok {
		return v, nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("reading %s: %w", path, err)
	}
	return string(b), nil
}

func setIf(dst *string, v string) {
	if v != "" {
		*dst = v
	}
}
