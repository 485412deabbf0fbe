package clerkauth

import (
	"net/http"
	"testing"
)

// TestAllStopsWhenOffsetIsIgnored: an API (or a proxy) that ignores offset
// and answers every page with the same full page must not make All loop,
// calling the API without bound.
func TestAllStopsWhenOffsetIsIgnored(t *testing.T) {
	for _, tc := range []struct{ name, page string }{
		{"bare array", "[" + minimalSession("a") + "," + minimalSession("b") + "]"},
		{"paginated, huge total", `{"data":[` + minimalSession("a") + "," + minimalSession("b") + `],"total_count":1000000000}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, api, _ := newFakeClient(t, Config{}, func(_ int, w http.ResponseWriter, _ *http.Request) {
				answer(w, 200, tc.page)
			})
			n, errs := 0, 0
			for _, err := range c.All(t.Context(), ListSessionsParams{UserID: "u", Limit: 2}) {
				if err != nil {
					errs++
					continue
				}
				n++
				if n > 50 {
					break
				}
			}
			if n > 4 || errs != 1 {
				t.Errorf("got %d sessions and %d errors in %d requests; want All to stop with an error after the repeated page", n, errs, len(api.requests()))
			}
		})
	}
}
