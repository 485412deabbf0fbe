package jsonscan

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
)

func TestScanObjectAcceptsValidJSON(t *testing.T) {
	tests := []struct {
		name string
		in   string
	}{
		{"empty", `{}`},
		{"surrounding whitespace", " \t\r\n{ \"a\" : 1 , \"b\":[ ] }\n"},
		{"all kinds", `{"s":"x","n":-1.5e+3,"o":{"k":null},"a":[true,false,null,{},[]]}`},
		{"numbers", `{"a":0,"b":-0,"c":0.5,"d":1E9,"e":12e-3,"f":123456789012345678901234567890}`},
		{"escapes", `{"a":"\"\\\/\b\f\n\r\t\u00e9\ud83d\ude00"}`},
		{"utf8", `{"é":"日本語 😀"}`},
		{"same key in sibling objects", `{"a":{"k":1},"b":{"k":2}}`},
		{"same key at two levels", `{"k":{"k":1}}`},
		{"depth 32", strings.Repeat(`{"a":`, 31) + `{}` + strings.Repeat(`}`, 31)},
		{"array depth 32", `{"a":` + strings.Repeat(`[`, 31) + strings.Repeat(`]`, 31) + `}`},
		{"many keys", manyKeys(100)},
		{"U+FFFD literal", "{\"a\":\"\xef\xbf\xbd\"}"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := Object([]byte(tt.in), nil); err != nil {
				t.Fatalf("Object(%q) = %v; want nil", tt.in, err)
			}
			if !json.Valid([]byte(tt.in)) {
				t.Fatalf("test input %q is not valid JSON", tt.in)
			}
		})
	}
}

func manyKeys(n int) string {
	var b strings.Builder
	b.WriteString("{")
	for i := range n {
		if i > 0 {
			b.WriteString(",")
		}
		fmt.Fprintf(&b, `"k%d":%d`, i, i)
	}
	b.WriteString("}")
	return b.String()
}

func TestScanObjectRejects(t *testing.T) {
	tests := []struct {
		name string
		in   string
	}{
		{"empty input", ``},
		{"whitespace only", `  `},
		{"not an object", `[]`},
		{"string", `"a"`},
		{"trailing data", `{}{}`},
		{"trailing garbage", `{} x`},
		{"trailing comma", `{"a":1,}`},
		{"missing colon", `{"a" 1}`},
		{"missing value", `{"a":}`},
		{"unquoted key", `{a:1}`},
		{"single quotes", `{'a':1}`},
		{"unterminated object", `{"a":1`},
		{"unterminated string", `{"a":"x}`},
		{"unterminated array", `{"a":[1,2}`},
		{"array trailing comma", `{"a":[1,]}`},
		{"leading zero", `{"a":01}`},
		{"plus sign", `{"a":+1}`},
		{"bare minus", `{"a":-}`},
		{"bare dot", `{"a":1.}`},
		{"leading dot", `{"a":.5}`},
		{"empty exponent", `{"a":1e}`},
		{"exponent sign only", `{"a":1e+}`},
		{"NaN", `{"a":NaN}`},
		{"Infinity", `{"a":Infinity}`},
		{"hex", `{"a":0x10}`},
		{"bad literal", `{"a":tru}`},
		{"capital literal", `{"a":KindTrue}`},
		{"control character", "{\"a\":\"x\ty\"}"},
		{"NUL in string", "{\"a\":\"x\x00\"}"},
		{"invalid UTF-8", "{\"a\":\"\xff\"}"},
		{"invalid UTF-8 in key", "{\"\xc3\":1}"},
		{"overlong UTF-8", "{\"a\":\"\xc0\xaf\"}"},
		{"UTF-8 surrogate", "{\"a\":\"\xed\xa0\x80\"}"},
		{"truncated UTF-8", "{\"a\":\"\xe6\x97\"}"},
		{"bad escape", `{"a":"\x"}`},
		{"short unicode escape", `{"a":"\u12"}`},
		{"bad hex", `{"a":"\u12g4"}`},
		{"lone high surrogate", `{"a":"\ud83d"}`},
		{"high surrogate then text", `{"a":"\ud83dx"}`},
		{"two high surrogates", `{"a":"\ud83d\ud83d"}`},
		{"lone low surrogate", `{"a":"\ude00"}`},
		{"BOM", "\xef\xbb\xbf{}"},
		{"duplicate key", `{"a":1,"a":2}`},
		{"duplicate key far apart", `{"a":1,"b":2,"c":3,"a":4}`},
		{"duplicate via escape", `{"sub":"x","s\u0075b":"y"}`},
		{"duplicate escaped both", `{"\u0061":1,"\u0061":2}`},
		{"duplicate nested", `{"o":{"id":"a","id":"b"}}`},
		{"duplicate deep in array", `{"a":[{"x":1,"x":1}]}`},
		{"duplicate past inline keys", manyKeys(40)[:len(manyKeys(40))-1] + `,"k3":0}`},
		{"depth 33", strings.Repeat(`{"a":`, 32) + `{}` + strings.Repeat(`}`, 32)},
		{"array depth 33", `{"a":` + strings.Repeat(`[`, 32) + strings.Repeat(`]`, 32) + `}`},
		{"deep bomb", `{"a":` + strings.Repeat(`[`, 100000)},
		{"deep object bomb", strings.Repeat(`{"a":`, 100000)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Object([]byte(tt.in), nil)
			var se *SyntaxError
			if !errors.As(err, &se) {
				t.Fatalf("Object(%.40q) = %v; want a *SyntaxError", tt.in, err)
			}
			if se.off < 0 || se.off > len(tt.in) {
				t.Errorf("offset %d outside the input (len %d)", se.off, len(tt.in))
			}
		})
	}
}

func TestScanObjectMembers(t *testing.T) {
	in := []byte(` {"a":"x\u0041","b\n":[1, 2],"c":{"d":true},"e":null,"f":-2.5} `)
	type member struct {
		key  string
		kind Kind
		raw  string
	}
	var got []member
	err := Object(in, func(key []byte, v Value) error {
		if string(in[v.Off:v.Off+len(v.Raw)]) != string(v.Raw) {
			t.Errorf("member %q: off %d does not locate raw %q", key, v.Off, v.Raw)
		}
		got = append(got, member{string(key), v.Kind, string(v.Raw)})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []member{
		{"a", KindString, `"x\u0041"`},
		{"b\n", KindArray, `[1, 2]`},
		{"c", KindObject, `{"d":true}`},
		{"e", KindNull, `null`},
		{"f", KindNumber, `-2.5`},
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("members = %v; want %v", got, want)
	}
}

func TestScanObjectStopsOnCallbackError(t *testing.T) {
	stop := errors.New("stop")
	calls := 0
	err := Object([]byte(`{"a":1,"b":2}`), func([]byte, Value) error {
		calls++
		return stop
	})
	if err != stop || calls != 1 {
		t.Fatalf("err, calls = %v, %d; want stop, 1", err, calls)
	}
}

func TestScanObjectNested(t *testing.T) {
	in := []byte(`{"x":{"k":"v"},"o":{"id":"org_1","n":{"deep":1}},"o2":{"id":2},"act":"s"}`)
	var nested []string
	var top []string
	err := ObjectNested(in, func(key []byte, v Value) error {
		top = append(top, string(key)+"="+string(v.Raw))
		return nil
	}, []string{"o", "act"}, func(parent, key []byte, v Value) error {
		if string(in[v.Off:v.Off+len(v.Raw)]) != string(v.Raw) {
			t.Errorf("nested %s.%s: off %d does not locate raw", parent, key, v.Off)
		}
		nested = append(nested, string(parent)+"."+string(key)+"="+string(v.Raw))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if want := `[o.id="org_1" o.n={"deep":1}]`; fmt.Sprint(nested) != want {
		t.Errorf("nested = %v; want %v", nested, want)
	}
	if want := `[x={"k":"v"} o={"id":"org_1","n":{"deep":1}} o2={"id":2} act="s"]`; fmt.Sprint(top) != want {
		t.Errorf("top = %v; want %v", top, want)
	}
	if err := ObjectNested([]byte(`{"o":{"a":1,"a":2}}`), nil, []string{"o"},
		func([]byte, []byte, Value) error { return nil }); err == nil {
		t.Error("duplicate inside a descended object was accepted")
	}
}

func TestScanArray(t *testing.T) {
	var got []string
	err := Array([]byte(` [1,"a",{"b":[]}] `), func(v Value) error {
		got = append(got, string(v.Raw))
		return nil
	})
	if err != nil || fmt.Sprint(got) != `[1 "a" {"b":[]}]` {
		t.Fatalf("Array = %v, %v", got, err)
	}
	for _, in := range []string{`{}`, `[1,]`, `[1] 2`, `[`} {
		if err := Array([]byte(in), nil); err == nil {
			t.Errorf("Array(%q) = nil; want an error", in)
		}
	}
}

func TestJSONValueText(t *testing.T) {
	tests := []struct{ in, want string }{
		{`"plain"`, "plain"},
		{`""`, ""},
		{`"\"\\\/\b\f\n\r\t"`, "\"\\/\b\f\n\r\t"},
		{`"caf\u00e9 \u65e5 \ud83d\ude00"`, "café 日 😀"},
		{`"raw é"`, "raw é"},
	}
	for _, tt := range tests {
		var got string
		var ok bool
		err := Object([]byte(`{"k":`+tt.in+`}`), func(_ []byte, v Value) error {
			got, ok = v.Text()
			return nil
		})
		if err != nil || !ok || got != tt.want {
			t.Errorf("text of %s = %q, %v, %v; want %q", tt.in, got, ok, err, tt.want)
		}
		var std string
		if err := json.Unmarshal([]byte(tt.in), &std); err != nil || std != got {
			t.Errorf("encoding/json reads %s as %q; we read %q", tt.in, std, got)
		}
	}
	if _, ok := (Value{Kind: KindNumber, Raw: []byte("1")}).Text(); ok {
		t.Error("Text() of a number reported ok")
	}
}

// FuzzScanObject checks that the scanner never panics, and that whatever it
// accepts encoding/json accepts too.
func FuzzScanObject(f *testing.F) {
	for _, s := range []string{`{}`, `{"a":[1,{"b":"\u00e9"}]}`, `{"a":1,"a":2}`, "{\"a\":\"\xff\"}",
		`{"a":"\ud83d"}`, `{"a":-0.5e10}`, `{"o":{"fpm":"3,2","id":"org_1","per":"manage,read"},"sid":"sess_1","v":2,"fva":[5,-1]}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		err := Object(data, func(_ []byte, v Value) error {
			_, _ = v.Text()
			return nil
		})
		if err == nil && !json.Valid(data) {
			t.Fatalf("Object accepted %q, which encoding/json rejects", data)
		}
	})
}
