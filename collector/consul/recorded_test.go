package consul

import (
	"os"
	"path/filepath"
	"testing"
)

// The endpoints beyond one datacenter, decoded as real Consul answered them
// (fixtures/real-dc-*, real-peering-* from 1.22.6 and real-1.20-* from
// 1.20.6, which serves every field the exporter reads: recorded by
// TestRecordMultiDC).
func TestDecodeRecordedMultiDC(t *testing.T) {
	read := func(scenario, file string) []byte {
		t.Helper()
		b, err := os.ReadFile(filepath.Join("..", "..", "fixtures", scenario, file))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	for _, prefix := range []string{"real-", "real-1.20-"} {
		r, err := DecodeACLReplication(read(prefix+"dc-secondary", "acl_replication.json"))
		if err != nil || !r.Enabled || !r.Running || r.SourceDatacenter != "dc1" || r.ReplicationType != "tokens" ||
			r.Tokens == nil || *r.Tokens == 0 || r.LastSuccess == nil || r.LastError != nil {
			t.Errorf("%sdc-secondary replication: %+v, %v", prefix, r, err)
		}
		r, err = DecodeACLReplication(read(prefix+"dc-primary", "acl_replication.json"))
		if err != nil || r.Enabled || r.Running || r.LastSuccess != nil || r.LastError != nil {
			t.Errorf("%sdc-primary replication: %+v, %v", prefix, r, err)
		}
		dcs, err := DecodeDatacenters(read(prefix+"dc-secondary", "datacenters.json"))
		if err != nil || len(dcs) != 2 {
			t.Errorf("%sdc-secondary datacenters: %v, %v", prefix, dcs, err)
		}
		c, err := DecodeAutopilotConfig(read(prefix+"dc-secondary", "autopilot_config.json"))
		if err != nil || c.MaxTrailingLogs == nil || *c.MaxTrailingLogs != 250 || c.ServerStabilizationTime.Seconds() != 2 {
			t.Errorf("%sdc-secondary autopilot configuration: %+v, %v", prefix, c, err)
		}
		if ps, err := DecodePeerings(read(prefix+"dc-secondary", "peerings.json")); err != nil || len(ps) != 0 {
			t.Errorf("%sdc-secondary peerings: %+v, %v", prefix, ps, err)
		}
		ps, err := DecodePeerings(read(prefix+"peering-dialer", "peerings.json"))
		if err != nil || len(ps) != 1 || ps[0].State != "ACTIVE" || *ps[0].ImportedServices != 1 || *ps[0].ExportedServices != 0 ||
			ps[0].LastHeartbeat == nil || ps[0].LastReceive == nil || ps[0].LastSend == nil {
			t.Errorf("%speering-dialer: %+v, %v", prefix, ps, err)
		}
		ps, err = DecodePeerings(read(prefix+"peering-acceptor", "peerings.json"))
		if err != nil || len(ps) != 1 || ps[0].Name != "dialer" || *ps[0].ImportedServices != 0 || *ps[0].ExportedServices != 1 {
			t.Errorf("%speering-acceptor: %+v, %v", prefix, ps, err)
		}
	}
}
