package consul

import (
	"strings"
	"testing"
)

func TestDecodePeerings(t *testing.T) {
	ps, err := DecodePeerings([]byte(`[{"ID":"1","Name":"acceptor","State":"ACTIVE","StreamStatus":{"ImportedServices":["web"],` +
		`"LastHeartbeat":"2026-12-03T13:50:01Z","LastReceive":"2026-12-03T13:50:02Z","LastSend":"2026-12-03T13:50:03Z"}},` +
		`{"ID":"2","Name":"other","State":"PENDING","StreamStatus":{}},{"ID":"3","Name":"acceptor","State":"FAILING"},{"ID":"4","Name":"old","State":"ACTIVE"}]`))
	if err != nil {
		t.Fatal(err)
	}
	if len(ps) != 3 {
		t.Fatalf("want 3 peerings (a name once), got %+v", ps)
	}
	a := ps[0]
	if a.Name != "acceptor" || a.State != "ACTIVE" || *a.ImportedServices != 1 || *a.ExportedServices != 0 {
		t.Errorf("got %+v", a)
	}
	if a.LastHeartbeat.Unix() != 1796305801 || a.LastReceive.Unix() != 1796305802 || a.LastSend.Unix() != 1796305803 {
		t.Errorf("times %v %v %v", a.LastHeartbeat, a.LastReceive, a.LastSend)
	}
	if p := ps[1]; p.LastHeartbeat != nil || p.LastReceive != nil || *p.ImportedServices != 0 {
		t.Errorf("a stream with nothing yet: got %+v", p)
	}
	if p := ps[2]; p.ImportedServices != nil || p.LastSend != nil {
		t.Errorf("no StreamStatus: counts and times absent, got %+v", p)
	}
	if ps, err := DecodePeerings([]byte(`null`)); err != nil || len(ps) != 0 {
		t.Errorf("null: %v %v", ps, err)
	}
	for body, want := range map[string]string{
		`{}`:                   "want a JSON list of peerings",
		`[{"State":"ACTIVE"}]`: "without a Name",
		`[{"Name":"` + strings.Repeat("x", 600) + `"}]`:                      "more than 512 bytes",
		"[" + strings.Repeat(`{"Name":"a"},`, MaxPeerings) + `{"Name":"a"}]`: "more than 1024",
		`[{"Name":"a","StreamStatus":{"LastSend":7}}]`:                       "not a JSON string",
	} {
		if _, err := DecodePeerings([]byte(body)); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("DecodePeerings(%.40q) = %v, want an error with %q", body, err, want)
		}
	}
}
