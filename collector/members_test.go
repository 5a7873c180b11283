package collector

import (
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/consul-status-exporter/consul_status_exporter/collector/consul"
	"github.com/consul-status-exporter/consul_status_exporter/internal/consultest"
)

// answerPools answers the LAN question with lan and the WAN one with wan,
// written as they are (no copy per request, so that the allocations counted
// are the exporter's).
func answerPools(lan, wan []byte) behaviour {
	return func(f *fakeConsul, c net.Conn, req *http.Request) bool {
		b := lan
		if req.URL.Query().Get("wan") == "1" {
			b = wan
		}
		return writeHead(c, 200, "application/json", int64(len(b))) && writeBody(nil, c, b)
	}
}

// --collector.members.servers-only at 50,000 realistic members (18 MB, four
// times the body cap) in the LAN pool and 3 servers in the WAN pool: the
// servers are exported, and the scrape allocates a fraction of what it
// reads, since clients are skipped in the stream.
func TestMembersServersOnlyAt50000(t *testing.T) {
	warmUpExporter(t)
	const n = 50000
	list := []byte(consultest.JSONList(n, func(i int) string { return consultest.RealisticMember(i, i%10000 == 7) }))
	if len(list) < 4*consul.MaxBodyBytes {
		t.Fatalf("the list is only %d bytes", len(list))
	}
	wan := []byte(consultest.JSONList(3, func(i int) string { return consultest.RealisticMember(i, true) }))
	fake := startFakeConsul(t, map[string]behaviour{consul.PathMembers: answerPools(list, wan)})
	defer fake.Close(t)
	allocated := totalAlloc()
	// Generous: 18 MB decoded under the race detector on a shared machine.
	r := scrapeExporterWith(t, fake.URL(), HandlerOptions{Timeout: 30 * time.Second,
		Collectors: Options{Members: true, MembersServersOnly: true}}, mustClient(t, testToken))
	grew := totalAlloc() - allocated
	r.checkOutcome(t, nil)
	if r.metrics[`consul_scrape_endpoint_success{endpoint="members"}`] != "1" {
		t.Fatalf("members failed:\n%s", r.log)
	}
	kept := 0
	for series := range r.metrics {
		if strings.HasPrefix(series, "consul_serf_member_info{") {
			kept++
			if !strings.Contains(series, `role="consul"`) {
				t.Errorf("a client was exported: %s", series)
			}
		}
	}
	if kept != 5+3 {
		t.Errorf("%d members exported, want the 5 LAN servers and the 3 WAN ones", kept)
	}
	if grew > uint64(len(list))/4 {
		t.Errorf("the scrape allocated %d MiB for %d MiB of members: not streamed", grew>>20, len(list)>>20)
	}
	t.Logf("%.1f MB of members in %v, %.1f MiB allocated", float64(len(list))/1e6, r.took, float64(grew)/(1<<20))
}
