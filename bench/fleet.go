package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/consul-status-exporter/consul_status_exporter/internal/consultest"
)

// fakeAgents serves the recorded real-follower scenario on n loopback ports,
// as a fleet of agents would answer /probe. consultest's fixture handler
// answers from memory, so the fakes cost the shared CPU as little as possible.
func fakeAgents(n int) ([]string, func(), error) {
	h, err := consultest.FixtureHandler(filepath.Join(consultest.RepoRoot(), "fixtures", "real-follower"))
	if err != nil {
		return nil, nil, err
	}
	var servers []*http.Server
	stop := func() {
		for _, s := range servers {
			s.Close()
		}
	}
	var addrs []string
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			stop()
			return nil, nil, err
		}
		s := &http.Server{Handler: h}
		servers = append(servers, s)
		go s.Serve(l)
		addrs = append(addrs, l.Addr().String())
	}
	return addrs, stop, nil
}

type fleetResult struct {
	agents, conc int
	elapsed      time.Duration
	lat          []time.Duration
	errs         int
	firstErr     error
	cpuSeconds   float64
	// harnessSeconds is this program's own CPU meanwhile: the probing
	// clients and the fake agents, on the same cores as the exporter.
	harnessSeconds float64
	mem            mem
}

func (f *fleetResult) rate() float64 { return float64(len(f.lat)) / f.elapsed.Seconds() }

// errNoProbe says the exporter under test has no /probe yet.
var errNoProbe = errors.New("the exporter has no working /probe?target= endpoint")

// runFleet starts the exporter with /probe allowed for loopback targets and
// probes the fake agents round robin with conc workers for d.
func runFleet(ctx context.Context, exporterBin string, agents, conc int, d time.Duration) (*fleetResult, error) {
	addrs, stop, err := fakeAgents(agents)
	if err != nil {
		return nil, err
	}
	defer stop()
	p, base, err := startExporter("exporter (fleet)", exporterBin, true, "http://"+addrs[0],
		`--probe.allowed-targets=127\.0\.0\.1:[0-9]+`, "--log.level=warn")
	if err != nil {
		return nil, err
	}
	defer p.Stop(5 * time.Second)
	probeURL := func(addr string) string {
		return base + "/probe?target=" + url.QueryEscape(addr)
	}
	c := scrapeClient(conc)
	check := func(ctx context.Context, addr string) error {
		body, err := scrape(ctx, c, probeURL(addr))
		if err != nil {
			return err
		}
		if v, ok := metricValue(body, "consul_up"); !ok || v != 1 {
			return fmt.Errorf("probe of %s: consul_up is %v (present: %v), want 1", addr, v, ok)
		}
		return nil
	}
	// One probe first: a missing endpoint should say so, not show up as a
	// wall of errors.
	if err := check(ctx, addrs[0]); err != nil {
		return nil, fmt.Errorf("%w: %v", errNoProbe, err)
	}

	res := &fleetResult{agents: agents, conc: conc}
	c0, err := cpuSeconds(p.PID())
	if err != nil {
		return nil, err
	}
	h0, err := cpuSeconds(os.Getpid())
	if err != nil {
		return nil, err
	}
	var (
		next atomic.Int64
		mu   sync.Mutex
		wg   sync.WaitGroup
	)
	start := time.Now()
	end := start.Add(d)
	for range conc {
		wg.Go(func() {
			var lat []time.Duration
			for time.Now().Before(end) && ctx.Err() == nil {
				addr := addrs[int(next.Add(1))%len(addrs)]
				t0 := time.Now()
				err := check(ctx, addr)
				lat = append(lat, time.Since(t0))
				if err != nil {
					mu.Lock()
					res.errs++
					if res.firstErr == nil {
						res.firstErr = err
					}
					mu.Unlock()
				}
			}
			mu.Lock()
			res.lat = append(res.lat, lat...)
			mu.Unlock()
		})
	}
	wg.Wait()
	res.elapsed = time.Since(start)
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	c1, err := cpuSeconds(p.PID())
	if err != nil {
		return nil, err
	}
	h1, err := cpuSeconds(os.Getpid())
	if err != nil {
		return nil, err
	}
	res.cpuSeconds, res.harnessSeconds = c1-c0, h1-h0
	if res.mem, err = memOf(p.PID()); err != nil {
		return nil, err
	}
	return res, nil
}
