package collector

import (
	"container/list"
	"context"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"sync"
	"time"

	"github.com/go-kit/log/level"

	"github.com/consul-status-exporter/consul_status_exporter/collector/consul"
)

// AllowList decides which targets /probe may contact. The pattern is fully
// anchored and matched against the target's host:port as ParseTarget
// normalises it, before any DNS lookup or connection.
type AllowList struct{ re *regexp.Regexp }

// NewAllowList compiles pattern as ^(?:pattern)$.
func NewAllowList(pattern string) (*AllowList, error) {
	re, err := regexp.Compile(`^(?:` + pattern + `)$`)
	if err != nil {
		return nil, fmt.Errorf("--probe.allowed-targets: %w", err)
	}
	return &AllowList{re: re}, nil
}

// Allows reports whether hostport may be probed.
func (a *AllowList) Allows(hostport string) bool { return a.re.MatchString(hostport) }

// agentCache keeps what was learned about recently probed agents (the info
// fallback) and nothing else, bounded so that a stream of distinct targets
// cannot grow memory: the least recently probed agent is forgotten first.
type agentCache struct {
	max int

	mu    sync.Mutex
	order *list.List // of *consul.Agent, most recent first
	byURL map[string]*list.Element
}

func newAgentCache(max int) *agentCache {
	return &agentCache{max: max, order: list.New(), byURL: map[string]*list.Element{}}
}

func (ac *agentCache) get(base string, build func() *consul.Agent) *consul.Agent {
	ac.mu.Lock()
	defer ac.mu.Unlock()
	if e, ok := ac.byURL[base]; ok {
		ac.order.MoveToFront(e)
		return e.Value.(*consul.Agent)
	}
	a := build()
	ac.byURL[base] = ac.order.PushFront(a)
	if ac.order.Len() > ac.max {
		oldest := ac.order.Back()
		ac.order.Remove(oldest)
		delete(ac.byURL, oldest.Value.(*consul.Agent).String())
	}
	return a
}

func (ac *agentCache) len() int {
	ac.mu.Lock()
	defer ac.mu.Unlock()
	return ac.order.Len()
}

// MaxProbeTargets bounds the agents /probe remembers.
const MaxProbeTargets = 4096

// ProbeHandler serves /probe?target=<agent>: the same Consul metrics as
// /metrics, for any allowed agent, gathered by the handler's one collector
// (the exporter's own go_/process_ metrics stay on /metrics). A bad or missing
// target is a 400, a target outside the allow-list a 403 with nothing sent
// to it; a failed probe is data (consul_up 0, HTTP 200). serverScheme is
// --consul.server's: the scheme of a target written without one, and the
// weakest one a target may have. At most o.MaxConcurrentProbes probes run
// at once; one that finds no free slot within half its scrape timeout is a
// 503.
func ProbeHandler(client *consul.Client, allow *AllowList, serverScheme string, o HandlerOptions) http.Handler {
	cache := newAgentCache(MaxProbeTargets)
	c := New(o.Logger, o.Collectors)
	var slots chan struct{}
	if o.MaxConcurrentProbes > 0 {
		slots = make(chan struct{}, o.MaxConcurrentProbes)
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		base, code, msg := admit(r.URL.Query().Get("target"), allow, serverScheme)
		if base == nil {
			plainError(w, msg, code)
			return
		}
		budget := o.ScrapeTimeout(r)
		ctx, cancel := context.WithTimeout(r.Context(), budget)
		defer cancel()
		if slots != nil {
			// Each probe may hold a scrape's worth of memory: the slots
			// bound them all together. Waiting for one takes at most half
			// the budget, so that a probe that gets one still has time
			// for its agent, and one that does not fails as the
			// exporter's fault (Prometheus's up 0), not the agent's.
			wait := time.NewTimer(budget / 2)
			select {
			case slots <- struct{}{}:
				wait.Stop()
				defer func() { <-slots }()
			case <-wait.C:
				if o.ProbesRejected != nil {
					o.ProbesRejected.Inc()
				}
				if d := o.Collectors.LogLimit.failure("/probe busy", ""); d.log {
					level.Warn(o.Logger).Log(d.with("msg", "Too many probes at once: answered 503", "max_concurrent", o.MaxConcurrentProbes)...)
				}
				plainError(w, fmt.Sprintf("more than %d probes at once (--probe.max-concurrent): no slot within %s", o.MaxConcurrentProbes, budget/2), http.StatusServiceUnavailable)
				return
			case <-ctx.Done():
				wait.Stop()
				return // the caller went away
			}
		}
		agent := cache.get(base.String(), func() *consul.Agent { return client.NewAgent(base) })
		samples := c.scrape(ctx, agent, budget)
		serve(w, r, o.Logger, samples, nil)
	})
}

// admit turns a /probe target into the base URL the exporter will dial, or
// says why not: the HTTP status and a message. Nothing here looks up a name
// or connects anywhere.
func admit(target string, allow *AllowList, serverScheme string) (*url.URL, int, string) {
	if target == "" {
		return nil, http.StatusBadRequest, "missing target parameter: /probe?target=host:port"
	}
	base, err := consul.ParseTarget(target, serverScheme)
	if err != nil {
		return nil, http.StatusBadRequest, err.Error()
	}
	// An agent behind an https --consul.server is never spoken to in
	// clear text: that would send the ACL token (and whatever the agent
	// answers) over the wire unencrypted, on the word of any caller of
	// /probe. This holds with no token configured too: a token file can
	// gain one at any moment.
	if serverScheme == "https" && base.Scheme != "https" {
		return nil, http.StatusBadRequest, fmt.Sprintf("target %q: --consul.server uses https, so /probe does too; a plain http target is refused", base.Host)
	}
	if !allow.Allows(base.Host) {
		return nil, http.StatusForbidden, fmt.Sprintf("target %q is not allowed by --probe.allowed-targets", base.Host)
	}
	return base, http.StatusOK, ""
}

// plainError answers with one line of text that no browser renders as HTML,
// so a target echoed in it cannot inject anything.
func plainError(w http.ResponseWriter, msg string, code int) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(code)
	fmt.Fprintln(w, msg)
}
