package collector

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

// Every Desc of the contract belongs to exactly one unit, or to the loop;
// every unit has a name of its own, and a core unit is always on.
func TestScrapersOwnTheContract(t *testing.T) {
	owner := map[*prometheus.Desc]string{}
	for _, d := range []*prometheus.Desc{upDesc, endpointUpDesc, endpointTimeDesc} {
		owner[d] = "the loop"
	}
	names := map[string]bool{}
	for _, u := range scrapers {
		if names[u.Name()] {
			t.Errorf("two units named %q", u.Name())
		}
		names[u.Name()] = true
		if u.Requests() < 1 {
			t.Errorf("%s: Requests() = %d", u.Name(), u.Requests())
		}
		if u.Core() && !u.Enabled(Options{}) {
			t.Errorf("%s: a core unit that the options can turn off", u.Name())
		}
		for _, d := range u.Descs() {
			if o, ok := owner[d]; ok {
				t.Errorf("%v: declared by %s and by %s", d, o, u.Name())
			}
			owner[d] = u.Name()
		}
	}
	for _, m := range table {
		if _, ok := owner[m.desc]; !ok {
			t.Errorf("%s: in the metric table but in no unit's Descs", m.name)
		}
	}
	if len(owner) != len(table) {
		t.Errorf("%d Descs owned, %d in the table", len(owner), len(table))
	}
}

// The options turn on exactly the optional units they name.
func TestOptionsEnableUnits(t *testing.T) {
	names := func(c *Collector) (out []string) {
		for _, u := range c.units {
			out = append(out, u.Name())
		}
		return out
	}
	if got := names(New(nil)); len(got) != 3 {
		t.Errorf("default units %v, want the three core ones", got)
	}
	got := names(New(nil, Options{Autopilot: true, Members: true}))
	if len(got) != 5 || got[3] != endpointAutopilot || got[4] != endpointMembers {
		t.Errorf("with autopilot and members: units %v", got)
	}
}
