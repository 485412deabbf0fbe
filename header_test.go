package clerkauth

import (
	"reflect"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestDecodeHeader(t *testing.T) {
	clerk := joseHeader{alg: "RS256", kid: "ins_1", typ: "JWT", cat: categorySession, hasTyp: true, hasCat: true}
	tests := []struct {
		name string
		raw  string
		want joseHeader
		err  error
	}{
		{"clerk shape", `{"alg":"RS256","cat":"cl_B7d4PD111AAA","kid":"ins_1","typ":"JWT"}`, clerk, nil},
		{"clerk shape with spaces", " {\n \"alg\" : \"RS256\" ,\t\"cat\":\"cl_B7d4PD111AAA\",\"kid\":\"ins_1\",\"typ\":\"JWT\"}\r\n", clerk, nil},
		{"empty object", `{}`, joseHeader{}, nil},
		{"escaped value", `{"alg":"RS\u0032\u0035\u0036","kid":"k"}`, joseHeader{alg: "RS256", kid: "k"}, nil},
		{"null typ is absent", `{"alg":"RS256","typ":null}`, joseHeader{alg: "RS256"}, nil},
		{"unknown members", `{"alg":"RS256","x":{"a":[1,2.5e3,true,null]},"kid":"k"}`, joseHeader{alg: "RS256", kid: "k"}, nil},
		{"crit", `{"alg":"RS256","crit":["exp"]}`, joseHeader{alg: "RS256", crit: []byte(`["exp"]`)}, nil},
		{"duplicate alg", `{"alg":"none","alg":"RS256"}`, joseHeader{}, errHeaderDuplicate},
		{"duplicate kid beside an unknown member", `{"kid":"a","x":1,"kid":"b","alg":"RS256"}`, joseHeader{}, errHeaderDuplicate},
		{"duplicate unknown member", `{"alg":"RS256","x":1,"x":2}`, joseHeader{}, errHeaderDuplicate},
		{"known name in another case", `{"ALG":"none","alg":"RS256"}`, joseHeader{}, errHeaderCase},
		{"kelvin sign kid", `{"alg":"RS256","\u212aid":"k"}`, joseHeader{}, errHeaderCase},
		{"trailing data", `{"alg":"RS256"} x`, joseHeader{}, errHeaderSyntax},
		{"trailing comma", `{"alg":"RS256",}`, joseHeader{}, errHeaderSyntax},
		{"array", `[]`, joseHeader{}, errHeaderSyntax},
		{"string", `"alg"`, joseHeader{}, errHeaderSyntax},
		{"empty", ``, joseHeader{}, errHeaderSyntax},
		{"unterminated", `{"alg":"RS256"`, joseHeader{}, errHeaderSyntax},
		{"number alg", `{"alg":256}`, joseHeader{}, errHeaderSyntax},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := decodeHeader([]byte(tc.raw))
			if tc.err != nil {
				assert.ErrorIs(t, err, tc.err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
		})
	}
}

// FuzzDecodeHeader checks that the hand-written path never disagrees with
// encoding/json: whatever it accepts, the general path accepts with the
// same result, and whatever it rejects, the general path rejects too.
func FuzzDecodeHeader(f *testing.F) {
	for _, s := range []string{
		`{"alg":"RS256","cat":"cl_B7d4PD111AAA","kid":"ins_1","typ":"JWT"}`, `{}`, `{"alg":"RS256","alg":"RS256"}`,
		` { "kid" : "k" } `, `{"alg":"RS256",}`, `{"alg":"RS256"}}`, `{"typ":"JWS","cat":"x"}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		fast, ok, fastErr := decodeHeaderFast(raw)
		if !ok && fastErr == nil {
			return
		}
		general, err := decodeHeaderJSON(raw)
		if fastErr != nil {
			if err == nil {
				t.Fatalf("fast path rejected %q (%v), general path accepted it", raw, fastErr)
			}
			return
		}
		if err != nil || !reflect.DeepEqual(fast, general) {
			t.Fatalf("%q: fast %+v, general %+v (%v)", raw, fast, general, err)
		}
	})
}
