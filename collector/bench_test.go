package collector

import (
	"context"
	"net/url"
	"path/filepath"
	"testing"

	"github.com/go-kit/log"

	"github.com/consul-status-exporter/consul_status_exporter/internal/consultest"

	"github.com/consul-status-exporter/consul_status_exporter/collector/consul"
)

// The decode benchmarks run on recorded answers of a real agent, so their
// allocs/op are what a scrape pays for each endpoint. Each checks its result
// once, before timing, so a decoder that stops working cannot look fast.

func BenchmarkDecodeAgentSelf(b *testing.B) {
	body := []byte(readFixture("real-leader", "agent_self.json"))
	if st, err := consul.DecodeAgentSelf(body); err != nil || len(st["raft"]) == 0 {
		b.Fatalf("consul.DecodeAgentSelf: %d raft keys, %v", len(st["raft"]), err)
	}
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := consul.DecodeAgentSelf(body); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecodeInfo(b *testing.B) {
	body := []byte(readFixture("status-endpoint-sample", "info.json"))
	if st, err := consul.DecodeInfo(body); err != nil || len(st["raft"]) == 0 {
		b.Fatalf("consul.DecodeInfo: %d raft keys, %v", len(st["raft"]), err)
	}
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := consul.DecodeInfo(body); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecodeLeader(b *testing.B) {
	body := []byte(readFixture("real-leader", "leader.json"))
	if l, err := consul.DecodeLeader(body); err != nil || l == "" {
		b.Fatalf("consul.DecodeLeader: %q, %v", l, err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := consul.DecodeLeader(body); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecodePeers(b *testing.B) {
	body := []byte(readFixture("real-leader", "peers.json"))
	if p, err := consul.DecodePeers(body); err != nil || len(p) == 0 {
		b.Fatalf("consul.DecodePeers: %v, %v", p, err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := consul.DecodePeers(body); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkStatSamples(b *testing.B) {
	st, err := consul.DecodeAgentSelf([]byte(readFixture("real-leader", "agent_self.json")))
	if err != nil {
		b.Fatal(err)
	}
	if s, err := statSamples(st); err != nil || len(s) == 0 {
		b.Fatalf("statSamples: %d samples, %v", len(s), err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := statSamples(st); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCollect is one whole scrape of a fake agent over loopback HTTP:
// three requests, decoding, and the samples turned into metric families
// (families), as the tests read them, minus the text exposition.
func BenchmarkCollect(b *testing.B) {
	srv := consultest.NewFixtureServer(b, filepath.Join(fixturesDir, "real-leader"))
	base, err := url.Parse(srv.URL)
	if err != nil {
		b.Fatal(err)
	}
	tok, err := consul.NewToken("", "")
	if err != nil {
		b.Fatal(err)
	}
	client, err := consul.NewClient(consul.ClientOptions{Token: tok})
	if err != nil {
		b.Fatal(err)
	}
	agent := client.NewAgent(base)
	logger := log.NewNopLogger()
	scrape := func() int {
		mfs := families(New(logger).scrape(context.Background(), agent, 0))
		for _, mf := range mfs {
			if mf.GetName() == "consul_up" && mf.GetMetric()[0].GetGauge().GetValue() != 1 {
				b.Fatal("consul_up is not 1 against the real-leader fixture")
			}
		}
		return len(mfs)
	}
	if n := scrape(); n < 10 {
		b.Fatalf("only %d metric families from the real-leader fixture", n)
	}
	b.ReportAllocs()
	for b.Loop() {
		scrape()
	}
}
