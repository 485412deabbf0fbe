package clerkauth

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"
)

// SessionStatus is the status of a session as reported by the Backend API.
type SessionStatus string

// Session statuses, as in the Session schema of Clerk's Backend API
// (2026-05-12). All but SessionPending can be used as a [ListSessionsParams]
// filter.
const (
	// SessionActive is a valid, signed-in session.
	SessionActive SessionStatus = "active"
	// SessionRevoked is a session the application ended; it was removed from
	// its client.
	SessionRevoked SessionStatus = "revoked"
	// SessionEnded is a session the user signed out of; it stays on the
	// client.
	SessionEnded SessionStatus = "ended"
	// SessionExpired is a session whose lifetime has passed.
	SessionExpired SessionStatus = "expired"
	// SessionRemoved is a session the user signed out of and that was
	// removed from the client.
	SessionRemoved SessionStatus = "removed"
	// SessionAbandoned is a session abandoned client-side.
	SessionAbandoned SessionStatus = "abandoned"
	// SessionReplaced is a session replaced by another session.
	SessionReplaced SessionStatus = "replaced"
	// SessionPending is a signed-in session whose session tasks are
	// incomplete. The list endpoint cannot filter on it.
	SessionPending SessionStatus = "pending"
)

// listFilterStatuses are the statuses GET /sessions accepts as a filter: the
// spec's enum has no "pending".
var listFilterStatuses = [...]SessionStatus{
	SessionAbandoned, SessionActive, SessionEnded, SessionExpired,
	SessionRemoved, SessionReplaced, SessionRevoked,
}

// canFilter reports whether s may be sent as the status filter of a list.
func (s SessionStatus) canFilter() bool {
	for _, f := range listFilterStatuses {
		if s == f {
			return true
		}
	}
	return false
}

// Session is a Clerk session as returned by the Backend API (schema Session,
// version 2026-05-12). Timestamps are Unix milliseconds, as the API sends
// them; the methods ExpireTime, CreatedTime and so on convert them. Unknown
// fields sent by newer API versions are ignored.
//
// A Session is a plain value: it is safe for concurrent reads, and each call
// of a [SessionsClient] method returns a new one.
type Session struct {
	// Object is always "session".
	Object string `json:"object"`
	// ID is the session ID (sess_…).
	ID string `json:"id"`
	// UserID is the ID of the session's user (user_…).
	UserID string `json:"user_id"`
	// ClientID is the ID of the client the session belongs to (client_…).
	ClientID string `json:"client_id"`
	// Actor describes who acts on behalf of the user for an impersonation
	// or agent session (keys such as "sub"); nil for an ordinary session.
	Actor map[string]any `json:"actor"`
	// Status is the session status.
	Status SessionStatus `json:"status"`
	// LastActiveOrganizationID is the last active organization (org_…), or
	// "" when there is none.
	LastActiveOrganizationID string `json:"last_active_organization_id"`
	// LastActiveAt is when the session was last active, in Unix ms.
	LastActiveAt int64 `json:"last_active_at"`
	// LatestActivity describes the device of the latest activity; nil when
	// the API sent none.
	LatestActivity *SessionActivity `json:"latest_activity"`
	// ExpireAt is when the session expires, in Unix ms.
	ExpireAt int64 `json:"expire_at"`
	// AbandonAt is when the session will be abandoned, in Unix ms.
	AbandonAt int64 `json:"abandon_at"`
	// UpdatedAt is when the session was last updated, in Unix ms.
	UpdatedAt int64 `json:"updated_at"`
	// CreatedAt is when the session was created, in Unix ms.
	CreatedAt int64 `json:"created_at"`
	// Tasks are the session tasks still to complete (for a pending
	// session), or nil.
	Tasks []SessionTask `json:"tasks"`
}

// SessionActivity is the latest activity of a session (schema
// SessionActivityResponse). Optional fields are "" when absent.
type SessionActivity struct {
	// Object is the object type, "session_activity".
	Object string `json:"object"`
	// ID is the activity ID.
	ID string `json:"id"`
	// DeviceType is the device type, such as "Macintosh".
	DeviceType string `json:"device_type,omitempty"`
	// IsMobile reports a mobile device.
	IsMobile bool `json:"is_mobile"`
	// BrowserName is the browser name, such as "Chrome".
	BrowserName string `json:"browser_name,omitempty"`
	// BrowserVersion is the browser version.
	BrowserVersion string `json:"browser_version,omitempty"`
	// IPAddress is the client IP address.
	IPAddress string `json:"ip_address,omitempty"`
	// City is the city derived from the IP address.
	City string `json:"city,omitempty"`
	// Country is the country derived from the IP address.
	Country string `json:"country,omitempty"`
}

// SessionTask is a task the user must complete before a pending session
// becomes active (schema SessionTask).
type SessionTask struct {
	// Key names the task, such as "choose-organization".
	Key string `json:"key"`
}

// LastActiveTime returns LastActiveAt as a time, or the zero time when unset.
func (s *Session) LastActiveTime() time.Time { return unixMilli(s.LastActiveAt) }

// ExpireTime returns ExpireAt as a time, or the zero time when unset.
func (s *Session) ExpireTime() time.Time { return unixMilli(s.ExpireAt) }

// AbandonTime returns AbandonAt as a time, or the zero time when unset.
func (s *Session) AbandonTime() time.Time { return unixMilli(s.AbandonAt) }

// UpdatedTime returns UpdatedAt as a time, or the zero time when unset.
func (s *Session) UpdatedTime() time.Time { return unixMilli(s.UpdatedAt) }

// CreatedTime returns CreatedAt as a time, or the zero time when unset.
func (s *Session) CreatedTime() time.Time { return unixMilli(s.CreatedAt) }

// unixMilli converts Unix milliseconds to a UTC time; 0 is the zero time so
// that an absent timestamp reads as IsZero.
func unixMilli(ms int64) time.Time {
	if ms == 0 {
		return time.Time{}
	}
	return time.UnixMilli(ms).UTC()
}

// SessionList is one page of sessions.
type SessionList struct {
	// Data holds the sessions of the page, newest first.
	Data []*Session `json:"data"`
	// TotalCount is the number of sessions matching the filter across all
	// pages, or -1 when the API answered with a bare array and gave no
	// total.
	TotalCount int64 `json:"total_count"`
}

// decodeSessionList accepts both shapes GET /sessions answers with: a bare
// array of sessions and {"data": [...], "total_count": N}.
func decodeSessionList(body []byte) (*SessionList, error) {
	trimmed := bytes.TrimLeft(body, " \t\r\n")
	if len(trimmed) > 0 && trimmed[0] == '[' {
		var data []*Session
		if err := json.Unmarshal(trimmed, &data); err != nil {
			return nil, err
		}
		return &SessionList{Data: withoutNil(data), TotalCount: -1}, nil
	}
	var page struct {
		Data       *[]*Session `json:"data"`
		TotalCount *int64      `json:"total_count"`
	}
	if err := json.Unmarshal(trimmed, &page); err != nil {
		return nil, err
	}
	if page.Data == nil {
		return nil, errors.New("neither an array nor an object with data")
	}
	list := &SessionList{Data: withoutNil(*page.Data), TotalCount: -1}
	if page.TotalCount != nil {
		list.TotalCount = *page.TotalCount
	}
	return list, nil
}

// withoutNil drops the null entries of a decoded list.
func withoutNil(data []*Session) []*Session {
	out := data[:0]
	for _, s := range data {
		if s != nil {
			out = append(out, s)
		}
	}
	return out
}

// SessionToken is a token created by [SessionsClient.CreateToken] or
// [SessionsClient.CreateTokenFromTemplate] (schema Token). Its String,
// GoString and LogValue methods redact the JWT, so printing or logging it
// does not leak the token; json.Marshal keeps it.
type SessionToken struct {
	// Object is always "token".
	Object string `json:"object"`
	// JWT is the encoded token. Treat it as a secret.
	JWT string `json:"jwt"`
}

// String returns a loggable form of t with the JWT redacted.
func (t SessionToken) String() string {
	return fmt.Sprintf("{%s %s}", t.Object, Redact(t.JWT))
}

// GoString is String, so that %#v does not print the JWT either.
func (t SessionToken) GoString() string { return t.String() }

// LogValue logs t with the JWT redacted (slog's JSON handler would
// otherwise encode it whole).
func (t SessionToken) LogValue() slog.Value {
	return slog.GroupValue(slog.String("object", t.Object), slog.String("jwt", Redact(t.JWT)))
}
