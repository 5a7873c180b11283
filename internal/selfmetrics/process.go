// Package selfmetrics holds the exporter's metrics about itself that
// client_golang's stock collectors make too expensive to gather on every
// scrape.
package selfmetrics

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/procfs"
)

// ProcessCollector exports the standard process_* metrics, with
// client_golang's names and help texts, at a fraction of the cost of
// collectors.NewProcessCollector, which on every scrape also
//   - reads /proc/stat (a few KB, one line per CPU) for the boot time, to
//     compute a start time that never changes: here it is computed once;
//   - reads /proc/self/net/netstat for process_network_*_bytes_total, which
//     are the whole network namespace's counters, not this process's: they
//     are left out;
//   - parses /proc/self/limits with regular expressions: it is read once,
//     as limits only change if another process calls prlimit(2) on this one.
//
// Measured: the stock collector was ~19 % of a scrape's CPU profile
// (docs/benchmarks.md, "What was changed, with what it measured"). Its
// ProcessCollectorOpts (PidFn, Namespace, ReportErrors) offer no way to
// leave either out.
type ProcessCollector struct {
	proc             procfs.Proc
	startTime        float64
	maxFDs, maxVsize float64
	limitsOK         bool
	ok               bool
}

var (
	cpuDesc       = prometheus.NewDesc("process_cpu_seconds_total", "Total user and system CPU time spent in seconds.", nil, nil)
	openFDsDesc   = prometheus.NewDesc("process_open_fds", "Number of open file descriptors.", nil, nil)
	maxFDsDesc    = prometheus.NewDesc("process_max_fds", "Maximum number of open file descriptors.", nil, nil)
	vsizeDesc     = prometheus.NewDesc("process_virtual_memory_bytes", "Virtual memory size in bytes.", nil, nil)
	maxVsizeDesc  = prometheus.NewDesc("process_virtual_memory_max_bytes", "Maximum amount of virtual memory available in bytes.", nil, nil)
	rssDesc       = prometheus.NewDesc("process_resident_memory_bytes", "Resident memory size in bytes.", nil, nil)
	startTimeDesc = prometheus.NewDesc("process_start_time_seconds", "Start time of the process since unix epoch in seconds.", nil, nil)
)

// NewProcessCollector returns a collector for this process. Where /proc is
// missing (not Linux) it collects nothing.
func NewProcessCollector() *ProcessCollector {
	c := &ProcessCollector{}
	p, err := procfs.Self()
	if err != nil {
		return c
	}
	stat, err := p.Stat()
	if err != nil {
		return c
	}
	if c.startTime, err = stat.StartTime(); err != nil {
		return c
	}
	if l, err := p.Limits(); err == nil {
		c.maxFDs, c.maxVsize, c.limitsOK = float64(l.OpenFiles), float64(l.AddressSpace), true
	}
	c.proc, c.ok = p, true
	return c
}

// Describe implements prometheus.Collector.
func (c *ProcessCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{cpuDesc, openFDsDesc, maxFDsDesc, vsizeDesc, maxVsizeDesc, rssDesc, startTimeDesc} {
		ch <- d
	}
}

// Collect implements prometheus.Collector. A reading that fails is left
// out, as the stock collector does by default: process metrics are a
// mix-in that must not fail the scrape.
func (c *ProcessCollector) Collect(ch chan<- prometheus.Metric) {
	if !c.ok {
		return
	}
	ch <- prometheus.MustNewConstMetric(startTimeDesc, prometheus.GaugeValue, c.startTime)
	if stat, err := c.proc.Stat(); err == nil {
		ch <- prometheus.MustNewConstMetric(cpuDesc, prometheus.CounterValue, stat.CPUTime())
		ch <- prometheus.MustNewConstMetric(vsizeDesc, prometheus.GaugeValue, float64(stat.VirtualMemory()))
		ch <- prometheus.MustNewConstMetric(rssDesc, prometheus.GaugeValue, float64(stat.ResidentMemory()))
	}
	if n, err := c.proc.FileDescriptorsLen(); err == nil {
		ch <- prometheus.MustNewConstMetric(openFDsDesc, prometheus.GaugeValue, float64(n))
	}
	if c.limitsOK {
		ch <- prometheus.MustNewConstMetric(maxFDsDesc, prometheus.GaugeValue, c.maxFDs)
		ch <- prometheus.MustNewConstMetric(maxVsizeDesc, prometheus.GaugeValue, c.maxVsize)
	}
}
