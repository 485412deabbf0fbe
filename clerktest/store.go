package clerktest

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"
)

// ErrNotFound is returned by the Go API for an unknown session or user.
var ErrNotFound = errors.New("clerktest: not found")

// Session statuses, as in Clerk's Session object.
const (
	StatusActive    = "active"
	StatusPending   = "pending"
	StatusRevoked   = "revoked"
	StatusEnded     = "ended"
	StatusExpired   = "expired"
	StatusRemoved   = "removed"
	StatusAbandoned = "abandoned"
	StatusReplaced  = "replaced"
)

var validStatuses = []string{StatusActive, StatusPending, StatusRevoked, StatusEnded,
	StatusExpired, StatusRemoved, StatusAbandoned, StatusReplaced}

// UserParams describes a user to create. Every field is optional.
type UserParams struct {
	// ID is the user ID; default a random user_… ID.
	ID string
	// Email is the user's primary email address, kept for reference.
	Email string
}

// User is a snapshot of a user of the test instance, owned by the caller.
type User struct {
	ID        string
	Email     string
	CreatedAt time.Time
}

// OrgMembership is a session's active organization and the user's role,
// permissions and features in it.
type OrgMembership struct {
	// ID is the organization ID; default a random org_… ID.
	ID string
	// Slug is the organization slug.
	Slug string
	// Role is the member's role, with or without the "org:" prefix; default
	// "org:member".
	Role string
	// Permissions are "org:<feature>:<permission>" strings, such as
	// "org:dashboard:manage". System permissions (org:sys_…) are kept out of
	// tokens, as Clerk does.
	Permissions []string
	// Features are the organization's features (names without scope). A
	// feature named by a permission is added when missing.
	Features []string
}

// Actor is the impersonator of an impersonation session (the act claim).
type Actor struct {
	Subject   string `json:"sub,omitempty"`
	Issuer    string `json:"iss,omitempty"`
	SessionID string `json:"sid,omitempty"`
	Type      string `json:"type,omitempty"`
}

// SessionParams describes a session to create. Every field is optional.
type SessionParams struct {
	// UserID is the session's user; a user is created when empty or unknown.
	UserID string
	// ClientID is the session's client; default a random client_… ID.
	ClientID string
	// Org is the active organization, if any.
	Org *OrgMembership
	// UserFeatures are user-scoped features (names without scope).
	UserFeatures []string
	// Plans are plans, scoped ("u:free", "o:pro") or not (user plans).
	Plans []string
	// FactorAge is the fva claim: minutes since the first and second factor
	// verification, -1 for none. Default [0, -1].
	FactorAge *[2]int
	// Actor makes the session an impersonation.
	Actor *Actor
	// Status is the session status; default "active".
	Status string
	// AuthorizedParty is the azp of the session's tokens, such as
	// "http://localhost:3000". Default none.
	AuthorizedParty string
	// Claims are extra claims added to every session token.
	Claims map[string]any
	// Tasks are the keys of pending session tasks; default
	// ["choose-organization"] for a pending session.
	Tasks []string
}

// Session is a snapshot of a session of the test instance, owned by the
// caller. Changing it has no effect on the server.
type Session struct {
	ID              string
	UserID          string
	ClientID        string
	Status          string
	Org             *OrgMembership
	UserFeatures    []string
	Plans           []string
	FactorAge       [2]int
	Actor           *Actor
	AuthorizedParty string
	Claims          map[string]any
	Tasks           []string
	CreatedAt       time.Time
	UpdatedAt       time.Time
	LastActiveAt    time.Time
	ExpireAt        time.Time
	AbandonAt       time.Time

	seq int
}

func (sess *Session) clone() *Session {
	c := *sess
	if sess.Org != nil {
		o := *sess.Org
		o.Permissions, o.Features = slices.Clone(o.Permissions), slices.Clone(o.Features)
		c.Org = &o
	}
	if sess.Actor != nil {
		a := *sess.Actor
		c.Actor = &a
	}
	c.UserFeatures, c.Plans, c.Tasks = slices.Clone(sess.UserFeatures), slices.Clone(sess.Plans), slices.Clone(sess.Tasks)
	c.Claims = maps.Clone(sess.Claims)
	return &c
}

// statusAt returns the session's status at now: an active or pending
// session past its expire_at is expired.
func (sess *Session) statusAt(now time.Time) string {
	if (sess.Status == StatusActive || sess.Status == StatusPending) && !now.Before(sess.ExpireAt) {
		return StatusExpired
	}
	return sess.Status
}

// CreateUser creates a user. It panics if p.ID is already taken.
func (s *Server) CreateUser(p UserParams) *User {
	now := s.clock.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	u := s.st.createUser(p, now)
	c := *u
	return &c
}

func (st *state) createUser(p UserParams, now time.Time) *User {
	if p.ID == "" {
		p.ID = "user_" + randomString(27)
	}
	if _, ok := st.users[p.ID]; ok {
		panic(fmt.Sprintf("clerktest: user %s already exists", p.ID))
	}
	u := &User{ID: p.ID, Email: p.Email, CreatedAt: now}
	st.users[u.ID] = u
	return u
}

// User returns the user id, or ErrNotFound.
func (s *Server) User(id string) (*User, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, ok := s.st.users[id]
	if !ok {
		return nil, fmt.Errorf("%w: user %s", ErrNotFound, id)
	}
	c := *u
	return &c, nil
}

// CreateSession creates a session, and its user if needed, and returns a
// snapshot of it. It panics on invalid parameters (an unknown status, a
// permission not of the form org:<feature>:<permission>), as test helpers
// do.
func (s *Server) CreateSession(p SessionParams) *Session {
	sess, err := newSession(p, s.clock.Now())
	if err != nil {
		panic(err.Error())
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.st.users[sess.UserID]; !ok {
		s.st.createUser(UserParams{ID: sess.UserID}, sess.CreatedAt)
	}
	s.st.addSession(sess)
	return sess.clone()
}

func newSession(p SessionParams, now time.Time) (*Session, error) {
	sess := &Session{
		ID: "sess_" + randomString(27), UserID: p.UserID, ClientID: p.ClientID,
		Status: p.Status, UserFeatures: slices.Clone(p.UserFeatures), Plans: slices.Clone(p.Plans),
		FactorAge: [2]int{0, -1}, AuthorizedParty: p.AuthorizedParty,
		Claims: maps.Clone(p.Claims), Tasks: slices.Clone(p.Tasks),
		CreatedAt: now, UpdatedAt: now, LastActiveAt: now,
		ExpireAt: now.Add(DefaultSessionLifetime), AbandonAt: now.Add(DefaultSessionInactivity),
	}
	fillSessionDefaults(sess, p)
	if !slices.Contains(validStatuses, sess.Status) {
		return nil, fmt.Errorf("clerktest: invalid session status %q", sess.Status)
	}
	if p.Org != nil {
		org, err := normalizeOrg(*p.Org)
		if err != nil {
			return nil, err
		}
		sess.Org = &org
	}
	return sess, nil
}

func fillSessionDefaults(sess *Session, p SessionParams) {
	if sess.UserID == "" {
		sess.UserID = "user_" + randomString(27)
	}
	if sess.ClientID == "" {
		sess.ClientID = "client_" + randomString(27)
	}
	if sess.Status == "" {
		sess.Status = StatusActive
	}
	if p.FactorAge != nil {
		sess.FactorAge = *p.FactorAge
	}
	if p.Actor != nil {
		a := *p.Actor
		sess.Actor = &a
	}
	if sess.Status == StatusPending && sess.Tasks == nil {
		sess.Tasks = []string{"choose-organization"}
	}
}

// normalizeOrg fills an organization's defaults and checks its permissions.
func normalizeOrg(o OrgMembership) (OrgMembership, error) {
	if o.ID == "" {
		o.ID = "org_" + randomString(27)
	}
	if o.Role == "" {
		o.Role = "member"
	}
	o.Role = "org:" + strings.TrimPrefix(o.Role, "org:")
	o.Features = slices.Clone(o.Features)
	o.Permissions = slices.Clone(o.Permissions)
	for _, p := range o.Permissions {
		feature, _, err := splitPermission(p)
		if err != nil {
			return o, err
		}
		if !slices.Contains(o.Features, feature) {
			o.Features = append(o.Features, feature)
		}
	}
	return o, nil
}

// splitPermission splits "org:<feature>:<permission>".
func splitPermission(p string) (feature, perm string, err error) {
	parts := strings.Split(p, ":")
	if len(parts) != 3 || parts[0] != "org" || parts[1] == "" || parts[2] == "" {
		return "", "", fmt.Errorf("clerktest: permission %q is not of the form org:<feature>:<permission>", p)
	}
	return parts[1], parts[2], nil
}

func (st *state) addSession(sess *Session) {
	st.seq++
	sess.seq = st.seq
	st.sessions[sess.ID] = sess
	if sess.Org != nil {
		if st.memberships[sess.UserID] == nil {
			st.memberships[sess.UserID] = map[string]OrgMembership{}
		}
		st.memberships[sess.UserID][sess.Org.ID] = *sess.Org
	}
}

// Session returns a snapshot of session id, with its status as of the
// server's clock, or ErrNotFound.
func (s *Server) Session(id string) (*Session, error) {
	now := s.clock.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	sess, ok := s.st.sessions[id]
	if !ok {
		return nil, fmt.Errorf("%w: session %s", ErrNotFound, id)
	}
	c := sess.clone()
	c.Status = sess.statusAt(now)
	return c, nil
}

// RevokeSession sets session id's status to revoked, as
// POST /v1/sessions/{id}/revoke does. It returns ErrNotFound for an unknown
// session.
func (s *Server) RevokeSession(id string) error {
	return s.SetSessionStatus(id, StatusRevoked)
}

// SetSessionStatus sets session id's status to any of Clerk's session
// statuses, such as "ended" or "pending".
func (s *Server) SetSessionStatus(id, status string) error {
	if !slices.Contains(validStatuses, status) {
		return fmt.Errorf("clerktest: invalid session status %q", status)
	}
	now := s.clock.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	sess, ok := s.st.sessions[id]
	if !ok {
		return fmt.Errorf("%w: session %s", ErrNotFound, id)
	}
	sess.Status, sess.UpdatedAt = status, now
	return nil
}

// state is everything a Server holds under its mutex.
type state struct {
	keys      map[string]*signingKey
	current   string
	published []string

	users       map[string]*User
	sessions    map[string]*Session
	memberships map[string]map[string]OrgMembership
	seq         int
	templates   map[string]jwtTemplate

	machines      map[string]*machine
	machineKeys   map[secretHash]machineKey
	m2mTokens     map[string]*m2mToken
	m2mSecrets    map[secretHash]string
	apiKeys       map[string]*apiKey
	apiKeySecrets map[secretHash]string
	oauthTokens   map[string]*oauthToken
	oauthSecrets  map[secretHash]string

	faults []*faultEntry
	counts map[Endpoint]int
}

func newState() state {
	return state{
		keys:        map[string]*signingKey{},
		users:       map[string]*User{},
		sessions:    map[string]*Session{},
		memberships: map[string]map[string]OrgMembership{},
		templates:   map[string]jwtTemplate{},
		counts:      map[Endpoint]int{},

		machines:      map[string]*machine{},
		machineKeys:   map[secretHash]machineKey{},
		m2mTokens:     map[string]*m2mToken{},
		m2mSecrets:    map[secretHash]string{},
		apiKeys:       map[string]*apiKey{},
		apiKeySecrets: map[secretHash]string{},
		oauthTokens:   map[string]*oauthToken{},
		oauthSecrets:  map[secretHash]string{},
	}
}
