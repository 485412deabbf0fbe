package clerktest_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/clerkauth/clerkauth/clerktest"
)

// trio creates three machines: caller may call target; other may call
// nothing and nobody may call it.
func trio(t *testing.T, srv *clerktest.Server) (caller, target, other *clerktest.Machine) {
	t.Helper()
	target = srv.CreateMachine(clerktest.MachineParams{Name: "target"})
	other = srv.CreateMachine(clerktest.MachineParams{Name: "other"})
	caller = srv.CreateMachine(clerktest.MachineParams{Name: "caller", ScopedMachines: []string{target.ID}})
	return caller, target, other
}

func withKey(key string) map[string]string {
	return map[string]string{"Authorization": "Bearer " + key}
}

func keys(m map[string]any) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

func sorted(s ...string) []string { slices.Sort(s); return s }

func TestCreateMachineHTTP(t *testing.T) {
	srv := newServer(t, clerktest.Config{})
	target := srv.CreateMachine(clerktest.MachineParams{Name: "target"})
	tests := []struct {
		name, body string
		wantStatus int
		wantCode   string
	}{
		{"minimal", `{"name":"svc"}`, 200, ""},
		{"scoped", `{"name":"svc","scoped_machines":["` + target.ID + `"],"default_token_ttl":60}`, 200, ""},
		{"no name", `{}`, 422, "form_param_missing"},
		{"long name", `{"name":"` + strings.Repeat("n", 256) + `"}`, 422, "form_param_value_invalid"},
		{"ttl 0", `{"name":"svc","default_token_ttl":0}`, 422, "form_param_value_invalid"},
		{"ttl too long", `{"name":"svc","default_token_ttl":315360001}`, 422, "form_param_value_invalid"},
		{"unknown scope", `{"name":"svc","scoped_machines":["mch_` + strings.Repeat("z", 27) + `"]}`, 422, "form_param_value_invalid"},
		{"scopes not strings", `{"name":"svc","scoped_machines":[1]}`, 422, "form_param_value_invalid"},
		{"bad json", `{"name":`, 400, "request_body_invalid"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := call(t, srv, "POST", "/v1/machines", tt.body, nil)
			equal(t, r.status, tt.wantStatus, "body %s", r.body)
			if tt.wantCode != "" {
				equal(t, r.errorCode(t), tt.wantCode)
				return
			}
			m := r.json(t)
			equal(t, keys(m), sorted("object", "id", "name", "instance_id", "created_at", "updated_at",
				"default_token_ttl", "scoped_machines", "secret_key"))
			equal(t, m["object"], "machine")
			equal(t, m["instance_id"], srv.InstanceID())
			isTrue(t, strings.HasPrefix(m["secret_key"].(string), "ak_"), "secret key %v", m["secret_key"])
			got, err := srv.Machine(m["id"].(string))
			noErr(t, err)
			equal(t, got.SecretKey, m["secret_key"])
		})
	}
}

func TestMachineRoutes(t *testing.T) {
	srv := newServer(t, clerktest.Config{})
	caller, target, other := trio(t, srv)
	// Machine routes take only the instance secret key.
	r := call(t, srv, "GET", "/v1/machines/"+caller.ID, "", withKey(caller.SecretKey))
	equal(t, r.status, http.StatusUnauthorized)
	equal(t, r.errorCode(t), "clerk_key_invalid")

	for _, prefix := range []string{"/v1", ""} {
		r = call(t, srv, "GET", prefix+"/machines/"+caller.ID, "", nil)
		equal(t, r.status, 200, "body %s", r.body)
		m := r.json(t)
		equal(t, m["secret_key"], nil, "secret only on create")
		scoped := m["scoped_machines"].([]any)
		equal(t, len(scoped), 1)
		sm := scoped[0].(map[string]any)
		equal(t, sm["id"], target.ID)
		equal(t, keys(sm), sorted("object", "id", "name", "instance_id", "created_at", "updated_at", "default_token_ttl"))
		equal(t, num(t, r.jsonN(t)["default_token_ttl"]), int64(3600))
	}
	equal(t, srv.Requests(clerktest.EndpointMachineGet), 3)

	r = call(t, srv, "GET", "/v1/machines/mch_missing", "", nil)
	equal(t, r.status, 404)
	equal(t, r.errorCode(t), "resource_not_found")

	r = call(t, srv, "GET", "/v1/machines/"+caller.ID+"/secret_key", "", nil)
	equal(t, r.status, 200)
	equal(t, r.json(t), map[string]any{"object": "machine_secret_key", "secret": caller.SecretKey})

	// Scopes: add, duplicate, unknown, delete.
	r = call(t, srv, "POST", "/v1/machines/"+caller.ID+"/scopes", `{"to_machine_id":"`+other.ID+`"}`, nil)
	equal(t, r.status, 200, "body %s", r.body)
	sc := r.json(t)
	equal(t, []any{sc["object"], sc["from_machine_id"], sc["to_machine_id"]}, []any{"machine_scope", caller.ID, other.ID})
	equal(t, call(t, srv, "POST", "/v1/machines/"+caller.ID+"/scopes", `{"to_machine_id":"`+other.ID+`"}`, nil).status, 409)
	equal(t, call(t, srv, "POST", "/v1/machines/"+caller.ID+"/scopes", `{"to_machine_id":"mch_nope"}`, nil).status, 404)
	equal(t, call(t, srv, "POST", "/v1/machines/"+caller.ID+"/scopes", `{}`, nil).status, 422)
	m, _ := srv.Machine(caller.ID)
	equal(t, m.ScopedMachines, []string{target.ID, other.ID})
	r = call(t, srv, "DELETE", "/v1/machines/"+caller.ID+"/scopes/"+other.ID, "", nil)
	equal(t, r.status, 200)
	equal(t, r.json(t)["deleted"], true)
	equal(t, call(t, srv, "DELETE", "/v1/machines/"+caller.ID+"/scopes/"+other.ID, "", nil).status, 404)

	// Update and delete.
	r = call(t, srv, "PATCH", "/v1/machines/"+other.ID, `{"name":"renamed","default_token_ttl":5}`, nil)
	equal(t, r.status, 200)
	equal(t, r.json(t)["name"], "renamed")
	r = call(t, srv, "DELETE", "/v1/machines/"+target.ID, "", nil)
	equal(t, r.status, 200)
	equal(t, r.json(t), map[string]any{"object": "machine", "id": target.ID, "deleted": true})
	m, _ = srv.Machine(caller.ID)
	equal(t, len(m.ScopedMachines), 0, "deleting a machine removes scopes to it")
	_, err := srv.Machine(target.ID)
	isTrue(t, err != nil, "deleted machine still found")
}

func TestListMachines(t *testing.T) {
	srv := newServer(t, clerktest.Config{})
	srv.Clock().Set(mustTime(t, "2026-01-01T00:00:00Z"))
	var ids []string
	for _, name := range []string{"beta", "alpha", "gamma"} {
		ids = append(ids, srv.CreateMachine(clerktest.MachineParams{Name: name}).ID)
		srv.Clock().Advance(time.Second)
	}
	names := func(r response) []string {
		var out []string
		for _, m := range r.json(t)["data"].([]any) {
			out = append(out, m.(map[string]any)["name"].(string))
		}
		return out
	}
	tests := []struct {
		query string
		want  []string
		total int64
	}{
		{"", []string{"gamma", "alpha", "beta"}, 3},
		{"?order_by=name", []string{"alpha", "beta", "gamma"}, 3},
		{"?order_by=-name&limit=2", []string{"gamma", "beta"}, 3},
		{"?order_by=%2Bcreated_at&offset=1", []string{"alpha", "gamma"}, 3},
		{"?query=ALP", []string{"alpha"}, 1},
		{"?query=" + ids[0], []string{"beta"}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			r := call(t, srv, "GET", "/v1/machines"+tt.query, "", nil)
			equal(t, r.status, 200, "body %s", r.body)
			equal(t, names(r), tt.want)
			equal(t, num(t, r.jsonN(t)["total_count"]), tt.total)
		})
	}
	for _, bad := range []string{"?order_by=id", "?limit=0", "?limit=501", "?offset=-1"} {
		equal(t, call(t, srv, "GET", "/v1/machines"+bad, "", nil).status, 422, bad)
	}
}

func TestRotateMachineSecretKey(t *testing.T) {
	srv := newServer(t, clerktest.Config{})
	caller, _, _ := trio(t, srv)
	create := func(key string) int {
		return call(t, srv, "POST", "/m2m_tokens", `{}`, withKey(key)).status
	}
	r := call(t, srv, "POST", "/v1/machines/"+caller.ID+"/secret_key/rotate", `{"previous_token_ttl":60}`, nil)
	equal(t, r.status, 200, "body %s", r.body)
	newKey := r.json(t)["secret"].(string)
	isTrue(t, newKey != caller.SecretKey && strings.HasPrefix(newKey, "ak_"), "new key %s", newKey)
	equal(t, create(newKey), 201)
	equal(t, create(caller.SecretKey), 201, "old key valid for 60s")
	srv.Clock().Advance(60 * time.Second)
	equal(t, create(caller.SecretKey), 401, "old key expired")
	equal(t, create(newKey), 201)

	_, err := srv.RotateMachineSecretKey(caller.ID, 0)
	noErr(t, err)
	equal(t, create(newKey), 401, "previous_token_ttl 0 ends the old key at once")
	for _, body := range []string{`{}`, `{"previous_token_ttl":28801}`, `{"previous_token_ttl":-1}`} {
		equal(t, call(t, srv, "POST", "/v1/machines/"+caller.ID+"/secret_key/rotate", body, nil).status, 422, body)
	}
}

func TestCreateMachinePanicsOnBadParams(t *testing.T) {
	srv := newServer(t, clerktest.Config{})
	taken := srv.CreateMachine(clerktest.MachineParams{})
	for name, p := range map[string]clerktest.MachineParams{
		"bad id":        {ID: "mch_short"},
		"taken id":      {ID: taken.ID},
		"unknown scope": {ScopedMachines: []string{"mch_" + strings.Repeat("q", 27)}},
		"ttl":           {DefaultTokenTTL: time.Millisecond},
	} {
		t.Run(name, func(t *testing.T) {
			defer func() { isTrue(t, recover() != nil, "no panic") }()
			srv.CreateMachine(p)
		})
	}
}

// jsonN decodes the body with numbers as json.Number.
func (r response) jsonN(t *testing.T) map[string]any {
	t.Helper()
	d := json.NewDecoder(bytes.NewReader(r.body))
	d.UseNumber()
	var m map[string]any
	noErr(t, d.Decode(&m), "body %s", r.body)
	return m
}
