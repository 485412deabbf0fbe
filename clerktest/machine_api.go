package clerktest

import (
	"cmp"
	"errors"
	"net/http"
	"slices"
	"strings"
	"time"
)

// machineBase is the MachineWithoutScopedMachines object of Clerk's
// description; timestamps are Unix milliseconds (the unit is unstated).
type machineBase struct {
	Object          string `json:"object"`
	ID              string `json:"id"`
	Name            string `json:"name"`
	InstanceID      string `json:"instance_id"`
	CreatedAt       int64  `json:"created_at"`
	UpdatedAt       int64  `json:"updated_at"`
	DefaultTokenTTL int64  `json:"default_token_ttl"`
}

// machineResource is the Machine object; SecretKey is set only in the
// answer of POST /machines.
type machineResource struct {
	machineBase
	ScopedMachines []machineBase `json:"scoped_machines"`
	SecretKey      string        `json:"secret_key,omitempty"`
}

func (s *Server) machineBase(m *machine) machineBase {
	return machineBase{Object: "machine", ID: m.id, Name: m.name, InstanceID: s.instanceID,
		CreatedAt: millis(m.createdAt), UpdatedAt: millis(m.updatedAt), DefaultTokenTTL: int64(m.ttl / time.Second)}
}

// machineJSON builds a machine's resource; s.mu must be held.
func (s *Server) machineJSON(m *machine) machineResource {
	res := machineResource{machineBase: s.machineBase(m), ScopedMachines: []machineBase{}}
	for _, id := range m.scoped {
		if other, ok := s.st.machines[id]; ok {
			res.ScopedMachines = append(res.ScopedMachines, s.machineBase(other))
		}
	}
	return res
}

func (s *Server) createMachineHTTP(w http.ResponseWriter, r *http.Request, _ caller) {
	p, e := createMachineParams(r)
	if e != nil {
		writeHTTPError(w, e)
		return
	}
	now := s.clock.Now()
	s.mu.Lock()
	m, err := s.st.createMachine(p, now)
	var res machineResource
	if err == nil {
		res = s.machineJSON(m)
		res.SecretKey = m.secret
	}
	s.mu.Unlock()
	if err != nil {
		writeHTTPError(w, errParamInvalid("scoped_machines", strings.TrimPrefix(err.Error(), "clerktest: ")))
		return
	}
	writeJSON(w, http.StatusOK, res)
}

func createMachineParams(r *http.Request) (MachineParams, *httpError) {
	params, e := bodyParams(r)
	if e != nil {
		return MachineParams{}, e
	}
	name, e := machineName(params, true)
	if e != nil {
		return MachineParams{}, e
	}
	p := MachineParams{Name: name}
	if p.DefaultTokenTTL, e = machineTTL(params); e != nil {
		return p, e
	}
	switch v := params["scoped_machines"].(type) {
	case nil:
	case []any:
		if len(v) > MaxScopedMachines {
			return p, errParamInvalid("scoped_machines", "scoped_machines may hold at most 150 machines.")
		}
		for _, id := range v {
			s, ok := id.(string)
			if !ok {
				return p, errParamInvalid("scoped_machines", "scoped_machines must be an array of machine IDs.")
			}
			p.ScopedMachines = append(p.ScopedMachines, s)
		}
	default:
		return p, errParamInvalid("scoped_machines", "scoped_machines must be an array of machine IDs.")
	}
	return p, nil
}

// machineName returns the name parameter, 1 to 255 characters.
func machineName(params map[string]any, required bool) (string, *httpError) {
	name, e := stringParam(params, "name")
	switch {
	case e != nil:
		return "", e
	case name == "" && required:
		return "", errParamMissing("name")
	case len(name) > 255:
		return "", errParamInvalid("name", "name must be at most 255 characters long.")
	}
	return name, nil
}

// machineTTL returns default_token_ttl (0 when absent).
func machineTTL(params map[string]any) (time.Duration, *httpError) {
	ttl, e := intParam(params, "default_token_ttl")
	if e != nil || ttl == nil {
		return 0, e
	}
	if *ttl < 1 || *ttl > maxExpiresIn {
		return 0, errParamInvalid("default_token_ttl", "default_token_ttl must be between 1 and 315360000.")
	}
	return time.Duration(*ttl) * time.Second, nil
}

func errMachineNotFound(id string) *httpError {
	return errNotFound("No machine was found with id " + id)
}

// withMachine runs f on machine {id} under s.mu and answers its result, or
// 404 for an unknown machine.
func (s *Server) withMachine(w http.ResponseWriter, r *http.Request, f func(m *machine, now time.Time) (any, *httpError)) {
	id := r.PathValue("id")
	now := s.clock.Now()
	s.mu.Lock()
	var res any
	e := errMachineNotFound(id)
	if m, ok := s.st.machines[id]; ok {
		res, e = f(m, now)
	}
	s.mu.Unlock()
	if e != nil {
		writeHTTPError(w, e)
		return
	}
	writeJSON(w, http.StatusOK, res)
}

func (s *Server) getMachine(w http.ResponseWriter, r *http.Request, _ caller) {
	s.withMachine(w, r, func(m *machine, _ time.Time) (any, *httpError) { return s.machineJSON(m), nil })
}

func (s *Server) updateMachine(w http.ResponseWriter, r *http.Request, _ caller) {
	params, e := bodyParams(r)
	var name string
	var ttl time.Duration
	if e == nil {
		name, e = machineName(params, false)
	}
	if e == nil {
		ttl, e = machineTTL(params)
	}
	if e != nil {
		writeHTTPError(w, e)
		return
	}
	s.withMachine(w, r, func(m *machine, now time.Time) (any, *httpError) {
		if name != "" {
			m.name = name
		}
		if ttl != 0 {
			m.ttl = ttl
		}
		m.updatedAt = now
		return s.machineJSON(m), nil
	})
}

func (s *Server) deleteMachineHTTP(w http.ResponseWriter, r *http.Request, _ caller) {
	id := r.PathValue("id")
	if err := s.DeleteMachine(id); err != nil {
		writeHTTPError(w, errMachineNotFound(id))
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"object": "machine", "id": id, "deleted": true})
}

type machineSecretKeyResource struct {
	Object string `json:"object"`
	Secret string `json:"secret"`
}

func (s *Server) getMachineSecretKey(w http.ResponseWriter, r *http.Request, _ caller) {
	s.withMachine(w, r, func(m *machine, _ time.Time) (any, *httpError) {
		return machineSecretKeyResource{Object: "machine_secret_key", Secret: m.secret}, nil
	})
}

func (s *Server) rotateMachineSecretKey(w http.ResponseWriter, r *http.Request, _ caller) {
	params, e := bodyParams(r)
	var ttl *int64
	if e == nil {
		ttl, e = intParam(params, "previous_token_ttl")
	}
	if e == nil && ttl == nil {
		e = errParamMissing("previous_token_ttl")
	}
	if e == nil && (*ttl < 0 || *ttl > int64(MaxPreviousSecretKeyTTL/time.Second)) {
		e = errParamInvalid("previous_token_ttl", "previous_token_ttl must be between 0 and 28800.")
	}
	if e != nil {
		writeHTTPError(w, e)
		return
	}
	s.withMachine(w, r, func(m *machine, now time.Time) (any, *httpError) {
		secret, _ := s.st.rotateMachineKey(m.id, time.Duration(*ttl)*time.Second, now)
		return machineSecretKeyResource{Object: "machine_secret_key", Secret: secret}, nil
	})
}

func (s *Server) createMachineScope(w http.ResponseWriter, r *http.Request, _ caller) {
	params, e := bodyParams(r)
	var to string
	if e == nil {
		to, e = stringParam(params, "to_machine_id")
	}
	if e == nil && to == "" {
		e = errParamMissing("to_machine_id")
	}
	if e != nil {
		writeHTTPError(w, e)
		return
	}
	s.withMachine(w, r, func(m *machine, now time.Time) (any, *httpError) {
		added, err := s.st.addScope(m.id, to, now)
		switch {
		case errors.Is(err, ErrNotFound):
			return nil, errMachineNotFound(to)
		case err != nil:
			return nil, errParamInvalid("to_machine_id", strings.TrimPrefix(err.Error(), "clerktest: "))
		case !added:
			return nil, &httpError{http.StatusConflict, apiError{Message: "duplicate machine scope",
				LongMessage: "Machine " + m.id + " is already scoped to machine " + to + ".", Code: "duplicate_record"}}
		}
		return map[string]any{"object": "machine_scope", "from_machine_id": m.id, "to_machine_id": to, "created_at": millis(now)}, nil
	})
}

func (s *Server) deleteMachineScope(w http.ResponseWriter, r *http.Request, _ caller) {
	to := r.PathValue("other")
	s.withMachine(w, r, func(m *machine, now time.Time) (any, *httpError) {
		if s.st.removeScope(m.id, to, now) != nil {
			return nil, errNotFound("Machine " + m.id + " is not scoped to machine " + to)
		}
		return map[string]any{"object": "machine_scope", "from_machine_id": m.id, "to_machine_id": to, "deleted": true}, nil
	})
}

func (s *Server) listMachines(w http.ResponseWriter, r *http.Request, _ caller) {
	q := r.URL.Query()
	limit, e := queryInt(q, "limit", 10, 1, 500)
	var offset int
	if e == nil {
		offset, e = queryInt(q, "offset", 0, 0, -1)
	}
	var order func(a, b *machine) int
	if e == nil {
		order, e = machineOrder(q.Get("order_by"))
	}
	if e != nil {
		writeHTTPError(w, e)
		return
	}
	query := strings.ToLower(q.Get("query"))
	s.mu.Lock()
	var all []*machine
	for _, m := range s.st.machines {
		if query == "" || strings.ToLower(m.id) == query || strings.Contains(strings.ToLower(m.name), query) {
			all = append(all, m)
		}
	}
	slices.SortFunc(all, order)
	lo, hi := page(len(all), offset, limit)
	data := make([]machineResource, 0, hi-lo)
	for _, m := range all[lo:hi] {
		data = append(data, s.machineJSON(m))
	}
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{"data": data, "total_count": len(all)})
}

// machineOrder parses order_by: [+|-]name or [+|-]created_at, default
// -created_at; ties go by creation order.
func machineOrder(v string) (func(a, b *machine) int, *httpError) {
	if v == "" {
		v = "-created_at"
	}
	desc := strings.HasPrefix(v, "-")
	field := strings.TrimLeft(v, "+-")
	var by func(a, b *machine) int
	switch field {
	case "name":
		by = func(a, b *machine) int { return cmp.Or(cmp.Compare(a.name, b.name), cmp.Compare(a.seq, b.seq)) }
	case "created_at":
		by = func(a, b *machine) int { return cmp.Or(a.createdAt.Compare(b.createdAt), cmp.Compare(a.seq, b.seq)) }
	default:
		return nil, errParamInvalid("order_by", "order_by must be one of name or created_at, optionally prefixed with + or -.")
	}
	if desc {
		return func(a, b *machine) int { return by(b, a) }, nil
	}
	return by, nil
}
