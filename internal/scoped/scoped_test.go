package scoped

import (
	"fmt"
	"math/big"
	"reflect"
	"regexp"
	"strings"
	"testing"
)

// names returns "p0,p1,…" with n names.
func names(n int) string {
	list := make([]string, n)
	for i := range list {
		list[i] = fmt.Sprintf("p%d", i)
	}
	return strings.Join(list, ",")
}

func TestOrgPermissions(t *testing.T) {
	tests := []struct {
		name          string
		fea, per, fpm string
		want          []string
	}{
		{"docs example", "o:dashboard,o:teams", "manage,read", "3,2",
			[]string{"org:dashboard:manage", "org:dashboard:read", "org:teams:read"}},
		{"JS vector, one mask per fea element", "o:repositories,uo:projects,u:goldprofileborder",
			"read,create,update,delete,revoke", "7,21,0",
			[]string{"org:repositories:read", "org:repositories:create", "org:repositories:update",
				"org:projects:read", "org:projects:update", "org:projects:revoke"}},
		{"JS vector, one mask per org feature", "o:repositories,uo:projects,u:goldprofileborder",
			"read,create,update,delete,revoke", "7,21",
			[]string{"org:repositories:read", "org:repositories:create", "org:repositories:update",
				"org:projects:read", "org:projects:update", "org:projects:revoke"}},
		{"JS vector, a feature without a mask", "o:repositories,o:projects,o:webhooks,o:impersonation",
			"read,manage", "1,2,3",
			[]string{"org:repositories:read", "org:projects:manage", "org:webhooks:read", "org:webhooks:manage"}},
		{"user feature first, one mask per fea element", "u:beta,o:dashboard,o:teams", "manage,read", "0,3,2",
			[]string{"org:dashboard:manage", "org:dashboard:read", "org:teams:read"}},
		{"user feature first, one mask per org feature", "u:beta,o:dashboard,o:teams", "manage,read", "3,2",
			[]string{"org:dashboard:manage", "org:dashboard:read", "org:teams:read"}},
		// Clerk's JS would read masks 3 and 2 here; the docs' reading
		// (whole fea position) wins when there is one mask per element.
		{"user feature first, ambiguous count", "u:beta,o:dashboard,o:teams", "manage,read", "3,2,1",
			[]string{"org:dashboard:read", "org:teams:manage"}},
		{"user feature between", "o:a,u:b,o:c", "r", "1,0,1", []string{"org:a:r", "org:c:r"}},
		{"other scopes are skipped", "x:a,o:b,:c", "read", "1", []string{"org:b:read"}},
		{"uo is an org feature", "uo:a", "read", "1", []string{"org:a:read"}},
		{"more masks than features", "o:a", "read", "1,1,1", []string{"org:a:read"}},
		{"mask bits beyond per", "o:a", "read", "7", []string{"org:a:read"}},
		{"zero mask", "o:a", "read", "0", nil},
		{"leading zeros", "o:a", "x,y", "003", []string{"org:a:x", "org:a:y"}},
		{"spaces are trimmed", " o:a ", " x , y ", " 2 , 9 ", []string{"org:a:y"}},
		{"empty permission name", "o:a", "x,,z", "7", []string{"org:a:x", "org:a:", "org:a:z"}},
		{"empty feature name", "o:", "x", "1", []string{"org::x"}},
		{"repeated feature", "o:a,ou:a", "x", "1,1", []string{"org:a:x", "org:a:x"}},
		{"more than 64 permissions", "o:a", names(70), new(big.Int).SetBit(big.NewInt(1), 69, 1).String(),
			[]string{"org:a:p0", "org:a:p69"}},
		{"bit 63 in a uint64", "o:a", names(70), "9223372036854775808", []string{"org:a:p63"}},
		{"max uint64", "o:a", names(3), "18446744073709551615", []string{"org:a:p0", "org:a:p1", "org:a:p2"}},
		{"2^64", "o:a", names(65), "18446744073709551616", []string{"org:a:p64"}},
		{"2^64 with fewer names", "o:a", names(3), "18446744073709551616", nil},
		{"2^64 + 1", "o:a", names(3), "18446744073709551617", []string{"org:a:p0"}},
		{"huge mask", "o:a,o:b", names(200), "1" + strings.Repeat("0", 60) + ",2", nil}, // checked below
		// Malformed claims grant nothing.
		{"fea element without colon", "o:dashboard,teams", "manage,read", "3,2", nil},
		{"empty fea element", "o:a,,o:b", "r", "1,1", nil},
		{"negative mask", "o:a", "r", "-1", nil},
		{"signed mask", "o:a", "r", "+1", nil},
		{"empty mask", "o:a,o:b", "r", "1,,1", nil},
		{"exponent mask", "o:a", "r", "1e3", nil},
		{"hex mask", "o:a", "r", "0x3", nil},
		{"underscore mask", "o:a", "r", "1_0", nil},
		{"fullwidth digit", "o:a", "r", "３", nil},
		{"no per", "o:a", "", "1", nil},
		{"no fpm", "o:a", "r", "", nil},
		{"no features", "", "r", "1", nil},
		{"user features only", "u:a,u:b", "r", "1,1", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fea, _ := SplitLists(tt.fea, "")
			got := Permissions(fea, tt.per, tt.fpm)
			want := tt.want
			if tt.name == "huge mask" {
				want = referencePermissions(fea, tt.per, tt.fpm)
				if len(want) == 0 {
					t.Fatal("reference found no permission in the huge mask")
				}
			}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("Permissions(%q, %q, %q) =\n%q\nwant\n%q", tt.fea, tt.per, tt.fpm, got, want)
			}
			if ref := referencePermissions(fea, tt.per, tt.fpm); !reflect.DeepEqual(got, ref) {
				t.Fatalf("reference disagrees: %q", ref)
			}
		})
	}
}

var decimalRE = regexp.MustCompile(`^[0-9]+$`)

// referencePermissions is a direct, slow transcription of the decoding
// rules, used as an oracle.
func referencePermissions(fea []string, per, fpm string) []string {
	if per == "" || fpm == "" || len(fea) == 0 {
		return nil
	}
	perms := strings.Split(per, ",")
	for i := range perms {
		perms[i] = TrimJS(perms[i])
	}
	var masks []*big.Int
	for _, m := range strings.Split(fpm, ",") {
		m = TrimJS(m)
		if !decimalRE.MatchString(m) {
			return nil
		}
		n, _ := new(big.Int).SetString(m, 10)
		masks = append(masks, n)
	}
	type orgFeature struct {
		pos  int
		name string
	}
	var org []orgFeature
	for pos, e := range fea {
		scope, name, ok := strings.Cut(e, ":")
		if !ok {
			return nil
		}
		if scope == "o" || scope == "ou" || scope == "uo" {
			org = append(org, orgFeature{pos, name})
		}
	}
	var out []string
	for i, f := range org {
		index := i
		if len(masks) == len(fea) {
			index = f.pos
		}
		if index >= len(masks) {
			continue
		}
		for j, p := range perms {
			if masks[index].Bit(j) == 1 {
				out = append(out, "org:"+f.name+":"+p)
			}
		}
	}
	return out
}

func TestOrgPermissionsAllocations(t *testing.T) {
	fea := []string{"o:dashboard", "o:teams", "u:beta"}
	allocs := testing.AllocsPerRun(100, func() { Permissions(fea, "manage,read", "3,2") })
	if allocs != 2 {
		t.Errorf("Permissions makes %v allocations; want 2 (the slice and one buffer)", allocs)
	}
}

func TestPrefixWithOrg(t *testing.T) {
	for in, want := range map[string]string{
		"": "", "admin": "org:admin", "org:admin": "org:admin", "org:org:admin": "org:admin",
		"org:": "org:", "org:org:": "org:", "orgadmin": "org:orgadmin", "ORG:admin": "org:ORG:admin",
	} {
		if got := PrefixWithOrg(in); got != want {
			t.Errorf("PrefixWithOrg(%q) = %q; want %q", in, got, want)
		}
	}
}

func TestJSTrim(t *testing.T) {
	for in, want := range map[string]string{
		"":                    "",
		"a":                   "a",
		" \t\n\v\f\ra b \r\n": "a b",
		"\u00a0\u2028x\u3000": "x",
		"\ufeffx\ufeff":       "x",
		"\u0085x\u0085":       "\u0085x\u0085", // NEL is not JavaScript white space
		"\u200bx":             "\u200bx",       // nor is ZERO WIDTH SPACE
		"   ":                 "",
	} {
		if got := TrimJS(in); got != want {
			t.Errorf("TrimJS(%q) = %q; want %q", in, got, want)
		}
	}
}

// FuzzPermissions checks Permissions against the reference decoder and
// that it never panics.
func FuzzPermissions(f *testing.F) {
	f.Add("o:dashboard,o:teams", "manage,read", "3,2")
	f.Add("o:repositories,uo:projects,u:goldprofileborder", "read,create,update,delete,revoke", "7,21,0")
	f.Add("u:beta,o:dashboard,o:teams", "manage,read", "3,2,1")
	f.Add("o:a", names(70), "590295810358705651713")
	f.Add("o:a,b", "r", "1,1")
	f.Add("o:a", "r", "-1")
	f.Add(" o:a ,\u00a0ou:b", " x ,, y", " 18446744073709551617 , 5")
	f.Fuzz(func(t *testing.T, feaClaim, per, fpm string) {
		// The claims come from a token of at most 16 KiB. Longer inputs
		// only make the reference's math/big parsing slow enough (it is
		// quadratic) to outlast the fuzzing deadline.
		if len(feaClaim)+len(per)+len(fpm) > 16<<10 {
			return
		}
		fea, _ := SplitLists(feaClaim, "")
		got := Permissions(fea, per, fpm)
		for _, p := range got {
			if !strings.HasPrefix(p, "org:") {
				t.Fatalf("permission %q lacks the org: prefix", p)
			}
		}
		if want := referencePermissions(fea, per, fpm); !reflect.DeepEqual(got, want) {
			t.Fatalf("Permissions(%q, %q, %q) = %q; reference %q", feaClaim, per, fpm, got, want)
		}
	})
}

func TestOrgPermissionsManyGrants(t *testing.T) {
	fea := []string{"o:a", "u:x", "ou:b"}
	got := Permissions(fea, names(20), "1048575,0,1048575") // 20 bits each
	if want := referencePermissions(fea, names(20), "1048575,0,1048575"); len(got) != 40 || !reflect.DeepEqual(got, want) {
		t.Fatalf("got %d permissions %q; want the reference's 40 %q", len(got), got, want)
	}
	if got[0] != "org:a:p0" || got[39] != "org:b:p19" {
		t.Errorf("first, last = %q, %q", got[0], got[39])
	}
}
