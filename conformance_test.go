package clerkauth

// The conformance tests check the client against Clerk's Backend API
// OpenAPI specs. They read testdata/openapi/sessions-<version>.json, a
// committed excerpt of the specs (the /sessions paths and every component
// they reference) made by testdata/openapi/extract.py, so they always run
// without a YAML library.

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/clerkauth/clerkauth/internal/httpx"
)

// specVersions are the excerpts checked: the default API version and the
// last one documented with POST /sessions/{id}/verify.
var specVersions = []string{"2026-05-12", "2024-10-01"}

// allSessionStatuses lists every SessionStatus constant.
var allSessionStatuses = []SessionStatus{
	SessionActive, SessionRevoked, SessionEnded, SessionExpired,
	SessionRemoved, SessionAbandoned, SessionReplaced, SessionPending,
}

type node = map[string]any

func loadSpec(t *testing.T, version string) node {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("testdata", "openapi", "sessions-"+version+".json"))
	if err != nil {
		t.Fatal(err)
	}
	var spec node
	if err := json.Unmarshal(raw, &spec); err != nil {
		t.Fatal(err)
	}
	return spec
}

// dig walks keys down from n; it returns nil when a key is missing.
func dig(n any, keys ...string) any {
	for _, k := range keys {
		m, ok := n.(node)
		if !ok {
			return nil
		}
		n = m[k]
	}
	return n
}

// resolve follows a "#/components/<kind>/<name>" $ref, if n is one.
func resolve(spec node, n any) node {
	m, _ := n.(node)
	if ref, ok := m["$ref"].(string); ok {
		parts := strings.Split(strings.TrimPrefix(ref, "#/"), "/")
		m, _ = dig(spec, parts...).(node)
	}
	return m
}

func keys(n any) []string {
	m, _ := n.(node)
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// jsonFields returns the JSON names of the fields of v's struct type.
func jsonFields(v any) []string {
	typ := reflect.TypeOf(v)
	var out []string
	for i := range typ.NumField() {
		name, _, _ := strings.Cut(typ.Field(i).Tag.Get("json"), ",")
		if name != "" && name != "-" {
			out = append(out, name)
		}
	}
	sort.Strings(out)
	return out
}

// matchPath finds the spec path template that path (escaped, below the base
// URL) instantiates.
func matchPath(spec node, path string) (string, node) {
	got := strings.Split(path, "/")
	for tmpl, item := range dig(spec, "paths").(node) {
		want := strings.Split(tmpl, "/")
		if len(want) != len(got) {
			continue
		}
		ok := true
		for i := range want {
			isParam := strings.HasPrefix(want[i], "{") && strings.HasSuffix(want[i], "}")
			ok = ok && (isParam && got[i] != "" || want[i] == got[i])
		}
		if ok {
			return tmpl, item.(node)
		}
	}
	return "", nil
}

func TestClientRequestsConformToSpec(t *testing.T) {
	for _, version := range specVersions {
		spec := loadSpec(t, version)
		for _, op := range operations() {
			t.Run(version+"/"+op.name, func(t *testing.T) {
				c, api, _ := newFakeClient(t, Config{}, func(_ int, w http.ResponseWriter, _ *http.Request) { answer(w, 200, op.answer) })
				if _, err := op.call(t.Context(), c); err != nil {
					t.Fatal(err)
				}
				r := api.requests()[0]
				tmpl, item := matchPath(spec, strings.TrimPrefix(r.EscapedPath, "/v1"))
				if op.name == "verify" && version >= "2025-04-10" {
					if item != nil {
						t.Errorf("%s is in spec %s; Verify's deprecation note says it was removed", tmpl, version)
					}
					return
				}
				if item == nil {
					t.Fatalf("no path of spec %s matches %s", version, r.EscapedPath)
				}
				operation, _ := item[strings.ToLower(r.Method)].(node)
				if operation == nil {
					t.Fatalf("spec %s has no %s %s", version, r.Method, tmpl)
				}
				checkQuery(t, spec, operation, r)
				checkBody(t, operation, r)
				checkSuccessSchema(t, spec, operation, op)
				if op.name == "verify" && operation["deprecated"] != true {
					t.Errorf("spec %s does not mark %s deprecated", version, tmpl)
				}
			})
		}
	}
}

func checkQuery(t *testing.T, spec node, operation node, r recorded) {
	t.Helper()
	allowed := map[string]bool{}
	params, _ := operation["parameters"].([]any)
	for _, p := range params {
		if p := resolve(spec, p); p["in"] == "query" {
			allowed[p["name"].(string)] = true
		}
	}
	for k := range r.Query {
		if !allowed[k] {
			t.Errorf("query parameter %q is not in the spec (allowed %v)", k, keys(anyMap(allowed)))
		}
	}
}

func anyMap(m map[string]bool) node {
	out := node{}
	for k, v := range m {
		out[k] = v
	}
	return out
}

func checkBody(t *testing.T, operation node, r recorded) {
	t.Helper()
	if len(r.Body) == 0 {
		return
	}
	props := dig(operation, "requestBody", "content", "application/json", "schema", "properties")
	if props == nil {
		t.Fatalf("a body is sent but the spec has no JSON request body")
	}
	var sent node
	if err := json.Unmarshal(r.Body, &sent); err != nil {
		t.Fatal(err)
	}
	for k := range sent {
		if _, ok := props.(node)[k]; !ok {
			t.Errorf("body field %q is not in the spec (allowed %v)", k, keys(props))
		}
	}
}

// checkSuccessSchema checks that the 200 answer is decoded into the Go type
// that maps its schema.
func checkSuccessSchema(t *testing.T, spec node, operation node, op operation) {
	t.Helper()
	schema, _ := dig(resolve(spec, dig(operation, "responses", "200")), "content", "application/json", "schema").(node)
	var got string
	switch {
	case schema["$ref"] == "#/components/schemas/Session":
		got = "Session"
	case schema["type"] == "array" && dig(schema, "items", "$ref") == "#/components/schemas/Session":
		got = "SessionList"
	case slices.Equal(keys(schema["properties"]), jsonFields(SessionToken{})):
		got = "SessionToken"
	}
	res, _ := op.call(t.Context(), mustFakeClient(t, op.answer))
	if want := reflect.TypeOf(res).Elem().Name(); got != want {
		t.Errorf("200 schema %v maps to %q; the client decodes a %s", schema, got, want)
	}
}

func mustFakeClient(t *testing.T, body string) *SessionsClient {
	c, _, _ := newFakeClient(t, Config{}, func(_ int, w http.ResponseWriter, _ *http.Request) { answer(w, 200, body) })
	return c
}

func TestSchemasAreMapped(t *testing.T) {
	types := map[string]any{
		"Session": Session{}, "SessionActivityResponse": SessionActivity{}, "SessionTask": SessionTask{},
		"Token": SessionToken{}, "ClerkError": APIErrorEntry{}, "ClerkErrors": clerkErrorsBody{},
	}
	for _, version := range specVersions {
		spec := loadSpec(t, version)
		for name, v := range types {
			props := keys(dig(spec, "components", "schemas", name, "properties"))
			if props == nil && name == "SessionTask" && version < "2025" {
				continue // tasks came with pending sessions
			}
			fields := jsonFields(v)
			for _, p := range props {
				if !slices.Contains(fields, p) {
					t.Errorf("%s: property %s.%s is not mapped by %T", version, name, p, v)
				}
			}
			if version == DefaultAPIVersion && !slices.Equal(props, fields) {
				t.Errorf("%s: %s has %v; %T maps %v", version, name, props, v, fields)
			}
		}
	}
}

func TestStatusesMatchSpec(t *testing.T) {
	for _, version := range specVersions {
		spec := loadSpec(t, version)
		enum := strings.Fields(strings.Trim(enumWords(dig(spec, "components", "schemas", "Session", "properties", "status", "enum")), "[]"))
		for _, s := range enum {
			if !slices.Contains(allSessionStatuses, SessionStatus(strings.Trim(s, `"`))) {
				t.Errorf("%s: status %s has no constant", version, s)
			}
		}
		if version == DefaultAPIVersion && len(enum) != len(allSessionStatuses) {
			t.Errorf("%s: %d statuses in the spec; %d constants", version, len(enum), len(allSessionStatuses))
		}
		filter := listParam(t, spec, "status")
		for _, s := range allSessionStatuses {
			inSpec := slices.Contains(dig(filter, "schema", "enum").([]any), any(string(s)))
			if s.canFilter() != inSpec {
				t.Errorf("%s: status %q filterable %v; in the spec's filter enum %v", version, s, s.canFilter(), inSpec)
			}
		}
	}
}

func enumWords(v any) string {
	b, _ := json.Marshal(v)
	return strings.ReplaceAll(string(b), ",", " ")
}

// listParam returns the GET /sessions query parameter named name.
func listParam(t *testing.T, spec node, name string) node {
	t.Helper()
	for _, p := range dig(spec, "paths", "/sessions", "get", "parameters").([]any) {
		if p := resolve(spec, p); p["name"] == name {
			return p
		}
	}
	t.Fatalf("GET /sessions has no %s parameter", name)
	return nil
}

func TestBoundsMatchSpec(t *testing.T) {
	for _, version := range specVersions {
		spec := loadSpec(t, version)
		limit := dig(listParam(t, spec, "limit"), "schema").(node)
		if limit["minimum"] != 1.0 || limit["maximum"] != float64(MaxListLimit) {
			t.Errorf("%s: limit bounds %v..%v; client 1..%d", version, limit["minimum"], limit["maximum"], MaxListLimit)
		}
		if dig(listParam(t, spec, "offset"), "schema", "minimum") != 0.0 {
			t.Errorf("%s: offset minimum is not 0", version)
		}
		for _, p := range []string{"/sessions/{session_id}/tokens", "/sessions/{session_id}/tokens/{template_name}"} {
			exp := dig(spec, "paths", p, "post", "requestBody", "content", "application/json", "schema", "properties", "expires_in_seconds").(node)
			if exp["minimum"] != float64(MinExpiresInSeconds) || exp["maximum"] != float64(MaxExpiresInSeconds) {
				t.Errorf("%s %s: expires_in_seconds %v..%v; client %d..%d", version, p, exp["minimum"], exp["maximum"], MinExpiresInSeconds, MaxExpiresInSeconds)
			}
		}
		retries := dig(spec, "x-speakeasy-retries", "backoff").(node)
		if retries["initialInterval"] != float64(httpx.InitialBackoff.Milliseconds()) || retries["exponent"] != httpx.BackoffFactor {
			t.Errorf("%s: x-speakeasy-retries %v; client %v ×%v", version, retries, httpx.InitialBackoff, httpx.BackoffFactor)
		}
	}
}

// referenceDir finds the full specs: $CLERKAUTH_REFERENCE_DIR, else
// shared/reference beside the module root (CI) or beside its worktree
// directory (development).
func referenceDir() (string, []string) {
	candidates := []string{os.Getenv("CLERKAUTH_REFERENCE_DIR"), "../shared/reference", "../../shared/reference"}
	for _, d := range candidates {
		if d == "" {
			continue
		}
		if _, err := os.Stat(filepath.Join(d, "bapi-"+DefaultAPIVersion+".yml")); err == nil {
			return d, candidates
		}
	}
	return "", candidates
}

func TestOpenAPIExcerptIsFresh(t *testing.T) {
	dir, looked := referenceDir()
	if dir == "" {
		t.Skipf("full OpenAPI specs not found (looked in $CLERKAUTH_REFERENCE_DIR and %q): the committed excerpts are checked as they are", looked[1:])
	}
	for _, version := range specVersions {
		src := loadSpec(t, version)["x-source"].(node)
		raw, err := os.ReadFile(filepath.Join(dir, src["file"].(string)))
		if err != nil {
			t.Errorf("%s: %v", version, err)
			continue
		}
		if sum := sha256.Sum256(raw); hex.EncodeToString(sum[:]) != src["sha256"] {
			t.Errorf("%s: %s changed since the excerpt was made; rerun testdata/openapi/extract.py", version, src["file"])
		}
	}
}
