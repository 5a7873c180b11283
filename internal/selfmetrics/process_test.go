package selfmetrics

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	dto "github.com/prometheus/client_model/go"
)

func gather(t *testing.T, c prometheus.Collector) map[string]*dto.MetricFamily {
	t.Helper()
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(c)
	fams, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]*dto.MetricFamily{}
	for _, f := range fams {
		out[f.GetName()] = f
	}
	return out
}

func value(f *dto.MetricFamily) float64 {
	m := f.GetMetric()[0]
	if m.GetCounter() != nil {
		return m.GetCounter().GetValue()
	}
	return m.GetGauge().GetValue()
}

// The lean collector says what the stock one says, under the same names,
// types and help, less the namespace-wide network counters.
func TestMatchesStockProcessCollector(t *testing.T) {
	// The stock collector reads before and after the lean one: memory can
	// grow in between (the Go runtime reserves heap arenas 64 MiB at a
	// time, and -race maps more), so the lean value is held to the range
	// the two stock readings span, with the tolerances below around it.
	stock := gather(t, collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	lean := gather(t, NewProcessCollector())
	after := gather(t, collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	if len(lean) != 7 {
		t.Fatalf("lean collector has %d metrics, want 7", len(lean))
	}
	for name, f := range lean {
		s, ok := stock[name]
		if !ok {
			t.Errorf("%s is not a stock process metric", name)
			continue
		}
		if f.GetHelp() != s.GetHelp() || f.GetType() != s.GetType() {
			t.Errorf("%s: help/type %q/%v, stock %q/%v", name, f.GetHelp(), f.GetType(), s.GetHelp(), s.GetType())
		}
		tolerance := 0.0
		switch name {
		case "process_cpu_seconds_total":
			tolerance = 0.5
		case "process_resident_memory_bytes", "process_virtual_memory_bytes":
			tolerance = 64 << 20
		case "process_start_time_seconds":
			tolerance = 0.02
		case "process_open_fds":
			tolerance = 2
		}
		lo, hi := min(value(s), value(after[name])), max(value(s), value(after[name]))
		if v := value(f); v < lo-tolerance || v > hi+tolerance {
			t.Errorf("%s = %v, stock says %v before and %v after", name, v, value(s), value(after[name]))
		}
	}
	for name := range stock {
		if _, ok := lean[name]; !ok && name != "process_network_receive_bytes_total" && name != "process_network_transmit_bytes_total" {
			t.Errorf("stock metric %s missing", name)
		}
	}
}
