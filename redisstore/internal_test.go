package redisstore

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestMessageRoundTrip(t *testing.T) {
	tests := []struct {
		id  string
		ttl time.Duration
	}{
		{"sess_2abc", time.Minute},
		{"sess:with:colons", 1500 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.id, func(t *testing.T) {
			id, ttl, err := decodeMessage(encodeMessage(tt.id, tt.ttl))
			require.NoError(t, err)
			assert.Equal(t, tt.id, id)
			assert.Equal(t, tt.ttl, ttl)
		})
	}
}

func TestDecodeMessageRejects(t *testing.T) {
	for _, p := range []string{"", "sess_1", ":sess_1", "0:sess_1", "-1:sess_1", "1:", "x:sess_1"} {
		t.Run(p, func(t *testing.T) {
			_, _, err := decodeMessage(p)
			assert.Error(t, err)
		})
	}
}

func TestEscapeGlob(t *testing.T) {
	assert.Equal(t, `clerkauth:revoked:`, escapeGlob("clerkauth:revoked:"))
	assert.Equal(t, `a\?\[1\]\*\\:`, escapeGlob(`a?[1]*\:`))
}

func TestLocalSetKeepsLaterUntil(t *testing.T) {
	var l localSet
	now := time.Unix(1000, 0)
	l.add("s", now.Add(time.Hour))
	l.add("s", now.Add(time.Minute)) // an earlier until must not shorten it
	assert.True(t, l.has("s", func() time.Time { return now.Add(30 * time.Minute) }))
	l.purge(now.Add(2 * time.Hour))
	assert.Zero(t, l.len())
}

func TestResyncIntervalDefaults(t *testing.T) {
	tests := []struct {
		name   string
		in     time.Duration
		want   time.Duration
		active bool
	}{
		{"zero means the default", 0, DefaultResyncInterval, true},
		{"negative disables", -1, -1, false},
		{"positive kept", 250 * time.Millisecond, 250 * time.Millisecond, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o, err := Options{ResyncInterval: tt.in}.withDefaults()
			require.NoError(t, err)
			assert.Equal(t, tt.want, o.ResyncInterval)
			r := newResyncTimer(o.ResyncInterval)
			defer r.stop()
			assert.Equal(t, tt.active, r.c() != nil, "timer armed")
		})
	}
}
