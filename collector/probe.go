package collector

import (
	"container/list"
	"fmt"
	"net/http"
	"regexp"
	"sync"

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
// /metrics, for any allowed agent, gathered by a collector made for the
// request (the exporter's own go_/process_ metrics stay on /metrics). A bad or missing
// target is a 400, a target outside the allow-list a 403 with nothing sent
// to it; a failed probe is data (consul_up 0, HTTP 200).
func ProbeHandler(client *consul.Client, allow *AllowList, defaultScheme string, o HandlerOptions) http.Handler {
	cache := newAgentCache(MaxProbeTargets)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		target := r.URL.Query().Get("target")
		if target == "" {
			plainError(w, "missing target parameter: /probe?target=host:port", http.StatusBadRequest)
			return
		}
		base, err := consul.ParseTarget(target, defaultScheme)
		if err != nil {
			plainError(w, err.Error(), http.StatusBadRequest)
			return
		}
		if !allow.Allows(base.Host) {
			plainError(w, fmt.Sprintf("target %q is not allowed by --probe.allowed-targets", base.Host), http.StatusForbidden)
			return
		}
		agent := cache.get(base.String(), func() *consul.Agent { return client.NewAgent(base) })
		ctx, cancel := consul.WithTimeout(r.Context(), o.ScrapeTimeout(r))
		defer cancel()
		serve(w, r, o.Logger, New(ctx, agent, o.Logger, o.Collectors))
	})
}

// plainError answers with one line of text that no browser renders as HTML,
// so a target echoed in it cannot inject anything.
func plainError(w http.ResponseWriter, msg string, code int) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(code)
	fmt.Fprintln(w, msg)
}
