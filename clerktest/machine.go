package clerktest

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"regexp"
	"slices"
	"time"
)

// Machine authentication defaults and limits, from Clerk's Backend API
// description.
const (
	// DefaultMachineTokenTTL is a machine's default_token_ttl when none is
	// given: the life of its M2M tokens created without an expiration.
	DefaultMachineTokenTTL = time.Hour
	// MaxScopedMachines is how many machines one machine may be scoped to.
	MaxScopedMachines = 150
	// MaxPreviousSecretKeyTTL is the longest a machine's previous secret
	// key stays valid after a rotation (previous_token_ttl).
	MaxPreviousSecretKeyTTL = 8 * time.Hour
)

// Prefixes of machine credentials. Clerk gives machine secret keys the
// same ak_ prefix as API key secrets (clerk-machine-auth.md §1.2), so a
// prefix alone cannot tell them apart.
const (
	// PrefixMachineSecretKey starts a machine secret key.
	PrefixMachineSecretKey = "ak_"
	// PrefixAPIKey starts an API key's secret and its ID.
	PrefixAPIKey = "ak_"
	// PrefixM2MToken starts an opaque M2M token and every M2M token ID
	// (the jti of a JWT M2M token).
	PrefixM2MToken = "mt_"
	// PrefixOAuthToken starts an opaque OAuth access token and every OAuth
	// access token ID (the jti of a JWT OAuth access token).
	PrefixOAuthToken = "oat_"
	// PrefixMachineID starts a machine ID, which is the subject of its M2M
	// tokens.
	PrefixMachineID = "mch_"
)

var machineIDPattern = regexp.MustCompile(`^mch_\w{27}$`)

// MachineParams describes a machine to create. Every field is optional.
type MachineParams struct {
	// ID is the machine ID, mch_ and 27 word characters; default a random
	// one.
	ID string
	// Name is the machine's name; default "machine".
	Name string
	// ScopedMachines are the IDs of existing machines this machine may call:
	// its M2M tokens carry them as scopes. At most MaxScopedMachines.
	ScopedMachines []string
	// DefaultTokenTTL is the life of M2M tokens created without an
	// expiration, in whole seconds; default DefaultMachineTokenTTL.
	DefaultTokenTTL time.Duration
}

// Machine is a snapshot of a machine of the test instance, owned by the
// caller. Changing it has no effect on the server.
type Machine struct {
	// ID is the machine ID (mch_…).
	ID string
	// Name is the machine's name.
	Name string
	// SecretKey is the machine's current secret key (ak_…), which creates
	// its M2M tokens and verifies tokens addressed to it.
	SecretKey string
	// ScopedMachines are the IDs of the machines this machine may call, in
	// the order they were granted.
	ScopedMachines []string
	// DefaultTokenTTL is the life of M2M tokens created without an
	// expiration.
	DefaultTokenTTL time.Duration
	// CreatedAt and UpdatedAt date the machine.
	CreatedAt, UpdatedAt time.Time
}

type machine struct {
	id, name  string
	secret    string
	scoped    []string
	ttl       time.Duration
	createdAt time.Time
	updatedAt time.Time
	seq       int
}

func (m *machine) snapshot() *Machine {
	return &Machine{ID: m.id, Name: m.name, SecretKey: m.secret, ScopedMachines: slices.Clone(m.scoped),
		DefaultTokenTTL: m.ttl, CreatedAt: m.createdAt, UpdatedAt: m.updatedAt}
}

// machineKey is a machine secret key held by its SHA-256: the current one
// (zero until) or a rotated one valid until a time.
type machineKey struct {
	machineID string
	until     time.Time
}

// secretHash is how secrets are indexed: a map lookup then leaks nothing
// useful about the secret through timing.
type secretHash [sha256.Size]byte

func hashSecret(secret string) secretHash { return sha256.Sum256([]byte(secret)) }

// randomHex returns n random lowercase hex digits (n even).
func randomHex(n int) string {
	b := make([]byte, n/2)
	if _, err := rand.Read(b); err != nil {
		panic(fmt.Sprintf("clerktest: reading random bytes: %v", err))
	}
	return hex.EncodeToString(b)
}

// newSecret returns a random secret with prefix, 40 characters after it
// (Clerk's examples show 32; only the prefix is meaningful).
func newSecret(prefix string) string { return prefix + randomString(40) }

// CreateMachine creates a machine with a fresh secret key and returns a
// snapshot of it. It panics on invalid parameters (a malformed or taken ID,
// an unknown scoped machine, too many scopes, a TTL outside 1 s–10 years),
// as test helpers do.
func (s *Server) CreateMachine(p MachineParams) *Machine {
	now := s.clock.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	m, err := s.st.createMachine(p, now)
	if err != nil {
		panic(err.Error())
	}
	return m.snapshot()
}

func (st *state) createMachine(p MachineParams, now time.Time) (*machine, error) {
	if p.ID == "" {
		p.ID = PrefixMachineID + randomString(27)
	}
	if !machineIDPattern.MatchString(p.ID) {
		return nil, fmt.Errorf("clerktest: machine ID %q is not mch_ and 27 word characters", p.ID)
	}
	if _, ok := st.machines[p.ID]; ok {
		return nil, fmt.Errorf("clerktest: machine %s already exists", p.ID)
	}
	if p.Name == "" {
		p.Name = "machine"
	}
	if p.DefaultTokenTTL == 0 {
		p.DefaultTokenTTL = DefaultMachineTokenTTL
	}
	if p.DefaultTokenTTL < time.Second || p.DefaultTokenTTL > maxExpiresIn*time.Second {
		return nil, fmt.Errorf("clerktest: machine default token TTL %v is outside 1s–%ds", p.DefaultTokenTTL, maxExpiresIn)
	}
	scoped, err := st.checkScopes(p.ScopedMachines)
	if err != nil {
		return nil, err
	}
	st.seq++
	m := &machine{id: p.ID, name: p.Name, secret: newSecret(PrefixMachineSecretKey), scoped: scoped,
		ttl: p.DefaultTokenTTL.Truncate(time.Second), createdAt: now, updatedAt: now, seq: st.seq}
	st.machines[m.id] = m
	st.machineKeys[hashSecret(m.secret)] = machineKey{machineID: m.id}
	return m, nil
}

// checkScopes returns ids without duplicates, or an error naming an unknown
// machine or too many of them.
func (st *state) checkScopes(ids []string) ([]string, error) {
	var out []string
	for _, id := range ids {
		if _, ok := st.machines[id]; !ok {
			return nil, fmt.Errorf("%w: machine %s", ErrNotFound, id)
		}
		if !slices.Contains(out, id) {
			out = append(out, id)
		}
	}
	if len(out) > MaxScopedMachines {
		return nil, fmt.Errorf("clerktest: %d scoped machines; at most %d are allowed", len(out), MaxScopedMachines)
	}
	return out, nil
}

// Machine returns a snapshot of machine id, or ErrNotFound.
func (s *Server) Machine(id string) (*Machine, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m, ok := s.st.machines[id]
	if !ok {
		return nil, fmt.Errorf("%w: machine %s", ErrNotFound, id)
	}
	return m.snapshot(), nil
}

// AddMachineScope lets machine from call machine to: M2M tokens from
// creates afterwards carry to in their scopes, as with
// POST /machines/{from}/scopes. Tokens created before keep their scopes.
// Adding an existing scope is a no-op. It returns ErrNotFound for an
// unknown machine.
func (s *Server) AddMachineScope(from, to string) error {
	now := s.clock.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	_, err := s.st.addScope(from, to, now)
	return err
}

// addScope adds the scope and reports whether it was new.
func (st *state) addScope(from, to string, now time.Time) (bool, error) {
	m, ok := st.machines[from]
	if !ok {
		return false, fmt.Errorf("%w: machine %s", ErrNotFound, from)
	}
	if _, ok := st.machines[to]; !ok {
		return false, fmt.Errorf("%w: machine %s", ErrNotFound, to)
	}
	if slices.Contains(m.scoped, to) {
		return false, nil
	}
	if len(m.scoped) >= MaxScopedMachines {
		return false, fmt.Errorf("clerktest: machine %s already has %d scopes", from, MaxScopedMachines)
	}
	m.scoped = append(m.scoped, to)
	m.updatedAt = now
	return true, nil
}

// RemoveMachineScope takes back machine from's access to machine to, for
// tokens created afterwards. It returns ErrNotFound if the scope does not
// exist.
func (s *Server) RemoveMachineScope(from, to string) error {
	now := s.clock.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.st.removeScope(from, to, now)
}

func (st *state) removeScope(from, to string, now time.Time) error {
	m, ok := st.machines[from]
	if !ok || !slices.Contains(m.scoped, to) {
		return fmt.Errorf("%w: scope %s → %s", ErrNotFound, from, to)
	}
	m.scoped = slices.DeleteFunc(m.scoped, func(id string) bool { return id == to })
	m.updatedAt = now
	return nil
}

// RotateMachineSecretKey gives machine id a new secret key and returns it.
// The previous key stays valid for previousValid (0 to
// MaxPreviousSecretKeyTTL, whole seconds), as with
// POST /machines/{id}/secret_key/rotate. It returns ErrNotFound for an
// unknown machine.
func (s *Server) RotateMachineSecretKey(id string, previousValid time.Duration) (string, error) {
	if previousValid < 0 || previousValid > MaxPreviousSecretKeyTTL {
		return "", fmt.Errorf("clerktest: previous key validity %v is outside 0–%v", previousValid, MaxPreviousSecretKeyTTL)
	}
	now := s.clock.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.st.rotateMachineKey(id, previousValid, now)
}

func (st *state) rotateMachineKey(id string, previousValid time.Duration, now time.Time) (string, error) {
	m, ok := st.machines[id]
	if !ok {
		return "", fmt.Errorf("%w: machine %s", ErrNotFound, id)
	}
	old := hashSecret(m.secret)
	if previousValid > 0 {
		st.machineKeys[old] = machineKey{machineID: id, until: now.Add(previousValid.Truncate(time.Second))}
	} else {
		delete(st.machineKeys, old)
	}
	m.secret, m.updatedAt = newSecret(PrefixMachineSecretKey), now
	st.machineKeys[hashSecret(m.secret)] = machineKey{machineID: id}
	return m.secret, nil
}

// DeleteMachine deletes machine id: its secret keys stop working, other
// machines lose their scopes to it and its M2M tokens no longer verify. It
// returns ErrNotFound for an unknown machine.
func (s *Server) DeleteMachine(id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.st.machines[id]; !ok {
		return fmt.Errorf("%w: machine %s", ErrNotFound, id)
	}
	delete(s.st.machines, id)
	for h, k := range s.st.machineKeys {
		if k.machineID == id {
			delete(s.st.machineKeys, h)
		}
	}
	for _, m := range s.st.machines {
		m.scoped = slices.DeleteFunc(m.scoped, func(other string) bool { return other == id })
	}
	return nil
}

// machineForKey returns the machine whose secret key (current, or rotated
// and still valid at now) is secret.
func (st *state) machineForKey(secret string, now time.Time) (*machine, bool) {
	k, ok := st.machineKeys[hashSecret(secret)]
	if !ok || (!k.until.IsZero() && !now.Before(k.until)) {
		return nil, false
	}
	m, ok := st.machines[k.machineID]
	return m, ok
}
