// Command bench measures consul_status_exporter against a real Consul dev
// agent on loopback: latency, CPU, memory and goroutines per scrape, next to
// the floor (Consul answering the same three requests directly) and to
// prometheus/consul_exporter, measured in turns in one run on one machine.
// It also times scrapes of an agent that answers late, and with -fleet the
// /probe endpoint against 100 fake agents.
//
// It prints a markdown report with PASS/FAIL per target on stdout and its
// progress on stderr. The exit code is 0 whatever the verdicts (it is a
// report) and 1 when the harness itself could not measure.
//
//	go run ./bench            # full run: 2,000 scrapes at concurrency 1 and 8, 10,000 for memory
//	go run ./bench -quick     # 200 scrapes, no 10,000-scrape run
//	go run ./bench -fleet     # also the /probe fleet load
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/consul-status-exporter/consul_status_exporter/internal/consultest"
)

type options struct {
	n, long, batch      int
	concs               []int
	idle                time.Duration
	slowDelay, slowTO   time.Duration
	slowN, slowCEN      int
	fleet, fleetOnly    bool
	fleetAgents, fleetC int
	fleetFor            time.Duration
	quick, gzip         bool
}

func parseFlags(args []string) (*options, error) {
	o := &options{}
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.BoolVar(&o.quick, "quick", false, "a short run: -n 200 -long 0 -slow-n 3 -slow-ce-n 1 -idle 1s unless set explicitly")
	fs.IntVar(&o.n, "n", 2000, "scrapes (or floor request triples) per subject at each concurrency")
	conc := fs.String("c", "1,8", "concurrency levels, comma-separated")
	fs.StringVar(&exporterEnv, "exporter-env", "", "extra environment for this exporter's process only, e.g. GOMAXPROCS=1")
	fs.BoolVar(&o.gzip, "gzip", true, "scrape with Accept-Encoding: gzip, as Prometheus does")
	fs.IntVar(&o.batch, "batch", 100, "requests per subject per turn: subjects take turns in batches of this size")
	fs.IntVar(&o.long, "long", 10000, "scrape the exporter until it has served this many before the final memory and goroutine reading (0: no long run)")
	fs.DurationVar(&o.idle, "idle", 3*time.Second, "how long to watch the idle Consul agent for its background CPU, subtracted from its CPU under load")
	fs.DurationVar(&o.slowDelay, "slow-delay", 600*time.Millisecond, "delay the slow-agent proxy adds to every Consul answer")
	fs.DurationVar(&o.slowTO, "slow-timeout", 500*time.Millisecond, "--consul.timeout of the exporter in the slow-agent case")
	fs.IntVar(&o.slowN, "slow-n", 10, "scrapes of the exporter in the slow-agent case")
	fs.IntVar(&o.slowCEN, "slow-ce-n", 2, "scrapes of consul_exporter in the slow-agent case (each takes seconds)")
	fs.BoolVar(&o.fleet, "fleet", false, "also measure /probe against a fleet of fake agents")
	fs.BoolVar(&o.fleetOnly, "fleet-only", false, "measure only the /probe fleet (no Consul, no consul_exporter)")
	fs.IntVar(&o.fleetAgents, "fleet-agents", 100, "fake agents in the fleet")
	fs.IntVar(&o.fleetC, "fleet-c", 16, "concurrent probes in the fleet")
	fs.DurationVar(&o.fleetFor, "fleet-duration", 30*time.Second, "how long to probe the fleet")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if o.quick {
		set := map[string]bool{}
		fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
		for name, v := range map[string]string{"n": "200", "long": "0", "slow-n": "3", "slow-ce-n": "1", "idle": "1s"} {
			if !set[name] {
				if err := fs.Set(name, v); err != nil {
					return nil, err
				}
			}
		}
	}
	for _, s := range strings.Split(*conc, ",") {
		c, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || c < 1 {
			return nil, fmt.Errorf("bad -c %q", *conc)
		}
		o.concs = append(o.concs, c)
	}
	if o.n < 1 || o.batch < 1 || o.slowN < 1 || o.fleetAgents < 1 || o.fleetC < 1 {
		return nil, errors.New("-n, -batch, -slow-n, -fleet-agents and -fleet-c must be positive")
	}
	o.fleet = o.fleet || o.fleetOnly
	scrapeGzip = o.gzip
	return o, nil
}

var started = time.Now()

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "bench %6.1fs: %s\n", time.Since(started).Seconds(), fmt.Sprintf(format, args...))
}

func main() {
	o, err := parseFlags(os.Args[1:])
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(0)
		}
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(2)
	}
	ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err = run(ctx, o)
	cancel()
	stopAll()
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench: harness error:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, o *options) error {
	root := consultest.RepoRoot()
	tmp, err := os.MkdirTemp("", "cse-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)

	logf("building the exporter from %s", root)
	exporterBin, err := consultest.BuildExporter()
	if err != nil {
		return err
	}
	r := &report{opts: o, machine: machineNotes(root)}
	if !o.fleetOnly {
		if err := measureMain(ctx, o, tmp, exporterBin, r); err != nil {
			return err
		}
	}
	var fleetErr error
	if o.fleet {
		logf("fleet: %d fake agents, %d concurrent probes for %s", o.fleetAgents, o.fleetC, o.fleetFor)
		r.fleet, fleetErr = runFleet(ctx, exporterBin, o.fleetAgents, o.fleetC, o.fleetFor)
		if fleetErr != nil && !errors.Is(fleetErr, errNoProbe) {
			return fleetErr
		}
	}
	r.machine.loadEnd = loadAvg()
	r.print(os.Stdout)
	// The rest of the report is out; a fleet that could not be measured is
	// still a harness error.
	return fleetErr
}

func measureMain(ctx context.Context, o *options, tmp, exporterBin string, r *report) error {
	ceBin, err := consultest.ConsulExporter()
	if err != nil {
		return err
	}
	ceVersion := consultest.ToolVersion(ceBin)
	r.ceVersion = ceVersion
	consulBin, err := consultest.PinnedConsul()
	if err != nil {
		return err
	}
	r.machine.consul = commandLine(consulBin, "version")
	logf("starting a Consul dev agent (%s)", consulBin)
	consul, consulURL, err := startConsul(consulBin, tmp)
	if err != nil {
		return err
	}

	maxC := 1
	for _, c := range o.concs {
		maxC = max(maxC, c)
	}
	start := func(name, bin string, args ...string) (*subject, error) {
		p, base, err := startExporter(name, bin, bin == exporterBin, consulURL, args...)
		if err != nil {
			return nil, err
		}
		return exporterSubject(name, p, base+"/metrics", maxC), nil
	}
	ours, err := start("consul_status_exporter", exporterBin)
	if err != nil {
		return err
	}
	ceDefault, err := start("consul_exporter "+ceVersion, ceBin)
	if err != nil {
		return err
	}
	ceNoHealth, err := start("consul_exporter --no-consul.health-summary", ceBin, "--no-consul.health-summary")
	if err != nil {
		return err
	}
	floor := floorSubject(consulURL, maxC)
	subjects := []*subject{floor, ours, ceDefault, ceNoHealth}
	r.floor, r.ours, r.ceDefault, r.ceNoHealth = floor, ours, ceDefault, ceNoHealth
	r.subjects = subjects

	// Warm up: connections open at the highest concurrency (so the
	// goroutine count before and after sees the same pools), caches and
	// JIT-free Go heaps grown. Warm-up scrapes count towards the 1,000.
	logf("warming up")
	for _, s := range subjects {
		if err := runBatch(ctx, s, consul, maxC, 50); err != nil {
			return err
		}
		if err := runBatch(ctx, s, consul, 1, 20); err != nil {
			return err
		}
		for _, ph := range s.phases {
			if ph.errors > 0 {
				return fmt.Errorf("%s fails already in the warm-up: %v", s.name, ph.firstErr)
			}
		}
		s.phases = nil
	}

	logf("watching the idle Consul agent for %s", o.idle)
	k0, err := cpuSeconds(consul.PID())
	if err != nil {
		return err
	}
	idleStart := time.Now()
	select {
	case <-time.After(o.idle):
	case <-ctx.Done():
		return ctx.Err()
	}
	k1, err := cpuSeconds(consul.PID())
	if err != nil {
		return err
	}
	r.consulIdle = (k1 - k0) / time.Since(idleStart).Seconds()

	for _, s := range subjects[1:] {
		g, err := goroutines(ctx, s)
		if err != nil {
			return err
		}
		r.goroutinesBefore = append(r.goroutinesBefore, g)
	}

	for _, c := range o.concs {
		logf("concurrency %d: %d each, in turns of %d", c, o.n, o.batch)
		if err := interleave(ctx, subjects, consul, c, o.n, o.batch); err != nil {
			return err
		}
	}

	if o.long > ours.done {
		logf("scraping the exporter up to %d scrapes", o.long)
		// The long run's latencies are not part of the interleaved
		// comparison; only its errors, memory and goroutines are.
		saved := ours.phases
		ours.phases = nil
		for ours.done < o.long {
			if err := runBatch(ctx, ours, consul, 1, min(o.batch, o.long-ours.done)); err != nil {
				return err
			}
		}
		r.longErrors, r.longFirstErr = ours.phases[1].errors, ours.phases[1].firstErr
		ours.phases = saved
		r.longRun = true
	}
	for _, s := range subjects[1:] {
		m, err := memOf(s.proc.PID())
		if err != nil {
			return err
		}
		r.memEnd = append(r.memEnd, m)
		g, err := goroutines(ctx, s)
		if err != nil {
			return err
		}
		r.goroutinesAfter = append(r.goroutinesAfter, g)
	}
	// Their work is done: idle exporters would only add noise to what follows.
	for _, s := range subjects[1:] {
		s.proc.Stop(5 * time.Second)
	}

	logf("slow agent: every Consul answer %s late", o.slowDelay)
	proxyURL, stopProxy, err := delayProxy(consulURL, o.slowDelay)
	if err != nil {
		return err
	}
	defer stopProxy()
	for _, x := range []struct {
		name, bin string
		args      []string
		n         int
	}{
		{"consul_status_exporter --consul.timeout=" + o.slowTO.String(), exporterBin, []string{"--consul.timeout=" + o.slowTO.String(), "--log.level=error"}, o.slowN},
		{"consul_exporter " + ceVersion, ceBin, []string{"--log.level=error"}, o.slowCEN},
	} {
		if x.n == 0 {
			continue
		}
		p, base, err := startExporter(x.name, x.bin, x.bin == exporterBin, proxyURL, x.args...)
		if err != nil {
			return err
		}
		res := measureSlow(ctx, x.name, base+"/metrics", x.n)
		p.Stop(5 * time.Second)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		r.slow = append(r.slow, res)
	}
	consul.Stop(5 * time.Second)
	return nil
}
