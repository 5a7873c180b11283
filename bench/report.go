package main

import (
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"time"

	"github.com/prometheus/procfs"
)

type machine struct {
	cpu, goVersion, revision, consul string
	cpus                             int
	loadStart, loadEnd               string
}

func machineNotes(root string) machine {
	m := machine{goVersion: runtime.Version(), cpus: runtime.NumCPU(), loadStart: loadAvg()}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				m.cpu = strings.TrimSpace(v)
				break
			}
		}
	}
	m.revision = commandLine("git", "-C", root, "describe", "--always", "--dirty")
	return m
}

// commandLine is the first line a command prints, or "?".
func commandLine(name string, args ...string) string {
	out, err := exec.Command(name, args...).Output()
	if err != nil {
		return "?"
	}
	line, _, _ := strings.Cut(strings.TrimSpace(string(out)), "\n")
	return line
}

// loadAvg is the 1, 5 and 15 minute load average: other people's work on
// the same cores shows here.
func loadAvg() string {
	fs, err := procfs.NewDefaultFS()
	if err != nil {
		return "?"
	}
	l, err := fs.LoadAvg()
	if err != nil {
		return "?"
	}
	return fmt.Sprintf("%.2f %.2f %.2f", l.Load1, l.Load5, l.Load15)
}

type report struct {
	opts      *options
	machine   machine
	ceVersion string

	subjects                           []*subject
	floor, ours, ceDefault, ceNoHealth *subject
	// consulIdle is the agent's own background CPU, in CPU-seconds per
	// second, taken off its CPU under load.
	consulIdle float64
	// Indexed like subjects[1:], the exporters.
	goroutinesBefore, goroutinesAfter []int
	memEnd                            []mem

	longRun      bool
	longErrors   int
	longFirstErr error

	slow  []*slowResult
	fleet *fleetResult
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
func mb(b int64) float64         { return float64(b) / 1e6 }

// cpuPer1000 is the CPU-seconds the subject's process spent per 1,000
// requests of the phase.
func cpuPer1000(ph *phase) float64 {
	return ph.cpu / float64(len(ph.lat)) * 1000
}

// consulPer1000 is the Consul agent's CPU-seconds per 1,000 requests of
// the phase, less what it spends idle in the same time.
func (r *report) consulPer1000(ph *phase) float64 {
	busy := ph.consulCPU - r.consulIdle*ph.wall.Seconds()
	return max(busy, 0) / float64(len(ph.lat)) * 1000
}

func (r *report) print(w io.Writer) {
	o := r.opts
	fmt.Fprintf(w, "## Run\n\n")
	fmt.Fprintf(w, "- Command: `%s`\n", strings.Join(append([]string{"go run ./bench"}, os.Args[1:]...), " "))
	fmt.Fprintf(w, "- Machine: %d × %s, %s/%s, %s; load average (1/5/15 min) %s at start, %s at end — the cores are shared with other people's work\n",
		r.machine.cpus, r.machine.cpu, runtime.GOOS, runtime.GOARCH, r.machine.goVersion, r.machine.loadStart, r.machine.loadEnd)
	fmt.Fprintf(w, "- Exporter: built from the working tree at `%s`\n", r.machine.revision)
	if o.fleetOnly {
		fmt.Fprintln(w)
	}
	if !o.fleetOnly {
		fmt.Fprintf(w, "- Consul: `%s`, dev agent on 127.0.0.1; its idle background CPU, %.4f CPU-s/s, is taken off its CPU under load\n", r.machine.consul, r.consulIdle)
		fmt.Fprintf(w, "- consul_exporter %s, default flags, and with --no-consul.health-summary\n", r.ceVersion)
		fmt.Fprintf(w, "- Scrapes: %d per subject per concurrency, in turns of %d (floor, exporter, consul_exporter, consul_exporter --no-consul.health-summary, …); Prometheus's Accept header, gzip accepted: %v, keep-alive; the floor is Consul's leader, peers and agent/self requested at once without gzip\n", o.n, o.batch, o.gzip)
		fmt.Fprintf(w, "- CPU from /proc/<pid>/stat utime+stime; memory from /proc/<pid>/status VmRSS and VmHWM (both read by procfs); MB = 10⁶ bytes\n\n")
		r.printLatency(w)
		r.printMemory(w)
		r.printSlow(w)
	}
	if r.fleet != nil {
		r.printFleet(w)
	}
	r.printTargets(w)
}

func (r *report) printLatency(w io.Writer) {
	fmt.Fprintf(w, "## Latency and CPU per scrape\n\n")
	fmt.Fprintf(w, "| subject | conc. | n | p50 ms | p90 ms | p99 ms | errors | process CPU-s / 1000 | Consul CPU-s / 1000 | p50 ÷ floor | p50 ÷ consul_exporter | CPU ÷ consul_exporter |\n")
	fmt.Fprintf(w, "|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|\n")
	for _, c := range r.opts.concs {
		fl, ce := r.floor.phases[c], r.ceDefault.phases[c]
		for _, s := range r.subjects {
			ph := s.phases[c]
			p50 := percentile(ph.lat, .5)
			proc, vsFloor, vsCE, cpuVsCE := "—", "—", "—", "—"
			if s != r.floor {
				proc = fmt.Sprintf("%.3f", cpuPer1000(ph))
				vsFloor = fmt.Sprintf("%.2f", ms(p50)/ms(percentile(fl.lat, .5)))
				vsCE = fmt.Sprintf("%.2f", ms(p50)/ms(percentile(ce.lat, .5)))
				cpuVsCE = fmt.Sprintf("%.2f", cpuPer1000(ph)/cpuPer1000(ce))
			}
			fmt.Fprintf(w, "| %s | %d | %d | %.3f | %.3f | %.3f | %d | %s | %.3f | %s | %s | %s |\n",
				s.name, c, len(ph.lat), ms(p50), ms(percentile(ph.lat, .9)), ms(percentile(ph.lat, .99)),
				ph.errors, proc, r.consulPer1000(ph), vsFloor, vsCE, cpuVsCE)
		}
	}
	fmt.Fprintln(w)
	for _, s := range r.subjects {
		for _, c := range r.opts.concs {
			if ph := s.phases[c]; ph.firstErr != nil {
				fmt.Fprintf(w, "- %s at concurrency %d, first error: %v\n", s.name, c, ph.firstErr)
			}
		}
	}
}

func (r *report) printMemory(w io.Writer) {
	fmt.Fprintf(w, "## Memory and goroutines\n\n")
	fmt.Fprintf(w, "| exporter | scrapes at end | RSS after 1,000 MB | peak after 1,000 MB | RSS at end MB | peak at end MB | goroutines before → after |\n")
	fmt.Fprintf(w, "|---|--:|--:|--:|--:|--:|--:|\n")
	for i, s := range r.subjects[1:] {
		rss1k, hwm1k := "—", "—"
		if s.mem1k != nil {
			rss1k, hwm1k = fmt.Sprintf("%.1f", mb(s.mem1k.rss)), fmt.Sprintf("%.1f", mb(s.mem1k.hwm))
		}
		fmt.Fprintf(w, "| %s | %d | %s | %s | %.1f | %.1f | %d → %d |\n", s.name, s.done, rss1k, hwm1k,
			mb(r.memEnd[i].rss), mb(r.memEnd[i].hwm), r.goroutinesBefore[i], r.goroutinesAfter[i])
	}
	fmt.Fprintf(w, "\nGoroutines are read from each exporter's go_goroutines over a fresh connection after the harness closed its idle ones, before the measured scrapes and after the last.\n\n")
}

func (r *report) printSlow(w io.Writer) {
	if len(r.slow) == 0 {
		return
	}
	fmt.Fprintf(w, "## Slow agent: every Consul answer %s late\n\n", r.opts.slowDelay)
	fmt.Fprintf(w, "| exporter | scrapes | slowest s | p50 s | consul_up 0 | errors |\n|---|--:|--:|--:|--:|--:|\n")
	for _, s := range r.slow {
		fmt.Fprintf(w, "| %s | %d | %.3f | %.3f | %d | %d |\n", s.name, len(s.lat), s.max().Seconds(), percentile(s.lat, .5).Seconds(), s.upZero, s.errs)
	}
	for _, s := range r.slow {
		if s.lastErr != nil {
			fmt.Fprintf(w, "\n- %s, last problem: %v\n", s.name, s.lastErr)
		}
	}
	fmt.Fprintln(w)
}

func (r *report) printFleet(w io.Writer) {
	f := r.fleet
	fmt.Fprintf(w, "## /probe fleet\n\n")
	fmt.Fprintf(w, "| agents | conc. | seconds | probes | probes/s | p50 ms | p99 ms | errors | exporter CPU-s / 1000 probes | harness CPU-s / 1000 probes | RSS at end MB |\n")
	fmt.Fprintf(w, "|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|\n")
	per1000 := func(t float64) float64 { return t / float64(len(f.lat)) * 1000 }
	fmt.Fprintf(w, "| %d | %d | %.1f | %d | %.0f | %.3f | %.3f | %d | %.3f | %.3f | %.1f |\n\n", f.agents, f.conc, f.elapsed.Seconds(), len(f.lat), f.rate(),
		ms(percentile(f.lat, .5)), ms(percentile(f.lat, .99)), f.errs, per1000(f.cpuSeconds), per1000(f.harnessSeconds), mb(f.mem.rss))
	fmt.Fprintf(w, "The harness (probing clients and the %d fake agents) runs on the same cores as the exporter.\n\n", f.agents)
	if f.firstErr != nil {
		fmt.Fprintf(w, "- first error: %v\n\n", f.firstErr)
	}
}

func verdict(ok bool) string {
	if ok {
		return "PASS"
	}
	return "FAIL"
}

func (r *report) printTargets(w io.Writer) {
	fmt.Fprintf(w, "## Targets\n\n")
	line := func(v, text string, args ...any) { fmt.Fprintf(w, "- **%s** %s\n", v, fmt.Sprintf(text, args...)) }
	if !r.opts.fleetOnly {
		for _, c := range r.opts.concs {
			ours, fl, ce := r.ours.phases[c], r.floor.phases[c], r.ceDefault.phases[c]
			p50, fp50, cp50 := ms(percentile(ours.lat, .5)), ms(percentile(fl.lat, .5)), ms(percentile(ce.lat, .5))
			line(verdict(ours.errors == 0), "c=%d: every scrape answered consul_up 1 (%d errors of %d)", c, ours.errors, len(ours.lat))
			line(verdict(p50 <= 1.5*fp50), "c=%d: exporter p50 ≤ 1.5 × floor p50: %.3f ms vs %.3f ms (ratio %.2f)", c, p50, 1.5*fp50, p50/fp50)
			line(verdict(p50 <= 0.3*cp50), "c=%d: exporter p50 ≤ 0.3 × consul_exporter p50: %.3f ms vs %.3f ms (ratio %.2f)", c, p50, 0.3*cp50, p50/cp50)
			cpu, ccpu := cpuPer1000(ours), cpuPer1000(ce)
			line(verdict(cpu <= 0.25*ccpu), "c=%d: exporter CPU ≤ 0.25 × consul_exporter's: %.3f vs %.3f CPU-s per 1000 scrapes (ratio %.2f)", c, cpu, 0.25*ccpu, cpu/ccpu)
			kcpu := r.consulPer1000(fl)
			line(verdict(cpu <= kcpu), "c=%d: exporter CPU per scrape ≤ Consul's CPU per request triple: %.3f vs %.3f ms (ratio %.2f)", c, cpu, kcpu, cpu/kcpu)
		}
		m1k, end := r.ours.mem1k, r.memEnd[0]
		switch {
		case !r.longRun:
			line("SKIP", "RSS after %d scrapes within 2 MB of after 1,000: no long run (-long ≤ scrapes done)", r.ours.done)
		case m1k == nil:
			line("FAIL", "RSS after 1,000 scrapes was never read")
		default:
			d := end.rss - m1k.rss
			line(verdict(d <= 2e6 && d >= -2e6), "RSS after %d scrapes within 2 MB of after 1,000: %.1f MB vs %.1f MB (%+.1f MB)", r.ours.done, mb(end.rss), mb(m1k.rss), mb(d))
		}
		if r.longRun {
			first := ""
			if r.longFirstErr != nil {
				first = "; first: " + r.longFirstErr.Error()
			}
			line(verdict(r.longErrors == 0), "the %d-scrape run answered consul_up 1 throughout (%d errors%s)", r.ours.done, r.longErrors, first)
		}
		gb, ga := r.goroutinesBefore[0], r.goroutinesAfter[0]
		line(verdict(gb == ga), "goroutines unchanged after %d scrapes: %d → %d", r.ours.done, gb, ga)
		line(verdict(end.rss <= 20e6), "RSS ≤ 20 MB after %d scrapes: %.1f MB (peak %.1f MB)", r.ours.done, mb(end.rss), mb(end.hwm))
		if len(r.slow) > 0 {
			s := r.slow[0]
			ok := s.errs == 0 && s.upZero == len(s.lat) && s.max() < r.opts.slowDelay
			line(verdict(ok), "slow agent: every scrape < %s (the delay) with consul_up 0: slowest %.3f s, %d of %d with consul_up 0, %d errors",
				r.opts.slowDelay, s.max().Seconds(), s.upZero, len(s.lat), s.errs)
			for _, o := range r.slow[1:] {
				line("INFO", "slow agent, %s: slowest %.3f s, p50 %.3f s, %d of %d with consul_up 0", o.name, o.max().Seconds(), percentile(o.lat, .5).Seconds(), o.upZero, len(o.lat))
			}
		}
	}
	switch f := r.fleet; {
	case !r.opts.fleet:
		line("SKIP", "fleet ≥ 1,500 probes/s with p99 < 50 ms and no errors: not run (-fleet)")
	case f == nil:
		line("ERROR", "fleet: %v", errNoProbe)
	default:
		p99 := percentile(f.lat, .99)
		line(verdict(f.rate() >= 1500 && p99 < 50*time.Millisecond && f.errs == 0),
			"fleet ≥ 1,500 probes/s with p99 < 50 ms and no errors: %.0f probes/s, p99 %.3f ms, %d errors", f.rate(), ms(p99), f.errs)
	}
}
