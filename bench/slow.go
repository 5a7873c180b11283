package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"time"
)

// delayProxy stands in front of Consul on a loopback port and holds every
// request for delay before passing it on: an agent that answers everything,
// only late.
func delayProxy(consulURL string, delay time.Duration) (string, func(), error) {
	target, err := url.Parse(consulURL)
	if err != nil {
		return "", nil, err
	}
	rp := httputil.NewSingleHostReverseProxy(target)
	rp.Transport = &http.Transport{Proxy: nil, DisableCompression: true, MaxIdleConnsPerHost: 16}
	// A client that gave up is expected here; its broken pipe is no news.
	rp.ErrorHandler = func(w http.ResponseWriter, r *http.Request, err error) {
		if r.Context().Err() == nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
		}
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t := time.NewTimer(delay)
		defer t.Stop()
		select {
		case <-t.C:
			rp.ServeHTTP(w, r)
		case <-r.Context().Done():
		}
	})}
	go srv.Serve(l)
	return "http://" + l.Addr().String(), func() { srv.Close() }, nil
}

// slowResult is a few sequential scrapes of an exporter behind the delay
// proxy.
type slowResult struct {
	name    string
	lat     []time.Duration
	upZero  int // scrapes that said consul_up 0
	errs    int
	lastErr error
}

func (r *slowResult) max() time.Duration {
	var m time.Duration
	for _, l := range r.lat {
		m = max(m, l)
	}
	return m
}

func measureSlow(ctx context.Context, name, metricsURL string, n int) *slowResult {
	r := &slowResult{name: name}
	c := scrapeClient(1)
	c.Timeout = 2 * time.Minute // consul_exporter takes seconds here; that is what is measured
	for range n {
		t0 := time.Now()
		body, err := scrape(ctx, c, metricsURL)
		r.lat = append(r.lat, time.Since(t0))
		if err != nil {
			r.errs++
			r.lastErr = err
			continue
		}
		if v, ok := metricValue(body, "consul_up"); ok && v == 0 {
			r.upZero++
		} else {
			r.lastErr = fmt.Errorf("consul_up is %v (present: %v), want 0", v, ok)
		}
	}
	return r
}
