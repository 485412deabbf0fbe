package redisstore_test

import (
	"context"
	"log"
	"net/http"

	"github.com/clerkauth/clerkauth"
	"github.com/clerkauth/clerkauth/redisstore"
	"github.com/redis/go-redis/v9"
)

// A fleet of replicas shares the verification of opaque machine tokens
// (API keys here) through Redis, and forgets a key revoked by ID on every
// replica at once. (Compiled, not run: it needs a Redis and a Clerk
// instance.)
func ExampleNewMachineCache() {
	ctx := context.Background()
	client := redis.NewClient(&redis.Options{Addr: "127.0.0.1:6379"})
	defer client.Close()
	mc, err := redisstore.NewMachineCache(ctx, client, redisstore.MachineCacheOptions{})
	if err != nil {
		log.Fatal(err)
	}
	defer mc.Close()

	cfg := clerkauth.ConfigFromEnv() // CLERK_SECRET_KEY, CLERK_PUBLISHABLE_KEY
	cfg.MachineTokenCache = mc
	v, err := clerkauth.NewVerifier(cfg)
	if err != nil {
		log.Fatal(err)
	}
	defer v.Close()
	m, err := clerkauth.NewMiddleware(v, clerkauth.MiddlewareOptions{
		AcceptsToken: []clerkauth.TokenKind{clerkauth.TokenKindAPIKey},
	})
	if err != nil {
		log.Fatal(err)
	}
	defer m.Close()

	// Call this where your application revokes a key (say, its admin
	// tool, after a revocation in Clerk's dashboard or API): every
	// replica stops accepting it at once. An error means "retry".
	revoked := func(ctx context.Context, keyID string) error {
		return v.ForgetMachineTokenID(ctx, keyID)
	}
	_ = revoked

	api := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	log.Fatal(http.ListenAndServe("127.0.0.1:8080", api))
}
