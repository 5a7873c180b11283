package consul

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestObjectMember(t *testing.T) {
	for _, tc := range []struct{ body, want string }{
		{`{"Stats":{"a":"1"}}`, `{"a":"1"}`},
		{` { "Config" : {"x":"}{\"Stats\":1", "l":[1,{"y":"]"}]}, "Stats" : {"raft":{}} , "Meta":null } `, `{"raft":{}}`},
		{`{"Stats":1,"Stats":{"b":2}}`, `{"b":2}`}, // last wins, as in encoding/json
		{`{"Stats":"x\"y"}`, `"x\"y"`},
	} {
		got, found, err := objectMember([]byte(tc.body), "Stats")
		if err != nil || !found || string(got) != tc.want {
			t.Errorf("objectMember(%s) = %s, %v, %v; want %s", tc.body, got, found, err, tc.want)
		}
	}
	if _, found, err := objectMember([]byte(`{"Config":{}}`), "Stats"); found || err != nil {
		t.Errorf("no Stats: found %v, err %v", found, err)
	}
	for _, bad := range []string{``, `[]`, `"Stats"`, `{"Stats":{"a":1}`, `{"Stats":{}} x`, `{"Stats" {}}`, `{"Stats":}`,
		`{"Stats":{},}`, `{Stats:{}}`, `{"Stats":"unterminated}`, `{"a":1 "Stats":{}}`} {
		if _, _, err := objectMember([]byte(bad), "Stats"); err == nil {
			t.Errorf("objectMember(%q) succeeded", bad)
		}
	}
}

// On every recorded agent/self, the scan finds exactly what encoding/json
// finds.
func TestObjectMemberAgreesWithEncodingJSON(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join("..", "..", "fixtures", "*", "agent_self.json"))
	if len(files) < 4 {
		t.Fatalf("only %d agent_self.json fixtures", len(files))
	}
	for _, f := range files {
		body, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, key := range []string{"Stats", "Config", "DebugConfig", "Member", "Meta", "Coord", "xDS"} {
			got, found, err := objectMember(body, key)
			var top map[string]json.RawMessage
			if jerr := json.Unmarshal(body, &top); jerr != nil {
				t.Fatal(jerr)
			}
			want, ok := top[key]
			if err != nil || found != ok || !bytes.Equal(bytes.TrimSpace(got), bytes.TrimSpace(want)) {
				t.Errorf("%s %s: found %v (json %v), err %v, equal %v", f, key, found, ok, err, strings.EqualFold(string(got), string(want)))
			}
		}
	}
}

// FuzzObjectMember: whatever encoding/json accepts as an object, the scan
// accepts too and finds the same Stats member.
func FuzzObjectMember(f *testing.F) {
	for _, s := range []string{`{"Stats":{"a":"1"}}`, `{"x":[1,"]"],"Stats":null}`, `{}`, `{"Stats":1,"Stats":2}`, `{"a":"\"}"}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		got, found, err := objectMember(body, "Stats")
		var top map[string]json.RawMessage
		if json.Unmarshal(body, &top) != nil || top == nil {
			return // the scan may accept what is not JSON; the caller decodes Stats in full
		}
		want, ok := top["Stats"]
		if err != nil {
			t.Fatalf("%q: scan failed on valid JSON: %v", body, err)
		}
		if found != ok || (ok && !bytes.Equal(got, want)) {
			t.Fatalf("%q: scan found %v %q, encoding/json %v %q", body, found, got, ok, want)
		}
	})
}
