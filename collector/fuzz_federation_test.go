package collector

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/consul-status-exporter/consul_status_exporter/collector/consul"
)

// The endpoints beyond one datacenter held to the same promise as the
// others (fuzz_test.go): an error fit for one log line, or samples a
// pedantic registry takes, whatever the answer.

// recordedBodies seeds a target with every fixture answer named file, the
// real Consul recordings and the hostile ones alike.
func recordedBodies(f *testing.F, file string, more ...string) {
	paths, _ := filepath.Glob(filepath.Join("..", "fixtures", "*", file))
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	for _, s := range more {
		f.Add([]byte(s))
	}
}

var shapeSeeds = []string{``, `null`, `[]`, `{}`, `[null]`, `"x"`, `1e400`, `<html>502</html>`, `{"a":1,}`}

func FuzzDecodePeerings(f *testing.F) {
	recordedBodies(f, "peerings.json", append(shapeSeeds,
		`[{"Name":"p","State":"ACTIVE","StreamStatus":{"LastHeartbeat":"0001-01-01T00:00:00Z","ImportedServices":["a"]}}]`,
		`[{"Name":"p","State":""},{"Name":"p","State":"FAILING"}]`,
		`[{"Name":"p","State":"active","ImportedServiceCount":-1e308}]`,
		`[{"Name":"p","StreamStatus":{"LastSend":"9999-12-31T23:59:59.999999999Z"}}]`,
		`[{"Name":"\ud800","State":"\u0000"}]`)...)
	f.Fuzz(func(t *testing.T, body []byte) {
		ps, err := consul.DecodePeerings(body)
		if err != nil {
			checkErr(t, err)
			return
		}
		samples, err := peeringSamples(ps, newSeriesBudget(1<<20))
		if err != nil {
			t.Fatalf("a budget of 2^20 series refused %d peerings: %v", len(ps), err)
		}
		checkSamples(t, samples)
	})
}

func FuzzDecodeACLReplication(f *testing.F) {
	recordedBodies(f, "acl_replication.json", append(shapeSeeds,
		`{"Enabled":true,"Running":false,"SourceDatacenter":"","ReplicationType":"tokens","LastError":"2026-12-03T16:00:00Z"}`,
		`{"Enabled":false,"Running":true,"ReplicatedIndex":-0,"LastSuccess":"1969-12-31T23:59:59Z"}`,
		`{"Enabled":true,"Running":true,"ReplicatedTokenIndex":1.7976931348623157e308}`,
		`{"Enabled":null,"Running":true}`)...)
	f.Fuzz(func(t *testing.T, body []byte) {
		r, err := consul.DecodeACLReplication(body)
		if err != nil {
			checkErr(t, err)
			return
		}
		checkSamples(t, aclReplicationSamples(r))
	})
}

func FuzzDecodeAutopilotConfig(f *testing.F) {
	recordedBodies(f, "autopilot_config.json", append(shapeSeeds,
		`{"CleanupDeadServers":true,"LastContactThreshold":"200ms","MaxTrailingLogs":250,"MinQuorum":0,"ServerStabilizationTime":"10s"}`,
		`{"LastContactThreshold":"-1s"}`, `{"LastContactThreshold":"2562048h"}`, `{"ServerStabilizationTime":"1"}`,
		`{"MinQuorum":-5e-324}`)...)
	f.Fuzz(func(t *testing.T, body []byte) {
		c, err := consul.DecodeAutopilotConfig(body)
		if err != nil {
			checkErr(t, err)
			return
		}
		checkSamples(t, autopilotConfigSamples(c))
	})
}

// FuzzDecodeDatacenters: each datacenter listed costs one request a scrape,
// so the list is bounded and names are unique, non-empty labels.
func FuzzDecodeDatacenters(f *testing.F) {
	recordedBodies(f, "datacenters.json", append(shapeSeeds,
		`["dc1","dc1","dc2"]`, `[""]`, `["\u0000"]`, `[1]`, `["dc1",null]`)...)
	f.Fuzz(func(t *testing.T, body []byte) {
		dcs, err := consul.DecodeDatacenters(body)
		if err != nil {
			checkErr(t, err)
			return
		}
		if len(dcs) > consul.MaxDatacenters {
			t.Fatalf("%d datacenters accepted, more than %d", len(dcs), consul.MaxDatacenters)
		}
		samples := make([]sample, 0, len(dcs))
		for _, dc := range dcs {
			if dc == "" {
				t.Fatal("an empty datacenter name accepted")
			}
			samples = append(samples, sample{desc: datacenterLeaderDesc, value: 1, labels: []string{dc}})
		}
		checkSamples(t, samples)
	})
}
