package apptest

import (
	"bytes"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/clerkauth/clerkauth/examples/internal/demo"
)

// demoBaseURL is the app URL given to demo mode; the printed commands are
// replayed against the router directly, so nothing listens there.
const demoBaseURL = "http://127.0.0.1:18080"

var (
	// tokenLine matches `  NAME_TOKEN='…'` in the demo instructions.
	tokenLine = regexp.MustCompile(`(?m)^\s+([A-Z]+_TOKEN)='([^']+)'$`)
	// curlLine matches a printed curl command and the status it promises.
	curlLine = regexp.MustCompile(`(?m)^\s+curl -i(?: -X ([A-Z]+))?(?: -H "Authorization: Bearer \$([A-Z_]+)")? (\S+)\s+# (\d{3})`)
)

// RunDemo runs newApp in demo mode, as `go run` does without
// CLERK_SECRET_KEY and CLERK_PUBLISHABLE_KEY, and replays the curl commands
// demo mode prints, in order, through its router: each must answer the
// status printed next to it.
func RunDemo(t *testing.T, newApp NewApp, features Features) {
	instance := demo.Start()
	defer instance.Close()
	h, cleanup, err := newApp(instance.Config(), quiet())
	require.NoError(t, err)
	defer cleanup()
	var out bytes.Buffer
	instance.PrintInstructions(&out, demoBaseURL, features.Logout)
	printed := out.String()

	tokens := map[string]string{}
	for _, m := range tokenLine.FindAllStringSubmatch(printed, -1) {
		tokens[m[1]] = m[2]
	}
	require.Len(t, tokens, 3, "printed:\n%s", printed)

	cmds := curlLine.FindAllStringSubmatch(printed, -1)
	wantCmds := 7
	if features.Logout {
		wantCmds++
	}
	require.Len(t, cmds, wantCmds, "printed:\n%s", printed)
	for _, c := range cmds {
		method, variable, url, status := c[1], c[2], c[3], c[4]
		if method == "" {
			method = http.MethodGet
		}
		path, ok := strings.CutPrefix(url, demoBaseURL)
		require.True(t, ok, "command for another host: %s", c[0])
		want, _ := strconv.Atoi(status)
		rec := do(h, method, path, tokens[variable])
		assert.Equal(t, want, rec.Code, "%s\nbody: %s", strings.TrimSpace(c[0]), rec.Body)
	}
	if features.Logout {
		rec := do(h, http.MethodGet, "/api/me", tokens["ADMIN_TOKEN"])
		assert.Equal(t, http.StatusUnauthorized, rec.Code, "token refused after logout")
	}
}
