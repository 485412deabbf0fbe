package clerkauth

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestDecodeHeader(t *testing.T) {
	clerk := joseHeader{alg: "RS256", kid: "ins_1", typ: "JWT", cat: categorySession, hasTyp: true, hasCat: true}
	tests := []struct {
		name    string
		raw     string
		want    joseHeader
		wantErr error // with ok false: any error
		ok      bool
	}{
		{"clerk shape", `{"alg":"RS256","cat":"cl_B7d4PD111AAA","kid":"ins_1","typ":"JWT"}`, clerk, nil, true},
		{"clerk shape with spaces", " {\n \"alg\" : \"RS256\" ,\t\"cat\":\"cl_B7d4PD111AAA\",\"kid\":\"ins_1\",\"typ\":\"JWT\"}\r\n", clerk, nil, true},
		{"empty object", `{}`, joseHeader{}, nil, true},
		{"escaped value and name", `{"\u0061lg":"RS\u0032\u0035\u0036","kid":"k"}`, joseHeader{alg: "RS256", kid: "k"}, nil, true},
		{"other values kept", `{"alg":"HS256","typ":"JWS","cat":"x"}`, joseHeader{alg: "HS256", typ: "JWS", cat: "x", hasTyp: true, hasCat: true}, nil, true},
		{"unknown members", `{"alg":"RS256","x":{"a":[1,2.5e3,true,null]},"kid":"k"}`, joseHeader{alg: "RS256", kid: "k"}, nil, true},
		{"crit", `{"alg":"RS256","crit":["exp"]}`, joseHeader{alg: "RS256", hasCrit: true}, nil, true},
		{"null typ", `{"alg":"RS256","typ":null}`, joseHeader{}, errHeaderType, false},
		{"number alg", `{"alg":256}`, joseHeader{}, errHeaderType, false},
		{"known name in another case", `{"ALG":"none","alg":"RS256"}`, joseHeader{}, errHeaderCase, false},
		{"kelvin sign kid", `{"alg":"RS256","\u212aid":"k"}`, joseHeader{}, errHeaderCase, false},
		{"duplicate alg", `{"alg":"none","alg":"RS256"}`, joseHeader{}, nil, false},
		{"duplicate through an escape", `{"alg":"none","\u0061lg":"RS256"}`, joseHeader{}, nil, false},
		{"duplicate unknown member", `{"alg":"RS256","x":1,"x":2}`, joseHeader{}, nil, false},
		{"invalid UTF-8", "{\"alg\":\"RS256\",\"kid\":\"\xff\"}", joseHeader{}, nil, false},
		{"trailing data", `{"alg":"RS256"} x`, joseHeader{}, nil, false},
		{"trailing comma", `{"alg":"RS256",}`, joseHeader{}, nil, false},
		{"array", `[]`, joseHeader{}, nil, false},
		{"empty", ``, joseHeader{}, nil, false},
		{"unterminated", `{"alg":"RS256"`, joseHeader{}, nil, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := decodeHeader([]byte(tc.raw))
			if !tc.ok {
				require.Error(t, err)
				if tc.wantErr != nil {
					assert.ErrorIs(t, err, tc.wantErr)
				}
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
		})
	}
}

// FuzzDecodeHeader checks that the header decoder is never more lenient
// than encoding/json, which it replaced: whatever it accepts, encoding/json
// accepts too and reads the same alg, kid, typ and cat.
func FuzzDecodeHeader(f *testing.F) {
	for _, s := range []string{
		`{"alg":"RS256","cat":"cl_B7d4PD111AAA","kid":"ins_1","typ":"JWT"}`, `{}`, `{"alg":"RS256","alg":"RS256"}`,
		` { "kid" : "k" } `, `{"alg":"RS256",}`, `{"typ":"JWS","cat":"x","crit":[]}`, `{"\u0061lg":"R\u0053256"}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		h, err := decodeHeader(raw)
		if err != nil {
			return
		}
		var j struct {
			Alg, Kid string
			Typ, Cat *string
		}
		if err := json.Unmarshal(raw, &j); err != nil {
			t.Fatalf("decodeHeader accepted %q, encoding/json rejects it: %v", raw, err)
		}
		if j.Alg != h.alg || j.Kid != h.kid || (j.Typ != nil) != h.hasTyp || (j.Cat != nil) != h.hasCat ||
			(h.hasTyp && *j.Typ != h.typ) || (h.hasCat && *j.Cat != h.cat) {
			t.Fatalf("%q: decodeHeader %+v, encoding/json %+v", raw, h, j)
		}
	})
}
