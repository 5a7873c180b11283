//go:build integration

package integration

import (
	"fmt"
	"testing"
	"time"

	"github.com/consul-status-exporter/consul_status_exporter/internal/consultest"
)

// TestVersionSkew: a three-server cluster with one server on Consul 1.20.6
// and two on 1.22.6 (ACLs on with default deny, autopilot's
// max_trailing_logs lowered to 20), then that server upgraded in place: the
// exporter's autopilot version info and configuration agree with Consul
// before and after.
func TestVersionSkew(t *testing.T) {
	old, cur := consultest.Binary(t, "tools/consul-1.20"), pinned(t)
	c := consultest.Start(t, consultest.Options{Servers: 3, Octet: octetVersionSkew, Binary: cur, ServerBinaries: []string{old},
		ACLToken: managementToken, MaxTrailingLogs: 20})
	s1, s2 := c.Agent("s1"), c.Agent("s2")
	e := policyExporter(t, c, s2, c.MakeToken("exporter", exporterPolicy(t), ""))

	versions := func(want map[string]int) func() error {
		return func() error {
			s, err := e.TryScrape(nil)
			if err != nil {
				return err
			}
			got := map[string]int{}
			for _, m := range s.Families["consul_autopilot_server_version_info"].GetMetric() {
				for _, lp := range m.Label {
					if lp.GetName() == "version" {
						got[lp.GetValue()]++
					}
				}
			}
			if fmt.Sprint(got) != fmt.Sprint(want) {
				return fmt.Errorf("versions %v, want %v", got, want)
			}
			return nil
		}
	}

	t.Run("one server on 1.20.6", func(t *testing.T) {
		poll(t, 60*time.Second, time.Second, "autopilot lists the three servers", versions(map[string]int{"1.20.6": 1, "1.22.6": 2}))
		s := agree(t, e, "mixed versions", autopilotTruth(c, s2), same, "consul_autopilot_config_", "consul_autopilot_server_version_info")
		endpointsSucceed(t, s, "autopilot", "autopilot_config")
		if v := s.Must(t, "consul_autopilot_config_max_trailing_logs"); v != 20 {
			t.Errorf("max_trailing_logs %v, want the configured 20", v)
		}
	})

	t.Run("upgraded to 1.22.6", func(t *testing.T) {
		c.Upgrade(s1, cur)
		if _, err := c.WaitLeader(60 * time.Second); err != nil {
			t.Fatal(err)
		}
		poll(t, 90*time.Second, time.Second, "autopilot lists 1.22.6 only", versions(map[string]int{"1.22.6": 3}))
		agree(t, e, "one version", autopilotTruth(c, s2), same, "consul_autopilot_config_", "consul_autopilot_server_version_info")
	})
}
