package clerkauth

import (
	"errors"
	"fmt"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"testing"
)

// pagedSessions answers GET /sessions from total sessions s0…s(total-1),
// honouring limit and offset, in the paginated shape or as a bare array.
func pagedSessions(total int, bare bool) func(int, http.ResponseWriter, *http.Request) {
	return func(_ int, w http.ResponseWriter, r *http.Request) {
		limit, _ := strconv.Atoi(r.URL.Query().Get("limit"))
		offset, _ := strconv.Atoi(r.URL.Query().Get("offset"))
		var items []string
		for i := offset; i < total && i < offset+limit; i++ {
			items = append(items, minimalSession(fmt.Sprintf("s%d", i)))
		}
		data := "[" + strings.Join(items, ",") + "]"
		if bare {
			answer(w, 200, data)
			return
		}
		answer(w, 200, fmt.Sprintf(`{"data":%s,"total_count":%d}`, data, total))
	}
}

func TestAllPages(t *testing.T) {
	tests := []struct {
		name        string
		total       int
		bare        bool
		params      ListSessionsParams
		stopAfter   int // break after this many sessions; 0 never
		wantIDs     int
		wantOffsets []string
	}{
		{"total count ends on a full page", 6, false, ListSessionsParams{UserID: "u", Limit: 3}, 0, 6, []string{"", "3"}},
		{"bare arrays end on a short page", 7, true, ListSessionsParams{UserID: "u", Limit: 3}, 0, 7, []string{"", "3", "6"}},
		{"bare arrays end on an empty page", 6, true, ListSessionsParams{UserID: "u", Limit: 3}, 0, 6, []string{"", "3", "6"}},
		{"starting offset", 7, false, ListSessionsParams{UserID: "u", Limit: 3, Offset: 2}, 0, 5, []string{"2", "5"}},
		{"default page size", 150, false, ListSessionsParams{UserID: "u"}, 0, 150, []string{"", "100"}},
		{"early break", 9, false, ListSessionsParams{UserID: "u", Limit: 3}, 4, 4, []string{"", "3"}},
		{"no sessions", 0, false, ListSessionsParams{UserID: "u", Limit: 3}, 0, 0, []string{""}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, api, _ := newFakeClient(t, Config{}, pagedSessions(tt.total, tt.bare))
			var ids []string
			for s, err := range c.All(t.Context(), tt.params) {
				if err != nil {
					t.Fatalf("All: %v", err)
				}
				ids = append(ids, s.ID)
				if len(ids) == tt.stopAfter {
					break
				}
			}
			if len(ids) != tt.wantIDs || len(ids) > 0 && ids[0] != fmt.Sprintf("s%d", tt.params.Offset) {
				t.Errorf("got %d sessions %v; want %d from s%d", len(ids), ids, tt.wantIDs, tt.params.Offset)
			}
			var offsets []string
			for _, r := range api.requests() {
				offsets = append(offsets, r.Query.Get("offset"))
				if r.Query.Get("user_id") != "u" || r.Query.Get("paginated") != "true" || r.Query.Get("limit") == "" {
					t.Errorf("page query %v lacks the filter, paginated or limit", r.Query)
				}
			}
			if !reflect.DeepEqual(offsets, tt.wantOffsets) {
				t.Errorf("page offsets %q; want %q", offsets, tt.wantOffsets)
			}
		})
	}
}

func TestAllStopsAfterError(t *testing.T) {
	c, api, _ := newFakeClient(t, Config{MaxRetries: -1}, func(n int, w http.ResponseWriter, r *http.Request) {
		if n == 1 {
			answer(w, 401, `{"errors":[{"code":"clerk_key_invalid","message":"m","long_message":"l"}]}`)
			return
		}
		pagedSessions(10, false)(n, w, r)
	})
	var ids []string
	var errs []error
	for s, err := range c.All(t.Context(), ListSessionsParams{UserID: "u", Limit: 2}) {
		if err != nil {
			errs = append(errs, err)
			if s != nil {
				t.Error("a session yielded with an error")
			}
			continue // the iterator must stop by itself
		}
		ids = append(ids, s.ID)
	}
	if !reflect.DeepEqual(ids, []string{"s0", "s1"}) || len(errs) != 1 || !errors.Is(errs[0], ErrUnauthorized) {
		t.Errorf("got %v and errors %v; want s0 s1 then one ErrUnauthorized", ids, errs)
	}
	if n := len(api.requests()); n != 2 {
		t.Errorf("%d requests; want 2", n)
	}
}

func TestAllStopsWhenPagingIsIgnored(t *testing.T) {
	c, api, _ := newFakeClient(t, Config{}, func(_ int, w http.ResponseWriter, _ *http.Request) {
		answer(w, 200, "["+minimalSession("a")+","+minimalSession("b")+","+minimalSession("c")+"]")
	})
	n := 0
	for _, err := range c.All(t.Context(), ListSessionsParams{UserID: "u", Limit: 2}) {
		if err != nil {
			t.Fatal(err)
		}
		n++
	}
	if n != 3 || len(api.requests()) != 1 {
		t.Errorf("got %d sessions in %d requests; want 3 in 1", n, len(api.requests()))
	}
}
