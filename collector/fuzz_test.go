package collector

import (
	"bytes"
	"context"
	"encoding/json"
	"math"
	"net"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// The fuzz targets below hold every decoder to one promise: whatever Consul
// (or whatever answers in its place) sends, the decoder returns an error or
// values the collector can emit, and never panics. Run them with
// scripts/fuzz.sh; plain `go test` replays the seeds and any crasher kept
// under testdata/fuzz.

// fixtureBodies returns the recorded answers the lead keeps under fixtures/,
// when there are any, so that new recordings seed the fuzzers too.
func fixtureBodies(f *testing.F) [][]byte {
	paths, _ := filepath.Glob(filepath.Join("..", "fixtures", "*", "*.json"))
	var out [][]byte
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		out = append(out, b)
	}
	return out
}

// checkErr keeps decoder errors fit for the one log line they end up in.
func checkErr(t *testing.T, err error) {
	t.Helper()
	msg := err.Error()
	if msg == "" || len(msg) > 2048 || !utf8.ValidString(msg) || strings.ContainsAny(msg, "\n\r") {
		t.Fatalf("error unfit for a log line (%d bytes): %q", len(msg), msg)
	}
}

// checkStats holds a decoded Stats to what decodeSections promises, then
// runs it through statSamples.
func checkStats(t *testing.T, st Stats) {
	t.Helper()
	if len(st) == 0 {
		t.Fatal("no error and no sections")
	}
	for name, sec := range st {
		if !strings.Contains(" agent build consul raft runtime serf_lan serf_wan ", " "+name+" ") {
			t.Fatalf("unexpected section %q kept", name)
		}
		if sec == nil {
			t.Fatalf("section %q is nil", name)
		}
	}
	samples, err := statSamples(st)
	if err != nil {
		checkErr(t, err)
		return
	}
	checkSamples(t, samples)
}

var statsSeeds = []string{
	typedInfo, recordedAgentSelf, recordedFollowerSelf, recordedClientSelf,
	`{"raft": {"last_contact": "never", "state": "Candidate"}}`,
	`{"raft": {"last_contact": "1m33.88395452s", "state": "Shutdown", "term": 1e3}}`,
	`{"raft": {"state": "Learner"}, "consul": {"server": "true"}}`,
	`{"Stats": {"raft": {"applied_index": "abc"}}}`,
	`{"Stats": {"raft": ["not", "an", "object"]}}`,
	`{"Stats": {"raft": null}}`,
	`{"Stats": null}`,
	`{"agent": {"checks": 1,}}`,
	`{"runtime": {"arch": "amd64", "os": "\xff\xfe", "version": 1.5}}`,
	`{"build": {"version": "` + strings.Repeat("9", 400) + `"}}`,
	`{"serf_lan": {"members": 1e400}}`,
	`[]`, `null`, ``, `<html><body>502 Bad Gateway</body></html>`,
}

func FuzzDecodeInfo(f *testing.F) {
	for _, s := range statsSeeds {
		f.Add([]byte(s))
	}
	for _, b := range fixtureBodies(f) {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		st, err := DecodeInfo(body)
		if err != nil {
			checkErr(t, err)
			return
		}
		checkStats(t, st)
	})
}

func FuzzDecodeAgentSelf(f *testing.F) {
	for _, s := range statsSeeds {
		f.Add([]byte(s))
	}
	for _, b := range fixtureBodies(f) {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		st, err := DecodeAgentSelf(body)
		if err != nil {
			checkErr(t, err)
			return
		}
		checkStats(t, st)
	})
}

// FuzzStatSamples aims at the stat→samples path directly: one value of a
// realistic Stats is replaced by arbitrary JSON, which random bodies would
// rarely manage to reach.
func FuzzStatSamples(f *testing.F) {
	for _, c := range []struct{ section, key, value string }{
		{"raft", "last_contact", `"5.783µs"`},
		{"raft", "last_contact", `"never"`},
		{"raft", "last_contact", `-1`},
		{"raft", "state", `"Leader"`},
		{"raft", "state", `""`},
		{"raft", "state", `"\u0000\ud800"`},
		{"raft", "applied_index", `"abc"`},
		{"raft", "term", `1.8e308`},
		{"consul", "leader", `"yes"`},
		{"serf_wan", "encrypted", `true`},
		{"build", "prerelease", `"dev"`},
		{"runtime", "version", `{"go": 1}`},
		{"agent", "checks", `null`},
		{"raft", "", `{}`},
	} {
		f.Add(c.section, c.key, []byte(c.value))
	}
	base, err := DecodeAgentSelf([]byte(recordedFollowerSelf))
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, section, key string, value []byte) {
		// Stats values come out of json.Unmarshal, so they are valid JSON.
		if !json.Valid(value) {
			return
		}
		st := make(Stats, len(base)+1)
		for name, sec := range base {
			st[name] = make(map[string]json.RawMessage, len(sec)+1)
			for k, v := range sec {
				st[name][k] = v
			}
		}
		if st[section] == nil {
			st[section] = map[string]json.RawMessage{}
		}
		st[section][key] = value
		samples, err := statSamples(st)
		if err != nil {
			checkErr(t, err)
			return
		}
		checkSamples(t, samples)
	})
}

func FuzzDecodeLeader(f *testing.F) {
	for _, s := range []string{recordedLeader, `""`, `"[::1]:8300"`, `"consul-0.consul:8300"`, `null`, `[]`,
		`"127.0.0.1"`, `"\ufffd:1"`, `"\xff:80"`, `"a:1" "b:2"`, `"` + strings.Repeat("a", 400) + `:1"`, ``} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		addr, err := DecodeLeader(body)
		if err != nil {
			checkErr(t, err)
			return
		}
		// Consul always answers a JSON string; anything else (null
		// included) is not an agent saying "no leader".
		if trimmed := strings.TrimSpace(string(body)); !strings.HasPrefix(trimmed, `"`) {
			t.Fatalf("body %q accepted as leader %q", body, addr)
		}
		if !utf8.ValidString(addr) {
			t.Fatalf("leader %q is not valid UTF-8", addr)
		}
		if addr != "" {
			if _, _, err := net.SplitHostPort(addr); err != nil {
				t.Fatalf("leader %q accepted: %v", addr, err)
			}
		}
		again, err := json.Marshal(addr)
		if err != nil {
			t.Fatal(err)
		}
		if back, err := DecodeLeader(again); err != nil || back != addr {
			t.Fatalf("leader %q re-encoded as %s decodes to %q, %v", addr, again, back, err)
		}
	})
}

func FuzzDecodePeers(f *testing.F) {
	for _, s := range []string{recordedPeers, `null`, `[]`, `["127.0.0.11:8300","127.0.0.12:8300","127.0.0.13:8300"]`,
		`["a:1","a:1"]`, `[""]`, `[null]`, `["[fe80::1%eth0]:8300"]`, `{}`, `"127.0.0.1:8300"`, `[1]`, ``} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		peers, err := DecodePeers(body)
		if err != nil {
			checkErr(t, err)
			return
		}
		if len(peers) > maxPeers {
			t.Fatalf("%d peers accepted", len(peers))
		}
		for _, p := range peers {
			if !utf8.ValidString(p) {
				t.Fatalf("peer %q is not valid UTF-8", p)
			}
			if _, _, err := net.SplitHostPort(p); err != nil {
				t.Fatalf("peer %q accepted: %v", p, err)
			}
		}
		again, err := json.Marshal(peers)
		if err != nil {
			t.Fatal(err)
		}
		if back, err := DecodePeers(again); err != nil || !reflect.DeepEqual(back, peers) {
			t.Fatalf("peers %q re-encoded as %s decode to %q, %v", peers, again, back, err)
		}
	})
}

// FuzzParseDuration checks raft.last_contact both as Consul sends it (a JSON
// string, compared with time.ParseDuration) and as the raw bytes of any
// JSON value.
func FuzzParseDuration(f *testing.F) {
	for _, s := range []string{"0", "never", "5.783µs", "5.783us", "43.302939ms", "1.85852575s", "1m33.88395452s",
		"-1s", "2562047h47m16.854775807s", "2562048h", "1e3", "Never", "", " 1s", "1.5", ".5s", "1ns1h"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if utf8.ValidString(s) {
			raw, err := json.Marshal(s)
			if err != nil {
				t.Fatal(err)
			}
			secs, ok, err := parseDuration(raw)
			d, perr := time.ParseDuration(s)
			switch {
			case s == "never":
				if ok || err != nil {
					t.Fatalf("%q: ok %v, err %v; want no value and no error", s, ok, err)
				}
			case perr == nil && d < 0:
				// A negative time since last contact is not a reading.
				if err == nil {
					t.Fatalf("%q: negative duration accepted as %v", s, secs)
				}
			case perr == nil:
				if !ok || err != nil || secs != d.Seconds() {
					t.Fatalf("%q: %v, %v, %v; want %v like time.ParseDuration", s, secs, ok, err, d.Seconds())
				}
			default:
				if err == nil {
					t.Fatalf("%q: %v, %v accepted, time.ParseDuration says %v", s, secs, ok, perr)
				}
				checkErr(t, err)
			}
		}
		// The same text as a raw value: a bare JSON number is nanoseconds.
		secs, ok, err := parseDuration(json.RawMessage(s))
		if err != nil {
			checkErr(t, err)
			return
		}
		if ok && (math.IsNaN(secs) || math.IsInf(secs, 0)) {
			t.Fatalf("%q: %v seconds", s, secs)
		}
		var n json.Number
		if v := strings.TrimSpace(s); v != "" && v[0] != '"' && json.Unmarshal([]byte(s), &n) == nil {
			f, _ := n.Float64()
			if !ok || secs != f/1e9 {
				t.Fatalf("number %s: %v seconds, ok %v; want %v", s, secs, ok, f/1e9)
			}
		}
	})
}

// FuzzDecodeMembers holds the streamed member list to encoding/json's
// reading of the whole body: within the stream's own bounds (a member of
// 16 KiB, label values of 512 bytes), it accepts what json.Unmarshal
// accepts and exports the same members. With servers-only, clients are
// checked for structure only, so only what it accepts is compared.
func FuzzDecodeMembers(f *testing.F) {
	for _, s := range []string{`[]`, `null`, `[{"Name":"s1","Tags":{"role":"consul"},"Status":1},{"Name":"c1","Tags":{"role":"node"}}]`,
		`[{"Name":"a"},{"Name":"a"}]`, `[{"name":"x","tags":{"ROLE":"consul"}}]`, `[{"T\u0061gs":{"role":"consul"},"Name":"e"}]`,
		`[{"Tags":{"role":"cons\u0075l"}}]`, `[null]`, `[1]`, `[{"Name":"a"},]`, `{}`, `[{"Tags":null}]`, ``} {
		f.Add([]byte(s), false)
		f.Add([]byte(s), true)
	}
	f.Fuzz(func(t *testing.T, body []byte, serversOnly bool) {
		if len(body) > MaxMemberBytes {
			return
		}
		lim := memberLimits{serversOnly: serversOnly, max: 1 << 20, budget: newSeriesBudget(1 << 30)}
		out, n, err := decodeMembers(context.Background(), bytes.NewReader(body), "lan", lim)
		var ms []member
		whole := json.Unmarshal(body, &ms)
		if err != nil {
			checkErr(t, err)
			if whole == nil && !serversOnly && !strings.Contains(err.Error(), "a name, address or version of") {
				t.Fatalf("refused %q, which encoding/json accepts: %v", body, err)
			}
			return
		}
		if whole != nil {
			if !serversOnly {
				t.Fatalf("accepted %q, which encoding/json refuses: %v", body, whole)
			}
			return
		}
		if n != len(ms) {
			t.Fatalf("%q: %d members counted, encoding/json has %d", body, n, len(ms))
		}
		var want []sample
		seen := map[string]bool{}
		for _, m := range ms {
			if (!serversOnly || m.Tags.Role == "consul") && !seen[m.Name] {
				seen[m.Name] = true
				want = appendMember(want, m, "lan")
			}
		}
		if !reflect.DeepEqual(out, want) {
			t.Fatalf("%q: exported %v, encoding/json's reading gives %v", body, out, want)
		}
	})
}
