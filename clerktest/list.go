package clerktest

import (
	"cmp"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"time"
)

// listStatuses are the values of the status filter of GET /sessions
// (pending is not one of them).
var listStatuses = []string{StatusAbandoned, StatusActive, StatusEnded, StatusExpired,
	StatusRemoved, StatusReplaced, StatusRevoked}

type listQuery struct {
	clientID, userID, status string
	paginated                bool
	limit, offset            int
}

func parseListQuery(q url.Values) (listQuery, *httpError) {
	lq := listQuery{clientID: q.Get("client_id"), userID: q.Get("user_id"), status: q.Get("status"), limit: 10}
	if lq.status != "" && !slices.Contains(listStatuses, lq.status) {
		return lq, errParamInvalid("status", "status must be one of: abandoned, active, ended, expired, removed, replaced, revoked.")
	}
	var e *httpError
	if lq.limit, e = queryInt(q, "limit", 10, 1, 500); e != nil {
		return lq, e
	}
	if lq.offset, e = queryInt(q, "offset", 0, 0, -1); e != nil {
		return lq, e
	}
	if v := q.Get("paginated"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return lq, errParamInvalid("paginated", "paginated must be true or false.")
		}
		lq.paginated = b
	}
	return lq, nil
}

// queryInt parses an integer query parameter within [lo, hi] (hi < 0: no
// upper bound).
func queryInt(q url.Values, name string, def, lo, hi int) (int, *httpError) {
	v := q.Get(name)
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < lo || (hi >= 0 && n > hi) {
		long := name + " must be an integer greater than or equal to " + strconv.Itoa(lo)
		if hi >= 0 {
			long = name + " must be an integer between " + strconv.Itoa(lo) + " and " + strconv.Itoa(hi)
		}
		return 0, errParamInvalid(name, long+".")
	}
	return n, nil
}

func (s *Server) listSessions(w http.ResponseWriter, r *http.Request) {
	lq, e := parseListQuery(r.URL.Query())
	if e != nil {
		writeHTTPError(w, e)
		return
	}
	all := s.matchingSessions(lq)
	page := all[min(lq.offset, len(all)):min(lq.offset+lq.limit, len(all))]
	data := make([]sessionResource, 0, len(page))
	for _, sess := range page {
		data = append(data, s.resource(sess))
	}
	if lq.paginated {
		writeJSON(w, http.StatusOK, map[string]any{"data": data, "total_count": len(all)})
		return
	}
	writeJSON(w, http.StatusOK, data)
}

// matchingSessions returns snapshots of the sessions lq selects, newest
// first.
func (s *Server) matchingSessions(lq listQuery) []*Session {
	now := s.clock.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []*Session
	for _, sess := range s.st.sessions {
		c := sess.clone()
		c.Status = sess.statusAt(now)
		if (lq.clientID == "" || c.ClientID == lq.clientID) && (lq.userID == "" || c.UserID == lq.userID) &&
			(lq.status == "" || c.Status == lq.status) {
			out = append(out, c)
		}
	}
	slices.SortFunc(out, func(a, b *Session) int {
		if c := b.CreatedAt.Compare(a.CreatedAt); c != 0 {
			return c
		}
		return cmp.Compare(b.seq, a.seq)
	})
	return out
}

// sessionResource is the Session object of Clerk's 2026-05-12 API.
type sessionResource struct {
	Object                   string            `json:"object"`
	ID                       string            `json:"id"`
	UserID                   string            `json:"user_id"`
	ClientID                 string            `json:"client_id"`
	Actor                    *Actor            `json:"actor"`
	Status                   string            `json:"status"`
	LastActiveOrganizationID *string           `json:"last_active_organization_id"`
	LastActiveAt             int64             `json:"last_active_at"`
	LatestActivity           *sessionActivity  `json:"latest_activity"`
	ExpireAt                 int64             `json:"expire_at"`
	AbandonAt                int64             `json:"abandon_at"`
	UpdatedAt                int64             `json:"updated_at"`
	CreatedAt                int64             `json:"created_at"`
	Tasks                    []sessionTaskJSON `json:"tasks"`
}

type sessionActivity struct {
	Object         string `json:"object"`
	ID             string `json:"id"`
	DeviceType     string `json:"device_type"`
	IsMobile       bool   `json:"is_mobile"`
	BrowserName    string `json:"browser_name"`
	BrowserVersion string `json:"browser_version"`
	IPAddress      string `json:"ip_address"`
	City           string `json:"city"`
	Country        string `json:"country"`
}

type sessionTaskJSON struct {
	Key string `json:"key"`
}

func (s *Server) resource(sess *Session) sessionResource {
	res := sessionResource{
		Object: "session", ID: sess.ID, UserID: sess.UserID, ClientID: sess.ClientID,
		Actor: sess.Actor, Status: sess.Status,
		LastActiveAt: millis(sess.LastActiveAt), ExpireAt: millis(sess.ExpireAt),
		AbandonAt: millis(sess.AbandonAt), UpdatedAt: millis(sess.UpdatedAt), CreatedAt: millis(sess.CreatedAt),
		LatestActivity: &sessionActivity{
			Object: "session_activity", ID: "sess_activity_" + sess.ID[len("sess_"):],
			DeviceType: "Test", BrowserName: "clerktest", BrowserVersion: "1.0.0",
			IPAddress: "127.0.0.1", City: "Localhost", Country: "ZZ",
		},
	}
	if sess.Org != nil {
		res.LastActiveOrganizationID = &sess.Org.ID
	}
	for _, t := range sess.Tasks {
		res.Tasks = append(res.Tasks, sessionTaskJSON{Key: t})
	}
	return res
}

func millis(t time.Time) int64 { return t.UnixMilli() }
