package consul

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestParseDuration(t *testing.T) {
	for _, tc := range []struct {
		in    string
		want  float64
		known bool
	}{
		{`"0"`, 0, true},
		{`"43.302939ms"`, 0.043302939, true},
		{`"5.783µs"`, 5.783e-6, true}, // micro sign U+00B5, as Consul writes it
		{`"5.783μs"`, 5.783e-6, true}, // Greek mu U+03BC
		{`"1m33.88395452s"`, 93.88395452, true},
		{`"2.20433136s"`, 2.20433136, true},
		{`"never"`, 0, false},
		{`1500000`, 0.0015, true}, // a bare number is a Go time.Duration in ns
	} {
		got, known, err := ParseDuration(json.RawMessage(tc.in))
		if err != nil || known != tc.known || (known && !near(got, tc.want)) {
			t.Errorf("ParseDuration(%s) = %v, %v, %v; want %v, %v", tc.in, got, known, err, tc.want, tc.known)
		}
	}
	for _, bad := range []string{`"soon"`, `"12"`, `{}`, `[]`, `null`, `"NaNs"`, `true`, `"-1s"`, `-5`} {
		if _, _, err := ParseDuration(json.RawMessage(bad)); err == nil {
			t.Errorf("ParseDuration(%s) succeeded, want an error", bad)
		}
	}
}

func near(a, b float64) bool { d := a - b; return d < 1e-12 && d > -1e-12 }

func TestParseNumberAndFlag(t *testing.T) {
	for in, want := range map[string]float64{`12`: 12, `"111098"`: 111098, `0`: 0, `1.5`: 1.5, `"-0.25"`: -0.25, `"1e+06"`: 1e6} {
		if got, err := ParseNumber(json.RawMessage(in)); err != nil || got != want {
			t.Errorf("ParseNumber(%s) = %v, %v", in, got, err)
		}
	}
	for _, bad := range []string{`"abc"`, `true`, `"NaN"`, `"Inf"`, `null`, `{}`, `[1]`, `""`,
		`"0x1p-2"`, `"1_000"`, `" 5"`, `"5 "`, `"+5"`, `"01"`, `".5"`, `"1e400"`} {
		if _, err := ParseNumber(json.RawMessage(bad)); err == nil {
			t.Errorf("ParseNumber(%s) succeeded", bad)
		}
	}
	for in, want := range map[string]float64{`true`: 1, `false`: 0, `"true"`: 1, `"false"`: 0} {
		if got, err := ParseFlag(json.RawMessage(in)); err != nil || got != want {
			t.Errorf("ParseFlag(%s) = %v, %v", in, got, err)
		}
	}
	for _, bad := range []string{`1`, `"yes"`, `"TRUE"`, `null`} {
		if _, err := ParseFlag(json.RawMessage(bad)); err == nil {
			t.Errorf("ParseFlag(%s) succeeded", bad)
		}
	}
}

func TestDecodeLeader(t *testing.T) {
	for in, want := range map[string]string{`"10.1.10.12:8300"`: "10.1.10.12:8300", `""`: "", " \"[::1]:8300\"\n": "[::1]:8300"} {
		if got, err := DecodeLeader([]byte(in)); err != nil || got != want {
			t.Errorf("DecodeLeader(%s) = %q, %v", in, got, err)
		}
	}
	for in, wantErr := range map[string]string{
		`null`:                                 "want a JSON string",
		`[]`:                                   "got a JSON array",
		``:                                     "empty body",
		`"not an address"`:                     "not host:port",
		`"10.1.10.12:8300`:                     "invalid JSON",
		`"a" "b"`:                              "invalid JSON",
		`"` + strings.Repeat("a", 400) + `:1"`: "address of",
	} {
		_, err := DecodeLeader([]byte(in))
		if err == nil || !strings.Contains(err.Error(), wantErr) {
			t.Errorf("DecodeLeader(%.30s) error = %v, want one containing %q", in, err, wantErr)
		}
	}
}

func TestDecodePeers(t *testing.T) {
	got, err := DecodePeers([]byte(`["10.0.0.1:8300","10.0.0.2:8300"]`))
	if err != nil || len(got) != 2 {
		t.Errorf("DecodePeers = %v, %v", got, err)
	}
	// Consul encodes an empty peer set as null.
	if got, err := DecodePeers([]byte(`null`)); err != nil || len(got) != 0 {
		t.Errorf("DecodePeers(null) = %v, %v", got, err)
	}
	for _, bad := range []string{`{}`, `"10.0.0.1:8300"`, `[1]`, `["x"]`, `[`} {
		if _, err := DecodePeers([]byte(bad)); err == nil {
			t.Errorf("DecodePeers(%s) succeeded", bad)
		}
	}
	many := "[" + strings.Repeat(`"10.0.0.1:8300",`, MaxPeers) + `"10.0.0.1:8300"]`
	if _, err := DecodePeers([]byte(many)); err == nil {
		t.Errorf("DecodePeers accepted %d peers", MaxPeers+1)
	}
}

func TestDecodeSections(t *testing.T) {
	// Unknown sections are ignored whatever their shape; known ones must be objects.
	st, err := DecodeInfo([]byte(`{"raft":{"term":"3"},"future":[1,2],"other":"x"}`))
	if err != nil || st["raft"] == nil || len(st) != 1 {
		t.Errorf("DecodeInfo = %v, %v", st, err)
	}
	for _, bad := range []string{`{"raft":[]}`, `{"raft":"x"}`, `{"raft":null}`, `[]`, `null`, `{}`, `{"future":{}}`} {
		if _, err := DecodeInfo([]byte(bad)); err == nil {
			t.Errorf("DecodeInfo(%s) succeeded", bad)
		}
	}
	if _, err := DecodeAgentSelf([]byte(`{"Config":{}}`)); err == nil || !strings.Contains(err.Error(), "no Stats") {
		t.Errorf("DecodeAgentSelf without Stats: %v", err)
	}
}

// jsonNumber agrees with encoding/json on what a number is.
func TestJSONNumberAgreesWithEncodingJSON(t *testing.T) {
	for _, s := range []string{"0", "-0", "12", "1.5", "-1.5e+10", "1E5", "1e", "1.", ".1", "01", "-", "+1", "1e+", "0.0e0", "00", "1_0", "0x10", "Infinity", "NaN", " 1", "1 ", "", "9007199254740993"} {
		want := json.Valid([]byte(s)) && s != "" && (s[0] == '-' || s[0] >= '0' && s[0] <= '9') && strings.TrimSpace(s) == s
		if got := jsonNumber(s); got != want {
			t.Errorf("jsonNumber(%q) = %v, encoding/json says %v", s, got, want)
		}
	}
}
