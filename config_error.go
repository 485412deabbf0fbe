package clerkauth

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/clerkauth/clerkauth/internal/httpx"
)

// ConfigError is a configuration that cannot be used, naming what the user
// sets. NewVerifier, NewSessionsClient and NewMiddleware return it for
// every invalid field; it matches [ErrInvalidConfig] with errors.Is, and
// errors.As finds it:
//
//	var ce *clerkauth.ConfigError
//	if errors.As(err, &ce) && ce.Field == "PublishableKey" { … }
//
// A tool with its own names for the fields (flags, settings keys) renders
// the message in those with [ConfigError.Describe].
type ConfigError struct {
	// Field is the Go name of the field at fault: of [Config] for
	// NewVerifier and NewSessionsClient, such as "PublishableKey"; of
	// [MiddlewareOptions] for NewMiddleware, such as "Realm". When any of
	// several fields would do (a key source), it is the first of them.
	Field string

	// Env is the environment variable [ConfigFromEnv] read Field's value
	// from, such as "CLERK_PUBLISHABLE_KEY"; "" when the value did not come
	// from the environment.
	Env string

	// Reason says what is wrong, naming fields by their Go names, such as
	// "PublishableKey must start with pk_test_ or pk_live_".
	Reason string

	// Err is the underlying cause, if any.
	Err error

	format string   // Reason with a %s for each of fields
	fields []string // Go names, Field first
	envs   []string // environment variable of each of fields, or ""
}

// configError returns the ConfigError of format, whose %s verbs name
// fields in order (at least one).
func configError(format string, fields ...string) *ConfigError {
	e := &ConfigError{Field: fields[0], format: format, fields: fields, envs: make([]string, len(fields))}
	e.Reason = e.Describe(func(f string) string { return f })
	return e
}

// quoted returns s quoted for a configError format: its '%' escaped.
func quoted(s string) string { return strings.ReplaceAll(strconv.Quote(s), "%", "%%") }

// Describe returns the message with each field named by name(field),
// such as a command-line tool's flag ("--publishable-key") for
// "PublishableKey". Error uses the Go names, with the environment
// variables the values came from.
func (e *ConfigError) Describe(name func(field string) string) string {
	if e.format == "" {
		return e.Reason
	}
	args := make([]any, len(e.fields))
	for i, f := range e.fields {
		args[i] = name(f)
	}
	return fmt.Sprintf(e.format, args...)
}

// Error returns "clerkauth: invalid configuration: <reason>[: <cause>]",
// each field followed by the environment variable its value came from.
func (e *ConfigError) Error() string {
	var b strings.Builder
	b.WriteString(ErrInvalidConfig.Error())
	b.WriteString(": ")
	b.WriteString(e.Describe(e.nameWithEnv))
	if e.Err != nil {
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	return b.String()
}

func (e *ConfigError) nameWithEnv(field string) string {
	for i, f := range e.fields {
		if f == field && e.envs[i] != "" {
			return field + " (" + e.envs[i] + ")"
		}
	}
	return field
}

// Unwrap returns the underlying cause.
func (e *ConfigError) Unwrap() error { return e.Err }

// Is reports whether target is ErrInvalidConfig.
func (e *ConfigError) Is(target error) bool { return target == ErrInvalidConfig }

// withCause sets the cause of e and returns e.
func (e *ConfigError) withCause(err error) *ConfigError {
	e.Err = err
	return e
}

// envVar returns the environment variable ConfigFromEnv reads field
// from, "" for the fields it does not read.
func envVar(field string) string {
	switch field {
	case "SecretKey":
		return "CLERK_SECRET_KEY"
	case "PublishableKey":
		return "CLERK_PUBLISHABLE_KEY"
	case "JWTKey":
		return "CLERK_JWT_KEY"
	case "APIURL":
		return "CLERK_API_URL"
	case "APIVersion":
		return "CLERK_API_VERSION"
	case "JWKSURL":
		return "CLERK_JWKS_URL"
	case "AuthorizedParties":
		return "CLERK_AUTHORIZED_PARTIES"
	}
	return ""
}

// stringField returns the value of a string field of cfg, "" for others.
func (cfg *Config) stringField(field string) string {
	switch field {
	case "SecretKey":
		return cfg.SecretKey
	case "PublishableKey":
		return cfg.PublishableKey
	case "JWTKey":
		return cfg.JWTKey
	case "APIURL":
		return cfg.APIURL
	case "APIVersion":
		return cfg.APIVersion
	case "JWKSURL":
		return cfg.JWKSURL
	case "AuthorizedParties":
		return strings.Join(cfg.AuthorizedParties, ",")
	}
	return ""
}

// attribute completes a validation error of cfg: a ConfigError learns the
// environment variables that hold its fields' values (as ConfigFromEnv
// reads them: the value came from there, or is as wrong there), and an
// httpx field error becomes a ConfigError. Other errors are returned as
// they are.
func (cfg *Config) attribute(err error) error {
	var fe *httpx.FieldError
	if errors.As(err, &fe) {
		err = configError("%s "+fe.Problem, fe.Field).withCause(fe.Err)
	}
	var ce *ConfigError
	if !errors.As(err, &ce) {
		return err
	}
	env := configFromLookup(os.LookupEnv)
	for i, f := range ce.fields {
		name := envVar(f)
		if name == "" {
			continue
		}
		if v := cfg.stringField(f); v != "" && v == env.stringField(f) {
			ce.envs[i] = name
		}
	}
	ce.Env = ce.envs[0]
	return err
}
