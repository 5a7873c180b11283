package collector

import (
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-kit/log"

	"github.com/consul-status-exporter/consul_status_exporter/collector/consul"
	"github.com/consul-status-exporter/consul_status_exporter/internal/consultest"
)

// The hostile suite puts the real MetricsHandler in front of a fake Consul
// that misbehaves in one way per case, and checks what an operator relies
// on: the scrape still answers 200 in time, says consul_up 0 and which
// endpoint failed, logs why, leaks neither goroutines nor memory nor the
// ACL token.

const (
	testToken     = "s3cr3t-token"
	hostileBudget = 300 * time.Millisecond
	// The scrape may overrun the budget by this much: building the
	// exposition, and two loaded cores shared with the race detector.
	scrapeSlack = 100 * time.Millisecond
	// Heap growth allowed per scrape, whatever the fake sends.
	heapBound = 64 << 20
)

var endpointOfPath = map[string]string{
	consul.PathLeader: endpointLeader, consul.PathPeers: endpointPeers, consul.PathInfo: endpointInfo, consul.PathAgentSelf: endpointInfo,
	consul.PathMembers: endpointMembers, consul.PathAutopilot: endpointAutopilot,
}

type hostileCase struct {
	name string
	path string // the misbehaving path
	do   behaviour
	// cause must match the error logged for the path's endpoint; an empty
	// cause means the scrape must succeed.
	cause string
}

func hostileCases(elsewhere string) []hostileCase {
	bodyLimit := `body larger than the 4 MiB limit`
	timeout := `no answer within the scrape timeout of 300ms`
	// selfWith is the recorded agent/self with one Stats value replaced.
	selfWith := func(section, key string, v any) string {
		var self map[string]map[string]any
		if err := json.Unmarshal([]byte(recordedAgentSelf), &self); err != nil {
			panic(err)
		}
		if key == "" {
			self["Stats"][section] = v
		} else {
			self["Stats"][section].(map[string]any)[key] = v
		}
		b, err := json.Marshal(self)
		if err != nil {
			panic(err)
		}
		return string(b)
	}
	return []hostileCase{
		{"trickled body", consul.PathLeader, trickle(recordedLeader), timeout},
		{"never answers", consul.PathAgentSelf, silent, timeout},
		{"reset mid-body", consul.PathPeers, resetMidBody, `connection reset by peer`},
		{"closed after headers", consul.PathLeader, closeAfterHeaders, `unexpected EOF`},
		{"endless response headers", consul.PathPeers, endlessHeaders, fmt.Sprintf(`response headers exceeded %d bytes`, consul.MaxHeaderBytes)},
		{"2 GiB body", consul.PathAgentSelf, stream(2<<30, `{"Stats": {"raft": {"term": "`, `"}}}`), bodyLimit},
		{"gzip bomb if asked", consul.PathAgentSelf, bomb(false), ""},
		{"gzip bomb unasked", consul.PathAgentSelf, bomb(true), `invalid JSON at byte 1: want a JSON object`},
		{"redirect to another host", consul.PathLeader, redirectTo("http://" + elsewhere),
			`HTTP 307 Temporary Redirect redirect to http://` + regexp.QuoteMeta(elsewhere) + `/v1/status/leader \(not followed\)`},
		{"101 Switching Protocols, then silence", consul.PathLeader, switchProtocols, `/v1/status/leader: HTTP 101 Switching Protocols$`},
		{"redirect with a 60 KB Location", consul.PathPeers, answer(302, "text/plain", "", "Location: http://"+elsewhere+"/"+strings.Repeat("a", 60<<10)),
			`HTTP 302 Found redirect to http://` + regexp.QuoteMeta(elsewhere) + `/a{100,200}… \(not followed\)$`},
		{"429 with Retry-After", consul.PathPeers, answer(429, "text/plain", "rate limit exceeded", "Retry-After: 120"),
			`HTTP 429 Too Many Requests: rate limit exceeded`},
		{"503 with Retry-After", consul.PathAgentSelf, answer(503, "text/plain", "No known Consul servers", "Retry-After: 30"),
			`/v1/agent/self: HTTP 503 Service Unavailable: No known Consul servers$`},
		{"leader null", consul.PathLeader, answer(200, "application/json", "null"), `got null, want a JSON string`},
		{"leader list", consul.PathLeader, answer(200, "application/json", "[]"), `got a JSON array, want a JSON string`},
		{"leader 10 MB string", consul.PathLeader, stream(10<<20, `"`, `"`), bodyLimit},
		{"403 ACL denied", consul.PathAgentSelf,
			answer(403, "text/plain", "Permission denied: token with AccessorID '5a5f3c4c-3f0b-4ba9-bb8c-5c2d3ff3c0b5' lacks permission 'agent:read' on \"vm\""),
			`ACL denied, the exporter's ACL token was refused: check that it exists and carries the permission: HTTP 403 Forbidden: Permission denied: token with AccessorID`},
		{"500 text body", consul.PathLeader,
			answer(500, "text/plain", "rpc error getting client: failed to get conn: dial tcp 127.0.0.1:8300: connect: connection refused"),
			`HTTP 500 Internal Server Error: rpc error getting client: failed to get conn`},
		{"500 echoing the token", consul.PathPeers, answer(500, "text/plain", "bad X-Consul-Token: "+testToken+"\n"),
			`HTTP 500 Internal Server Error: bad X-Consul-Token: `},
		{"HTML error page with 200", consul.PathAgentSelf,
			answer(200, "text/html", "<!DOCTYPE html>\n<html><head><title>502 Bad Gateway</title></head><body><h1>Bad Gateway</h1></body></html>"),
			`invalid JSON at byte 1: want a JSON object \(body starts "<!DOCTYPE html> <html><head><title>502 B"\)$`},
		{"200 echoing the token", consul.PathLeader, answer(200, "text/plain", "token="+testToken),
			`invalid JSON at byte 2: invalid character 'o' in literal true`},
		{"200 echoing the token across the snippet's end", consul.PathLeader,
			answer(200, "text/plain", "<p>"+strings.Repeat(".", 31)+testToken), `invalid JSON at byte 1`},
		{"redirect echoing the token", consul.PathPeers, answer(302, "text/plain", "", "Location: http://"+elsewhere+"/login?token="+testToken),
			`HTTP 302 Found redirect to http://` + regexp.QuoteMeta(elsewhere) + `/login\?token=.+ \(not followed\)`},
		{"trailing commas", consul.PathAgentSelf, answer(200, "application/json", `{"Stats": {"agent": {"checks": "0",},}}`),
			`invalid JSON at byte 36: invalid character '}' looking for beginning of object key string`},
		{"applied_index abc", consul.PathAgentSelf, answer(200, "application/json", selfWith("raft", "applied_index", "abc")),
			`/v1/agent/self: raft.applied_index: "abc" is not a number`},
		{"list for a section", consul.PathAgentSelf, answer(200, "application/json", selfWith("runtime", "", []string{"arch", "amd64"})),
			`/v1/agent/self: section "runtime": got a list, want an object`},
		{"list for a section of status/info", consul.PathInfo, answer(200, "application/json", `{"raft": [], "agent": {"checks": 0}}`),
			`/v1/status/info: section "raft": got a list, want an object`},
		{"empty body", consul.PathPeers, answer(200, "application/json", ""), `empty body, want a JSON list of addresses`},
		{"valid JSON over 4 MiB", consul.PathAgentSelf, stream(consul.MaxBodyBytes+1024, recordedAgentSelf, ""), bodyLimit},
	}
}

// hostileRun is one scrape of the exporter in front of a fake.
type hostileRun struct {
	status  int
	body    string
	took    time.Duration
	log     string
	metrics map[string]string
	client  *consul.Client
}

// scrapeExporter builds the exporter for target with the test token and a
// captured log, scrapes it once and tears the exporter's server down.
func scrapeExporter(t *testing.T, target string, timeout time.Duration) hostileRun {
	t.Helper()
	return scrapeExporterWith(t, target, HandlerOptions{Timeout: timeout}, mustClient(t, testToken))
}

// scrapeExporterWith is scrapeExporter with any options and client.
func scrapeExporterWith(t *testing.T, target string, o HandlerOptions, client *consul.Client) hostileRun {
	t.Helper()
	base, err := consul.ParseTarget(target, "http")
	if err != nil {
		t.Fatal(err)
	}
	var logs consultest.SyncBuffer
	o.Logger = log.NewLogfmtLogger(&logs)
	exporter := httptest.NewServer(MetricsHandler(client.NewAgent(base), nil, o))
	defer exporter.Close()

	prom := &http.Client{Timeout: max(10*time.Second, o.Timeout+5*time.Second), Transport: &http.Transport{DisableKeepAlives: true}}
	start := time.Now()
	resp, err := prom.Get(exporter.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	took := time.Since(start)
	if err != nil {
		t.Fatal(err)
	}
	return hostileRun{status: resp.StatusCode, body: string(body), took: took, log: logs.String(),
		metrics: parseExposition(string(body)), client: client}
}

// parseExposition maps each series of a text exposition to its value.
func parseExposition(body string) map[string]string {
	m := map[string]string{}
	for _, line := range strings.Split(body, "\n") {
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if i := strings.LastIndexByte(line, ' '); i > 0 {
			m[line[:i]] = line[i+1:]
		}
	}
	return m
}

// checkOutcome checks consul_up, every endpoint's success and the log line
// of each failed endpoint. failed maps endpoint → cause regexp.
func (r hostileRun) checkOutcome(t *testing.T, failed map[string]string) {
	t.Helper()
	if r.status != http.StatusOK {
		t.Fatalf("scrape answered HTTP %d:\n%s", r.status, r.body)
	}
	wantUp := "1"
	if len(failed) > 0 {
		wantUp = "0"
	}
	if got := r.metrics["consul_up"]; got != wantUp {
		t.Errorf("consul_up %q, want %s", got, wantUp)
	}
	for _, e := range []string{endpointLeader, endpointPeers, endpointInfo} {
		series := fmt.Sprintf(`consul_scrape_endpoint_success{endpoint="%s"}`, e)
		errLines := loggedErrors(t, r.log, e)
		cause, bad := failed[e]
		if !bad {
			if got := r.metrics[series]; got != "1" {
				t.Errorf("%s %q, want 1", series, got)
			}
			if len(errLines) > 0 {
				t.Errorf("endpoint %s answered well but was logged as failed: %q", e, errLines)
			}
			continue
		}
		if got := r.metrics[series]; got != "0" {
			t.Errorf("%s %q, want 0", series, got)
		}
		re := regexp.MustCompile(cause)
		if len(errLines) != 1 || !re.MatchString(errLines[0]) {
			t.Errorf("want one error logged for endpoint %s matching %q, got %q\nfull log:\n%s", e, cause, errLines, r.log)
		}
	}
	// Half a token is a leak too: a cut snippet could carry its start.
	for _, leak := range []string{testToken, testToken[:6]} {
		if strings.Contains(r.log, leak) {
			t.Errorf("the ACL token (%q) is in the log:\n%s", leak, r.log)
		}
		if strings.Contains(r.body, leak) {
			t.Errorf("the ACL token (%q) is in /metrics:\n%s", leak, r.body)
		}
	}
}

// loggedErrors returns the err of every "Consul request failed" line logged
// for endpoint, unquoted from logfmt.
func loggedErrors(t *testing.T, logs, endpoint string) []string {
	t.Helper()
	var out []string
	for _, l := range strings.Split(logs, "\n") {
		if !strings.Contains(l, `msg="Consul request failed"`) || !strings.Contains(l, " endpoint="+endpoint+" ") {
			continue
		}
		_, v, ok := strings.Cut(l, " err=")
		if !ok {
			t.Fatalf("no err in %q", l)
		}
		if strings.HasPrefix(v, `"`) {
			q, err := strconv.QuotedPrefix(v)
			if err != nil {
				t.Fatalf("err of %q: %v", l, err)
			}
			v, _ = strconv.Unquote(q)
		}
		out = append(out, v)
	}
	return out
}

// warmUpExporter scrapes a well-behaved fake once per process, untimed. The
// first scrape pays for one-off set-up (promhttp's gzip writer among it,
// slow under the race detector) that would otherwise count against the first
// case's budget; it also shows that the fake answering well gives
// consul_up 1, so the cases' failures are the misbehaviour's doing.
func warmUpExporter(t *testing.T) {
	t.Helper()
	warmed.Do(func() {
		fake := startFakeConsul(t, nil)
		defer fake.Close(t)
		r := scrapeExporter(t, fake.URL(), 10*time.Second)
		r.checkOutcome(t, nil)
		r.client.CloseIdleConnections()
	})
}

var warmed sync.Once

func TestHostileConsul(t *testing.T) {
	gzipBomb() // built before any allocation is counted
	warmUpExporter(t)
	elsewhere := startSilentListener(t)
	defer elsewhere.Close()
	suiteStart := time.Now()

	for _, c := range hostileCases(elsewhere.Addr()) {
		t.Run(c.name, func(t *testing.T) {
			baseline := runtime.NumGoroutine()
			allocated := totalAlloc()
			elsewhereBefore := elsewhere.accepted.Load()

			fake := startFakeConsul(t, map[string]behaviour{c.path: c.do})
			closed := false
			defer func() {
				if !closed {
					fake.Close(t)
				}
			}()
			r := scrapeExporter(t, fake.URL(), hostileBudget)

			if r.took > hostileBudget+scrapeSlack {
				t.Errorf("scrape took %v, budget %v", r.took, hostileBudget)
			}
			failed := map[string]string{}
			if c.cause != "" {
				failed[endpointOfPath[c.path]] = c.cause
			}
			r.checkOutcome(t, failed)

			reqs := fake.requests()
			hits := 0
			for _, req := range reqs {
				if req.URL.Path == c.path {
					hits++
				}
				if got := req.Header.Get("X-Consul-Token"); got != testToken {
					t.Errorf("%s sent with token %q, want the configured one", req.URL.Path, got)
				}
				if ae := req.Header.Get("Accept-Encoding"); strings.Contains(strings.ToLower(ae), "gzip") {
					t.Errorf("%s sent with Accept-Encoding %q", req.URL.Path, ae)
				}
			}
			if hits != 1 {
				t.Errorf("%s requested %d times in one scrape, want once (no retries)", c.path, hits)
			}
			if n := elsewhere.accepted.Load() - elsewhereBefore; n != 0 {
				t.Errorf("the redirect target saw %d connections", n)
			}

			// The fake still misbehaves here: whatever the exporter
			// started for this scrape must have ended on its own.
			r.client.CloseIdleConnections()
			waitExporterIdle(t, 2*time.Second)
			if sent := fake.sent.Load(); sent > 64<<20 {
				t.Errorf("the fake managed to send %d MiB: the body was not cut off", sent>>20)
			}

			fake.Close(t)
			closed = true
			waitGoroutines(t, baseline, 2, 2*time.Second)
			grew := totalAlloc() - allocated
			if grew > heapBound {
				t.Errorf("scrape allocated %d MiB, bound %d MiB", grew>>20, heapBound>>20)
			}
			t.Logf("scrape took %v and allocated %.1f MiB", r.took, float64(grew)/(1<<20))
			if sent := fake.sent.Load(); sent > 0 {
				t.Logf("the fake got %.1f MiB of its body out before the exporter hung up", float64(sent)/(1<<20))
			}
		})
	}
	t.Logf("%d cases in %v", len(hostileCases("")), time.Since(suiteStart))
}

// A TLS target that accepts the connection and never starts the handshake
// fails all three endpoints at the budget, and the dials end with it.
func TestHostileConsulSlowTLSHandshake(t *testing.T) {
	warmUpExporter(t)
	baseline := runtime.NumGoroutine()
	allocated := totalAlloc()
	mute := startSilentListener(t)
	r := scrapeExporter(t, "https://"+mute.Addr(), hostileBudget)
	if r.took > hostileBudget+scrapeSlack {
		t.Errorf("scrape took %v, budget %v", r.took, hostileBudget)
	}
	timeout := `no answer within the scrape timeout of 300ms`
	r.checkOutcome(t, map[string]string{endpointLeader: timeout, endpointPeers: timeout, endpointInfo: timeout})
	if mute.accepted.Load() == 0 {
		t.Error("the exporter never connected: the test proved nothing")
	}
	r.client.CloseIdleConnections()
	waitExporterIdle(t, 2*time.Second)
	mute.Close()
	waitGoroutines(t, baseline, 2, 2*time.Second)
	if grew := totalAlloc() - allocated; grew > heapBound {
		t.Errorf("scrape allocated %d MiB, bound %d MiB", grew>>20, heapBound>>20)
	}
}

// An agent that echoes the token, in any form, into any answer: no piece of
// it of 8 characters or more reaches the log or /metrics, and what it
// echoed into a label is there, redacted (so the path was taken).
func TestHostileTokenEchoes(t *testing.T) {
	warmUpExporter(t)
	upper := strings.ToUpper(uuidToken)
	var pct strings.Builder
	for _, c := range []byte(uuidToken) {
		fmt.Fprintf(&pct, "%%%02X", c)
	}
	for _, c := range []struct {
		name    string
		path    string
		do      behaviour
		members bool
		failed  map[string]string
		series  string // a series that must be there, with value 1
	}{
		{name: "error body with the token across byte 512", path: consul.PathPeers,
			do:     answer(500, "text/plain", strings.Repeat(" ", consul.ErrorHeadBytes-35)+uuidToken+" trailer"),
			failed: map[string]string{endpointPeers: `HTTP 500 Internal Server Error: \[token redacted\]$`}},
		{name: "leader address JSON-escaped", path: consul.PathLeader,
			do:     answer(200, "application/json", `"`+jsonEscapeAll(uuidToken)+`:8300"`),
			series: `consul_raft_leader_info{address="[token redacted]:8300"}`},
		{name: "upper-cased echo in an error", path: consul.PathAgentSelf,
			do:     answer(503, "text/plain", "token "+upper+" refused"),
			failed: map[string]string{endpointInfo: `HTTP 503 Service Unavailable: token \[token redacted\] refused`}},
		{name: "9-character piece in a peer address", path: consul.PathPeers,
			do:     answer(200, "application/json", `["`+uuidToken[3:12]+`.example:8300","127.0.0.1:18300"]`),
			series: `consul_raft_peer_info{address="[token redacted].example:8300"}`},
		{name: "percent-encoded in a redirect", path: consul.PathLeader,
			do:     answer(302, "text/plain", "", "Location: http://sso.example/login?t="+pct.String()),
			failed: map[string]string{endpointLeader: `redirect to http://sso.example/login\?t=\[token redacted\] \(not followed\)`}},
		{name: "upper-cased echo at the start of a body that fails to decode", path: consul.PathAgentSelf,
			do:     answer(200, "application/json", `{"`+upper+`": [}`),
			failed: map[string]string{endpointInfo: `invalid JSON at byte .*body starts "\{\\"\*{36}`}},
		{name: "token as the raft state", path: consul.PathAgentSelf,
			do:     answer(200, "application/json", strings.Replace(recordedAgentSelf, `"state": "Leader"`, `"state": "`+upper+`"`, 1)),
			series: `consul_raft_state{state="[token redacted]"}`},
		{name: "members named like the token, in two cases", path: consul.PathMembers, members: true,
			do: answer(200, "application/json", `[{"Name":"`+uuidToken+`","Tags":{"role":"consul"},"Status":1},`+
				`{"Name":"`+upper+`","Tags":{"role":"consul"},"Status":1},{"Name":"s1","Tags":{"role":"consul"},"Status":1}]`),
			series: `consul_serf_member_status{member="[token redacted]",pool="lan",status="alive"}`},
	} {
		t.Run(c.name, func(t *testing.T) {
			fake := startFakeConsul(t, map[string]behaviour{c.path: c.do})
			defer fake.Close(t)
			// Not a test of time: a budget no loaded machine misses.
			r := scrapeExporterWith(t, fake.URL(), HandlerOptions{Timeout: 5 * time.Second, Collectors: Options{Members: c.members}},
				mustClient(t, uuidToken))
			r.checkOutcome(t, c.failed)
			for where, text := range map[string]string{"log": r.log, "/metrics": r.body} {
				if leak := tokenLeak(text, uuidToken); leak != "" {
					t.Errorf("a piece of the token (%q) is in the %s:\n%s", leak, where, text)
				}
			}
			if c.series != "" && r.metrics[c.series] != "1" {
				t.Errorf("%s = %q, want 1\n%s", c.series, r.metrics[c.series], r.body)
			}
			for _, req := range fake.requests() {
				if req.Header.Get("X-Consul-Token") != uuidToken {
					t.Errorf("%s sent without the token", req.URL)
				}
			}
		})
	}
}

// tinyMembers is the amplification docs/security.md measures ("members
// exported per Serf pool"): some 4 MiB of members of a dozen bytes each, 2.2
// million series before the caps.
var tinyMembers = sync.OnceValue(func() string {
	n := 0
	for size := 1; size < consul.MaxBodyBytes-32; n++ {
		size += len(fmt.Sprintf(`{"Name":"x%d"},`, n))
	}
	return consultest.JSONList(n, func(i int) string { return fmt.Sprintf(`{"Name":"x%d"}`, i) })
})

// endlessMembers streams a list of client members (role node), never
// ending, at up to some 70 MB/s: faster than the exporter decodes, and
// without the fake's own writing taking the shared cores from it.
func endlessMembers(f *fakeConsul, c net.Conn, _ *http.Request) bool {
	if !writeHead(c, 200, "application/json", 1<<40) || !writeBody(f, c, []byte("[")) {
		return false
	}
	var chunk strings.Builder
	for i := range 200 {
		chunk.WriteString(consultest.RealisticMember(i, false) + ",")
	}
	b := []byte(chunk.String())
	for {
		select {
		case <-f.stop:
			return false
		case <-time.After(time.Millisecond):
		}
		if !writeBody(f, c, b) {
			return false
		}
	}
}

// What an agent sends bounds neither memory nor time: each cap fails its
// endpoint with a log line naming the flag, the core endpoints are
// untouched (consul_up 1), and the scrape ends within its budget.
func TestHostileAmplification(t *testing.T) {
	warmUpExporter(t)
	var servers strings.Builder
	servers.WriteString(`{"Healthy":true,"FailureTolerance":1,"Servers":[`)
	for i := 0; servers.Len() < consul.MaxBodyBytes-64; i++ {
		if i > 0 {
			servers.WriteByte(',')
		}
		fmt.Fprintf(&servers, `{"ID":"%d"}`, i)
	}
	servers.WriteString("]}")
	fourMembers := consultest.JSONList(4, func(i int) string { return consultest.RealisticMember(i, true) })
	for _, c := range []struct {
		name   string
		path   string
		do     behaviour
		opts   Options
		failed string // cause logged for the optional endpoint; "" for success, "timeout" for either
		series string
		budget time.Duration // hostileBudget if 0; more where the point is the cap, not the clock
	}{
		{"4 MiB of tiny members", consul.PathMembers, answer(200, "application/json", tinyMembers()), Options{Members: true},
			`more than 5000 members to export in the (lan|wan) pool: raise --collector.members.max, or use --collector.members.servers-only`, "", 5 * time.Second},
		{"4 MiB of tiny members, a lower cap", consul.PathMembers, answer(200, "application/json", tinyMembers()), Options{Members: true, MembersMax: 10},
			`more than 10 members to export in the (lan|wan) pool: raise --collector.members.max`, "", 0},
		{"4 MiB of tiny members, servers only", consul.PathMembers, answer(200, "application/json", tinyMembers()), Options{Members: true, MembersServersOnly: true},
			"timeout", "", 0},
		{"4 MiB autopilot server list", consul.PathAutopilot, answer(200, "application/json", servers.String()), Options{Autopilot: true},
			`/v1/operator/autopilot/health: more than 256 servers listed: raise --collector.autopilot.max-servers`, "", 5 * time.Second},
		{"series cap", consul.PathMembers, answer(200, "application/json", fourMembers), Options{Members: true, MaxSeries: 12},
			`more than 12 series in one scrape: raise --collector.max-series`, "", 0},
		{"series cap not reached", consul.PathMembers, answer(200, "application/json", fourMembers), Options{Members: true, MaxSeries: 40},
			"", `consul_serf_member_info{address="10.0.0.3:8301",member="client-node-000003",pool="wan",role="consul",version="1.22.6"}`, 0},
		{"endless member list", consul.PathMembers, endlessMembers, Options{Members: true, MembersServersOnly: true},
			`no answer within the scrape timeout of 300ms`, "", 0},
		{"one member of 1 MiB", consul.PathMembers, stream(1<<20, `[{"Name":"`, `"}]`), Options{Members: true},
			`a member larger than 16 KiB, which no Consul member is`, "", 0},
		{"a member name of 600 bytes", consul.PathMembers, answer(200, "application/json", `[{"Name":"`+strings.Repeat("n", 600)+`"}]`), Options{Members: true},
			`member "nnnn.*: a name, address, version or role of 600 bytes`, "", 0},
		{"a member role of 15,000 bytes", consul.PathMembers, answer(200, "application/json", `[{"Name":"client-1","Tags":{"role":"`+strings.Repeat("r", 15000)+`"}}]`), Options{Members: true},
			`member "client-1": a name, address, version or role of 15000 bytes; /v1/agent/members\?wan=1: member "client-1": a name`, "", 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			baseline := runtime.NumGoroutine()
			allocated := totalAlloc()
			fake := startFakeConsul(t, map[string]behaviour{c.path: c.do})
			closed := false
			defer func() {
				if !closed {
					fake.Close(t)
				}
			}()
			budget := cmp.Or(c.budget, hostileBudget)
			r := scrapeExporterWith(t, fake.URL(), HandlerOptions{Timeout: budget, Collectors: c.opts}, mustClient(t, testToken))
			if r.took > budget+scrapeSlack {
				t.Errorf("scrape took %v, budget %v", r.took, budget)
			}
			r.checkOutcome(t, nil)
			endpoint := endpointOfPath[c.path]
			series := fmt.Sprintf(`consul_scrape_endpoint_success{endpoint="%s"}`, endpoint)
			errs := loggedErrors(t, r.log, endpoint)
			switch c.failed {
			case "":
				if r.metrics[series] != "1" || len(errs) > 0 {
					t.Errorf("%s = %q, errors %q", series, r.metrics[series], errs)
				}
			case "timeout": // done in time or cut at the deadline, both bounded
				if len(errs) > 0 && !strings.Contains(errs[0], "no answer within the scrape timeout") {
					t.Errorf("logged %q", errs)
				}
			default:
				if r.metrics[series] != "0" {
					t.Errorf("%s = %q, want 0", series, r.metrics[series])
				}
				if len(errs) != 1 || !regexp.MustCompile(c.failed).MatchString(errs[0]) || strings.ContainsAny(errs[0], "\n\r") {
					t.Errorf("want one error, on one line, matching %q, got %q", c.failed, errs)
				}
			}
			if c.series != "" && r.metrics[c.series] != "1" {
				t.Errorf("%s = %q, want 1\n%s", c.series, r.metrics[c.series], r.body)
			}
			if n := len(r.metrics); n > 200 {
				t.Errorf("%d series exposed", n)
			}
			r.client.CloseIdleConnections()
			waitExporterIdle(t, 2*time.Second)
			fake.Close(t)
			closed = true
			waitGoroutines(t, baseline, 2, 2*time.Second)
			grew := totalAlloc() - allocated
			t.Logf("scrape took %v (the %s job %ss), allocated %.1f MiB, exposed %d bytes", r.took, endpoint,
				r.metrics[fmt.Sprintf(`consul_scrape_endpoint_duration_seconds{endpoint="%s"}`, endpoint)], float64(grew)/(1<<20), len(r.body))
		})
	}
}
