package clerkauth

import (
	"bytes"
	"fmt"
	"log/slog"
	"testing"

	"github.com/stretchr/testify/assert"
)

// TestConfigsNeverPrintSecrets: an operator logging the configuration
// (fmt's verbs, slog) must not leak the secret key or the machine secret
// key, as M2MToken's String already does not leak its token.
func TestConfigsNeverPrintSecrets(t *testing.T) {
	const sk, mk = "sk_test_verysecretinstancekey", "ak_verysecretmachinekey"
	cfg := Config{SecretKey: sk, MachineSecretKey: mk, PublishableKey: testPK, Leeway: 7}
	m2m := M2MConfig{MachineSecretKey: mk, APIURL: "https://api.clerk.com/v1"}
	for name, v := range map[string]any{"Config": cfg, "*Config": &cfg, "M2MConfig": m2m, "*M2MConfig": &m2m} {
		t.Run(name, func(t *testing.T) {
			var logs bytes.Buffer
			slog.New(slog.NewTextHandler(&logs, nil)).Info("config", "cfg", v)
			slog.New(slog.NewJSONHandler(&logs, nil)).Info("config", "cfg", v)
			for _, out := range []string{fmt.Sprint(v), fmt.Sprintf("%+v", v), fmt.Sprintf("%#v", v), logs.String()} {
				assert.NotContains(t, out, "verysecret", "a secret was printed")
				assert.Contains(t, out, "ak_very", "the redacted form stays recognisable")
			}
		})
	}
	assert.Contains(t, fmt.Sprintf("%+v", cfg), "Leeway:7", "the other fields are printed as they are")
	assert.Equal(t, sk, cfg.SecretKey, "printing does not change the Config")
}
