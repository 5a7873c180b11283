package consul

import (
	"strings"
	"testing"
	"time"
)

func TestDecodeACLReplication(t *testing.T) {
	// A secondary replicating tokens, as Consul 1.22 answers.
	r, err := DecodeACLReplication([]byte(`{"Enabled":true,"Running":true,"SourceDatacenter":"dc1","ReplicationType":"tokens",` +
		`"ReplicatedIndex":25,"ReplicatedRoleIndex":1,"ReplicatedTokenIndex":31,"LastSuccess":"2026-12-03T13:50:01Z",` +
		`"LastError":"0001-01-01T00:00:00Z","LastErrorMessage":""}`))
	if err != nil {
		t.Fatal(err)
	}
	if !r.Enabled || !r.Running || r.SourceDatacenter != "dc1" || r.ReplicationType != "tokens" {
		t.Errorf("got %+v", r)
	}
	if *r.Policies != 25 || *r.Roles != 1 || *r.Tokens != 31 {
		t.Errorf("indices %v %v %v", *r.Policies, *r.Roles, *r.Tokens)
	}
	if r.LastSuccess == nil || !r.LastSuccess.Equal(time.Date(2026, 12, 3, 13, 50, 1, 0, time.UTC)) {
		t.Errorf("LastSuccess %v", r.LastSuccess)
	}
	if r.LastError != nil {
		t.Errorf("Go's zero time is no error, got %v", r.LastError)
	}

	// An older answer without the role index: absent, not zero.
	r, err = DecodeACLReplication([]byte(`{"Enabled":false,"Running":false,"SourceDatacenter":"","ReplicatedIndex":0,"LastSuccess":"0001-01-01T00:00:00Z"}`))
	if err != nil {
		t.Fatal(err)
	}
	if r.Enabled || r.Roles != nil || r.Tokens != nil || r.LastSuccess != nil {
		t.Errorf("got %+v", r)
	}

	for body, want := range map[string]string{
		``:                                 "empty body",
		`[]`:                               "want a JSON object",
		`{}`:                               "no Enabled or Running",
		`{"Enabled":"yes","Running":true}`: "Enabled",
		`{"Enabled":true,"Running":true,"LastSuccess":"yesterday"}`:                             "yesterday",
		`{"Enabled":true,"Running":true,"SourceDatacenter":"` + strings.Repeat("x", 600) + `"}`: "600 bytes",
	} {
		if _, err := DecodeACLReplication([]byte(body)); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("DecodeACLReplication(%.40q) = %v, want an error with %q", body, err, want)
		}
	}
}
