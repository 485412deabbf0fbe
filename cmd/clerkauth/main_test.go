package main

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/clerkauth/clerkauth"
)

func TestHelpEverywhere(t *testing.T) {
	clearClerkEnv(t)
	commands := [][]string{
		nil, {"demo"}, {"dev"}, {"verify"}, {"sessions"}, {"sessions", "list"}, {"sessions", "get"},
		{"sessions", "revoke"}, {"sessions", "token"}, {"version"},
	}
	for _, cmd := range commands {
		for _, flag := range []string{"-h", "--help"} {
			args := append(append([]string{}, cmd...), flag)
			t.Run(strings.Join(args, " "), func(t *testing.T) {
				r := cli(t, "", args...)
				assert.Equal(t, exitOK, r.code)
				assert.Empty(t, r.stderr)
				assert.True(t, strings.HasPrefix(r.stdout, "Usage:") || strings.HasPrefix(r.stdout, "clerkauth guards"), r.stdout)
				assert.Contains(t, r.stdout, "Usage:")
			})
		}
	}
}

func TestHelpListsFlags(t *testing.T) {
	r := cli(t, "", "verify", "--help")
	for _, flag := range []string{"-secret-key", "-publishable-key", "-jwt-key", "-api-url", "-jwks-url", "-authorized-party", "-json"} {
		assert.Contains(t, r.stdout, flag)
	}
	assert.Contains(t, cli(t, "", "help", "dev").stdout, "-addr")
}

func TestTopLevel(t *testing.T) {
	tests := []struct {
		name   string
		args   []string
		code   int
		stdout string
		stderr string
	}{
		{"no arguments", nil, exitUsage, "", "Commands:"},
		{"unknown command", []string{"frobnicate"}, exitUsage, "", `unknown command "frobnicate"`},
		{"version", []string{"version"}, exitOK, "clerkauth " + clerkauth.Version, ""},
		{"--version", []string{"--version"}, exitOK, "clerkauth " + clerkauth.Version, ""},
		{"version with an argument", []string{"version", "x"}, exitUsage, "", "takes no arguments"},
		{"unknown flag", []string{"verify", "--frobnicate"}, exitUsage, "", "Run 'clerkauth verify -h' for usage."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := cli(t, "", tt.args...)
			assert.Equal(t, tt.code, r.code)
			assert.Contains(t, r.stdout, tt.stdout)
			assert.Contains(t, r.stderr, tt.stderr)
			if tt.stdout == "" {
				assert.Empty(t, r.stdout)
			}
		})
	}
}

func TestParseInterspersed(t *testing.T) {
	tests := []struct {
		args []string
		pos  []string
		json bool
	}{
		{[]string{"a", "--json", "b"}, []string{"a", "b"}, true},
		{[]string{"--json", "-"}, []string{"-"}, true},
		{[]string{"a", "--", "--json"}, []string{"a", "--json"}, false},
		{nil, nil, false},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			fs := newFlagSet(env{}, "x", "")
			json := fs.Bool("json", false, "")
			pos, err := parseInterspersed(fs.FlagSet, tt.args)
			assert.NoError(t, err)
			assert.Equal(t, tt.pos, pos)
			assert.Equal(t, tt.json, *json)
		})
	}
}
