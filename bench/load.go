package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/consul-status-exporter/consul_status_exporter/internal/consultest"
)

// subject is one thing measured: the floor (Consul answering the exporter's
// three requests directly) or an exporter's /metrics.
type subject struct {
	name string
	// proc is the exporter process charged with the CPU of a scrape; nil
	// for the floor, whose only server is Consul.
	proc *consultest.Process
	url  string
	// one does one scrape (or one request triple) and checks its answer.
	one    func(ctx context.Context) error
	client *http.Client

	done   int  // requests so far, all phases
	mem1k  *mem // memory when done first reached 1,000
	phases map[int]*phase
}

// phase is what one concurrency level measured.
type phase struct {
	lat       []time.Duration
	errors    int
	firstErr  error
	cpu       float64 // CPU-seconds of subject.proc
	consulCPU float64 // CPU-seconds of the Consul agent
	wall      time.Duration
}

func (s *subject) phase(conc int) *phase {
	if s.phases == nil {
		s.phases = map[int]*phase{}
	}
	if s.phases[conc] == nil {
		s.phases[conc] = &phase{}
	}
	return s.phases[conc]
}

// promAccept is what Prometheus 2 sends; every exporter here answers it
// with the text format.
const promAccept = "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1"

// scrapeGzip is -gzip: whether scrapes accept a gzipped exposition.
var scrapeGzip = true

// scrapeClient scrapes as Prometheus does: keep-alive, gzip accepted (Go's
// transport asks for it and inflates the answer).
func scrapeClient(conns int) *http.Client {
	return &http.Client{
		Timeout: 30 * time.Second,
		Transport: &http.Transport{
			Proxy:               nil,
			MaxIdleConnsPerHost: conns,
			IdleConnTimeout:     5 * time.Minute,
			DisableCompression:  !scrapeGzip,
		},
	}
}

// scrape fetches a /metrics (or /probe) URL and returns the decoded body.
func scrape(ctx context.Context, c *http.Client, url string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", promAccept)
	req.Header.Set("X-Prometheus-Scrape-Timeout-Seconds", "10")
	resp, err := c.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return body, fmt.Errorf("HTTP %d: %.200s", resp.StatusCode, body)
	}
	return body, nil
}

// exporterSubject scrapes url and wants consul_up 1 in every answer: an
// exporter that is fast because it failed is not measured.
func exporterSubject(name string, p *consultest.Process, url string, conns int) *subject {
	s := &subject{name: name, proc: p, url: url, client: scrapeClient(conns)}
	s.one = func(ctx context.Context) error {
		body, err := scrape(ctx, s.client, url)
		if err != nil {
			return err
		}
		if v, ok := metricValue(body, "consul_up"); !ok || v != 1 {
			return fmt.Errorf("consul_up is %v (present: %v), want 1", v, ok)
		}
		return nil
	}
	return s
}

// floorSubject issues the exporter's three requests to Consul at once, as
// the exporter does (two in goroutines, one inline), with a keep-alive
// client that, like the exporter's, does not ask for gzip.
func floorSubject(consulURL string, conc int) *subject {
	c := &http.Client{
		Timeout: 30 * time.Second,
		Transport: &http.Transport{
			Proxy:               nil,
			MaxIdleConnsPerHost: 3 * conc,
			IdleConnTimeout:     5 * time.Minute,
			DisableCompression:  true,
		},
	}
	get := func(ctx context.Context, path string) error {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, consulURL+path, nil)
		if err != nil {
			return err
		}
		req.Header.Set("Accept", "application/json")
		resp, err := c.Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		if _, err := io.Copy(io.Discard, resp.Body); err != nil {
			return err
		}
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("%s: HTTP %d", path, resp.StatusCode)
		}
		return nil
	}
	s := &subject{name: "floor: Consul, 3 requests", url: consulURL, client: c}
	s.one = func(ctx context.Context) error {
		var leader, peers error
		var wg sync.WaitGroup
		wg.Go(func() { leader = get(ctx, "/v1/status/leader") })
		wg.Go(func() { peers = get(ctx, "/v1/status/peers") })
		self := get(ctx, "/v1/agent/self")
		wg.Wait()
		return errors.Join(leader, peers, self)
	}
	return s
}

// runBatch does k requests of s with conc workers, charging their latency
// and the CPU both processes spent meanwhile to the phase conc.
func runBatch(ctx context.Context, s *subject, consul *consultest.Process, conc, k int) error {
	ph := s.phase(conc)
	cpuPid := consul.PID()
	if s.proc != nil {
		cpuPid = s.proc.PID()
	}
	c0, err1 := cpuSeconds(cpuPid)
	k0, err2 := cpuSeconds(consul.PID())
	if err := errors.Join(err1, err2); err != nil {
		return fmt.Errorf("%s: %w", s.name, err)
	}
	lat := make([]time.Duration, k)
	var next atomic.Int64
	var mu sync.Mutex
	start := time.Now()
	var wg sync.WaitGroup
	for range conc {
		wg.Go(func() {
			for {
				i := next.Add(1) - 1
				if i >= int64(k) || ctx.Err() != nil {
					return
				}
				t0 := time.Now()
				err := s.one(ctx)
				lat[i] = time.Since(t0)
				if err != nil {
					mu.Lock()
					ph.errors++
					if ph.firstErr == nil {
						ph.firstErr = err
					}
					mu.Unlock()
				}
			}
		})
	}
	wg.Wait()
	wall := time.Since(start)
	if ctx.Err() != nil {
		return ctx.Err()
	}
	c1, err1 := cpuSeconds(cpuPid)
	k1, err2 := cpuSeconds(consul.PID())
	if err := errors.Join(err1, err2); err != nil {
		return fmt.Errorf("%s: %w", s.name, err)
	}
	ph.lat = append(ph.lat, lat...)
	ph.cpu += c1 - c0
	ph.consulCPU += k1 - k0
	ph.wall += wall
	s.done += k
	if s.proc != nil && s.mem1k == nil && s.done >= 1000 {
		m, err := memOf(s.proc.PID())
		if err != nil {
			return err
		}
		s.mem1k = &m
	}
	return nil
}

// interleave measures every subject n times at concurrency conc, in turns
// of batch requests each (A B C A B C …), so that drift in the machine's
// load (other people share it) falls on all of them alike.
func interleave(ctx context.Context, subjects []*subject, consul *consultest.Process, conc, n, batch int) error {
	for done := 0; done < n; done += batch {
		k := min(batch, n-done)
		for _, s := range subjects {
			if err := runBatch(ctx, s, consul, conc, k); err != nil {
				return err
			}
		}
	}
	return nil
}

// goroutines reads go_goroutines from a fresh connection after closing the
// harness's idle ones, so that the count does not depend on how many
// keep-alive connections the last load left open.
func goroutines(ctx context.Context, s *subject) (int, error) {
	s.client.CloseIdleConnections()
	time.Sleep(300 * time.Millisecond)
	c := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{Proxy: nil, DisableKeepAlives: true}}
	body, err := scrape(ctx, c, s.url)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", s.name, err)
	}
	v, ok := metricValue(body, "go_goroutines")
	if !ok {
		return 0, fmt.Errorf("%s exposes no go_goroutines", s.name)
	}
	return int(v), nil
}

// metricValue finds an unlabelled sample in a text exposition.
func metricValue(body []byte, name string) (float64, bool) {
	sc := bufio.NewScanner(bytes.NewReader(body))
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	prefix := []byte(name + " ")
	for sc.Scan() {
		line := sc.Bytes()
		if rest, ok := bytes.CutPrefix(line, prefix); ok {
			f := bytes.Fields(rest)
			if len(f) == 0 {
				return 0, false
			}
			v, err := strconv.ParseFloat(string(f[0]), 64)
			return v, err == nil
		}
	}
	return 0, false
}

// percentile by nearest rank; lat need not be sorted.
func percentile(lat []time.Duration, p float64) time.Duration {
	if len(lat) == 0 {
		return 0
	}
	s := slices.Clone(lat)
	slices.Sort(s)
	i := int(math.Ceil(p*float64(len(s)))) - 1
	return s[max(0, min(i, len(s)-1))]
}
