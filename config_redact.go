package clerkauth

import (
	"fmt"
	"log/slog"
)

// printableConfig is a Config without its methods, for printing.
type printableConfig Config

// String returns cfg as fmt's %+v prints a struct, with SecretKey and
// MachineSecretKey redacted (see [Redact]), so that logging a Config never
// leaks them.
func (cfg Config) String() string {
	cfg.SecretKey, cfg.MachineSecretKey = Redact(cfg.SecretKey), Redact(cfg.MachineSecretKey)
	return fmt.Sprintf("%+v", printableConfig(cfg))
}

// GoString is String, so that %#v does not print the secrets either.
func (cfg Config) GoString() string { return cfg.String() }

// LogValue logs cfg as String prints it.
func (cfg Config) LogValue() slog.Value { return slog.StringValue(cfg.String()) }

// printableM2MConfig is an M2MConfig without its methods, for printing.
type printableM2MConfig M2MConfig

// String returns cfg as fmt's %+v prints a struct, with MachineSecretKey
// redacted (see [Redact]), so that logging an M2MConfig never leaks it.
func (cfg M2MConfig) String() string {
	cfg.MachineSecretKey = Redact(cfg.MachineSecretKey)
	return fmt.Sprintf("%+v", printableM2MConfig(cfg))
}

// GoString is String, so that %#v does not print the secret either.
func (cfg M2MConfig) GoString() string { return cfg.String() }

// LogValue logs cfg as String prints it.
func (cfg M2MConfig) LogValue() slog.Value { return slog.StringValue(cfg.String()) }
