package consul

import (
	"context"
	"strings"
	"testing"
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
