package consul

import (
	"slices"
	"strings"
	"testing"
)

func TestDecodeDatacenters(t *testing.T) {
	dcs, err := DecodeDatacenters([]byte(`["dc1","dc2","dc1"]`))
	if err != nil || !slices.Equal(dcs, []string{"dc1", "dc2"}) {
		t.Errorf("got %v, %v", dcs, err)
	}
	for body, want := range map[string]string{
		`{}`:   "want a JSON list of datacenters",
		`[""]`: "0 bytes",
		`[1]`:  "want a JSON list of datacenters",
		"[" + strings.Repeat(`"a",`, MaxDatacenters) + `"b"]`: "more than 256",
	} {
		if _, err := DecodeDatacenters([]byte(body)); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("DecodeDatacenters(%.40q) = %v, want an error with %q", body, err, want)
		}
	}
}

func TestDecodeAutopilotConfig(t *testing.T) {
	c, err := DecodeAutopilotConfig([]byte(`{"CleanupDeadServers":true,"LastContactThreshold":"200ms","MaxTrailingLogs":250,` +
		`"MinQuorum":0,"ServerStabilizationTime":"10s","RedundancyZoneTag":"","DisableUpgradeMigration":false,"UpgradeVersionTag":"","CreateIndex":5,"ModifyIndex":5}`))
	if err != nil {
		t.Fatal(err)
	}
	if !*c.CleanupDeadServers || c.LastContactThreshold.Seconds() != 0.2 || *c.MaxTrailingLogs != 250 || *c.MinQuorum != 0 || c.ServerStabilizationTime.Seconds() != 10 {
		t.Errorf("got %+v", c)
	}
	for body, want := range map[string]string{
		`{}`: "none of autopilot's settings",
		`{"MaxTrailingLogs":1,"LastContactThreshold":"soon"}`: `LastContactThreshold: "soon"`,
		`{"MaxTrailingLogs":"many"}`:                          "MaxTrailingLogs",
		`[]`:                                                  "want a JSON object",
	} {
		if _, err := DecodeAutopilotConfig([]byte(body)); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("DecodeAutopilotConfig(%q) = %v, want an error with %q", body, err, want)
		}
	}
}
