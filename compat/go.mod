module github.com/clerkauth/clerkauth/compat

go 1.26

replace github.com/clerkauth/clerkauth => ../

require (
	github.com/clerk/clerk-sdk-go/v2 v2.4.2
	github.com/clerkauth/clerkauth v0.0.0-00010101000000-000000000000
)

require (
	github.com/go-jose/go-jose/v3 v3.0.4 // indirect
	go.yaml.in/yaml/v3 v3.0.6 // indirect
	golang.org/x/crypto v0.19.0 // indirect
)
