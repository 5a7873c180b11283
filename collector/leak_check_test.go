package collector

import (
	"runtime"
	"strings"
	"testing"
	"time"
)

// exporterStackMarks pick out the goroutines that belong to the exporter's
// side of a scrape: the HTTP client's connections and dials, and the
// collector's own work.
var exporterStackMarks = []string{
	"net/http.(*persistConn)",
	"net/http.(*Transport)",
	"/collector.(*consul.Agent)",
	"/collector.(*Collector)",
}

// exporterGoroutines returns the stacks of the exporter's goroutines.
func exporterGoroutines() []string {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	var out []string
	for _, g := range strings.Split(string(buf), "\n\n") {
		for _, m := range exporterStackMarks {
			if strings.Contains(g, m) {
				out = append(out, g)
				break
			}
		}
	}
	return out
}

// waitExporterIdle fails t unless the exporter's goroutines are all gone
// within d.
func waitExporterIdle(t *testing.T, d time.Duration) {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		left := exporterGoroutines()
		if len(left) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d exporter goroutines still running after %v:\n%s", len(left), d, strings.Join(left, "\n\n"))
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// waitGoroutines fails t unless the goroutine count drops to at most
// baseline+slack within d.
func waitGoroutines(t *testing.T, baseline, slack int, d time.Duration) {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		n := runtime.NumGoroutine()
		if n <= baseline+slack {
			return
		}
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			buf = buf[:runtime.Stack(buf, true)]
			t.Fatalf("%d goroutines after %v, baseline %d (+%d allowed):\n%s", n, d, baseline, slack, buf)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// totalAlloc is the bytes allocated so far, after a collection so that the
// next reading is not skewed by garbage of earlier tests.
func totalAlloc() uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.TotalAlloc
}
