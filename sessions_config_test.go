package clerkauth

import (
	"errors"
	"net/http"
	"testing"
	"time"
)

func TestNewSessionsClientRejects(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
	}{
		{"no secret key", Config{}},
		{"secret key with a newline", Config{SecretKey: "sk_test_a\nX-Evil: 1"}},
		{"secret key with a space", Config{SecretKey: "sk_test_a b"}},
		{"user agent with a newline", Config{SecretKey: "sk", UserAgent: "app\r\nX: y"}},
		{"API version not a date", Config{SecretKey: "sk", APIVersion: "v1"}},
		{"plain http to a remote host", Config{SecretKey: "sk", APIURL: "http://api.clerk.com/v1"}},
		{"relative URL", Config{SecretKey: "sk", APIURL: "/v1"}},
		{"other scheme", Config{SecretKey: "sk", APIURL: "ftp://api.clerk.com/v1"}},
		{"user info", Config{SecretKey: "sk", APIURL: "https://u:p@api.clerk.com/v1"}},
		{"query", Config{SecretKey: "sk", APIURL: "https://api.clerk.com/v1?x=1"}},
		{"unparsable", Config{SecretKey: "sk", APIURL: "https://api.clerk.com/%zz"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := NewSessionsClient(tt.cfg)
			if !errors.Is(err, ErrInvalidConfig) || c != nil {
				t.Errorf("NewSessionsClient = %v, %v; want ErrInvalidConfig", c, err)
			}
		})
	}
}

func TestNewSessionsClientDefaults(t *testing.T) {
	c, err := NewSessionsClient(Config{SecretKey: "sk_test_x"})
	if err != nil {
		t.Fatal(err)
	}
	if c.baseURL != DefaultAPIURL || c.apiVersion != DefaultAPIVersion || c.maxRetries != DefaultMaxRetries ||
		c.userAgent != "clerkauth-go/"+Version || c.now == nil || c.sleep == nil || c.jitter == nil {
		t.Errorf("defaults not applied: %+v", c)
	}
	if c.httpClient == nil || c.httpClient == http.DefaultClient || c.httpClient.Timeout != 10*time.Second {
		t.Errorf("default HTTP client %+v; want a private one with a 10 s timeout", c.httpClient)
	}
}

func TestNewSessionsClientSettings(t *testing.T) {
	hc := &http.Client{Timeout: 3 * time.Second}
	c, err := NewSessionsClient(Config{
		SecretKey: "sk_test_x", APIURL: "https://api.example.com/v1/", APIVersion: "2024-10-01",
		HTTPClient: hc, MaxRetries: -1, UserAgent: "app/2",
	})
	if err != nil {
		t.Fatal(err)
	}
	// The caller's client is used through a guarded copy (redirects).
	if c.baseURL != "https://api.example.com/v1" || c.apiVersion != "2024-10-01" ||
		c.httpClient == hc || c.httpClient.Timeout != hc.Timeout || c.httpClient.CheckRedirect == nil || hc.CheckRedirect != nil ||
		c.maxRetries != 0 || c.userAgent != "clerkauth-go/"+Version+" app/2" {
		t.Errorf("settings not applied: %+v", c)
	}
	for _, u := range []string{"http://localhost:8080", "http://127.0.0.1:1/v1", "http://[::1]:9/v1"} {
		if _, err := NewSessionsClient(Config{SecretKey: "sk", APIURL: u}); err != nil {
			t.Errorf("loopback %s rejected: %v", u, err)
		}
	}
}
