package consul

import (
	"bytes"
	"context"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"
)

// The streamed list is as strict as the whole-body decode was, and its
// errors read the same way.
func TestDecodeMembersErrors(t *testing.T) {
	lim := MemberLimits{Max: 10}
	for body, want := range map[string]string{
		"":                                 "empty body, want a JSON list of members",
		"  \n":                             "empty body, want a JSON list of members",
		`{}`:                               "got a JSON object, want a JSON list of members",
		`"x"`:                              "got a JSON string, want a JSON list of members",
		`nul`:                              `invalid JSON at byte 1: want a JSON list (body starts "nul")`,
		`null x`:                           `invalid JSON at byte 6: data after the top-level list (body starts "null x")`,
		`[{"Name":"a"}] [`:                 `invalid JSON at byte 16: data after the top-level list (body starts "[{\"Name\":\"a\"}] [")`,
		`[{"Name":"a"},]`:                  `invalid JSON at byte 15: want a value (body starts "[{\"Name\":\"a\"},]")`,
		`[{"Name":"a"} {"Name":"b"}]`:      `invalid JSON at byte 15: want ',' or ']' after a member (body starts "[{\"Name\":\"a\"} {\"Name\":\"b\"}]")`,
		`[{"Name":"a"`:                     `invalid JSON at byte 13: unterminated object or list (body starts "[{\"Name\":\"a\"")`,
		`[{"Name":5}]`:                     "Name: got a JSON number, want string",
		`[{"Name":"a","Tags":{"role":7}}]`: "Tags.role: got a JSON number, want string",
		`[{"Name":"a"}`:                    "unexpected EOF",
		`<html>`:                           `invalid JSON at byte 1: invalid character '<' looking for beginning of value (body starts "<html>")`,
	} {
		_, _, err := decodeMembers(context.Background(), strings.NewReader(body), "lan", lim)
		if err == nil || err.Error() != want {
			t.Errorf("%q: %v, want %q", body, err, want)
		}
	}
	for body, n := range map[string]int{`null`: 0, `[]`: 0, " [ ] \n": 0, `[{"Name":"a"},{"Name":"a"},{"Name":"b"}]`: 3} {
		out, got, err := decodeMembers(context.Background(), strings.NewReader(body), "lan", lim)
		if err != nil || got != n {
			t.Errorf("%q: %d members, %v", body, got, err)
		}
		if want := min(n, 2); len(out) != want {
			t.Errorf("%q: %d members kept, want %d (duplicates dropped)", body, len(out), want)
		}
	}
}

// FuzzDecodeMembers holds the streamed member list to encoding/json's
// reading of the whole body: within the stream's own bounds (a member of
// 16 KiB, label values of 512 bytes), it accepts what json.Unmarshal
// accepts and exports the same members. With servers-only, clients are
// checked for structure only, so only what it accepts is compared.
func FuzzDecodeMembers(f *testing.F) {
	for _, s := range []string{`[]`, `null`, `[{"Name":"s1","Tags":{"role":"consul"},"Status":1},{"Name":"c1","Tags":{"role":"node"}}]`,
		`[{"Name":"a"},{"Name":"a"}]`, `[{"name":"x","tags":{"ROLE":"consul"}}]`, `[{"T\u0061gs":{"role":"consul"},"Name":"e"}]`,
		`[{"Tags":{"role":"cons\u0075l"}}]`, `[null]`, `[1]`, `[{"Name":"a"},]`, `{}`, `[{"Tags":null}]`, ``} {
		f.Add([]byte(s), false)
		f.Add([]byte(s), true)
	}
	f.Fuzz(func(t *testing.T, body []byte, serversOnly bool) {
		if len(body) > MaxMemberBytes {
			return
		}
		lim := MemberLimits{ServersOnly: serversOnly, Max: 1 << 20}
		out, n, err := decodeMembers(context.Background(), bytes.NewReader(body), "lan", lim)
		var ms []Member
		whole := json.Unmarshal(body, &ms)
		if err != nil {
			if msg := err.Error(); msg == "" || len(msg) > 2048 || !utf8.ValidString(msg) || strings.ContainsAny(msg, "\n\r") {
				t.Fatalf("error unfit for a log line (%d bytes): %q", len(msg), msg)
			}
			if whole == nil && !serversOnly && !strings.Contains(err.Error(), "a name, address, version or role of") {
				t.Fatalf("refused %q, which encoding/json accepts: %v", body, err)
			}
			return
		}
		if whole != nil {
			if !serversOnly {
				t.Fatalf("accepted %q, which encoding/json refuses: %v", body, whole)
			}
			return
		}
		if n != len(ms) {
			t.Fatalf("%q: %d members counted, encoding/json has %d", body, n, len(ms))
		}
		var want []Member
		seen := map[string]bool{}
		for _, m := range ms {
			if (!serversOnly || m.Tags.Role == "consul") && !seen[m.Name] {
				seen[m.Name] = true
				want = append(want, m)
			}
		}
		if !reflect.DeepEqual(out, want) {
			t.Fatalf("%q: exported %v, encoding/json's reading gives %v", body, out, want)
		}
	})
}
