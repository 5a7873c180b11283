package collector

import (
	"container/list"
	"sync"
	"time"

	"github.com/consul-status-exporter/consul_status_exporter/collector/consul"
)

// LogLimiter keeps repeated failures from flooding the log. /probe lets any
// caller scrape a dead admitted agent as often as it likes, and each scrape
// fails the same way: the first failure under a key (an agent's endpoint)
// is logged as it always was, the ones after it within the interval are
// only counted, and the next line for that key, at most one interval later,
// says how many were not logged. Failures are folded whatever their text,
// so that an agent varying its error bodies cannot flood the log either;
// the line that ends a quiet spell carries the latest error.
//
// It remembers at most max keys, least recently failed forgotten first, so
// a stream of distinct targets cannot grow it.
type LogLimiter struct {
	interval time.Duration
	max      int
	now      func() time.Time

	mu    sync.Mutex
	order *list.List // of *logRun, most recently failed first
	runs  map[string]*list.Element
}

// logRun is what the limiter knows of one key: when its last line was
// written and how many failures since then were not.
type logRun struct {
	key        string
	logged     time.Time
	suppressed int
	lastErr    string // of the last failure not logged
}

// NewLogLimiter logs each key at most once per interval, for at most max keys.
func NewLogLimiter(interval time.Duration, max int) *LogLimiter {
	return &LogLimiter{interval: interval, max: max, now: time.Now, order: list.New(), runs: map[string]*list.Element{}}
}

// logDecision is what to write for one event: nothing (log false), or a
// line, with how many failures went unlogged before it and over how long.
type logDecision struct {
	log        bool
	suppressed int
	over       time.Duration
	lastErr    string
}

// with returns kv and, for a line that ends a quiet spell, how many
// failures were not logged and over how long.
func (d logDecision) with(kv ...any) []any {
	if d.suppressed > 0 {
		kv = append(kv, "not_logged", d.suppressed, "over", d.over.Round(time.Second))
	}
	return kv
}

// failure records a failure under key, errText being what would be logged.
// A nil limiter logs every failure.
func (l *LogLimiter) failure(key, errText string) logDecision {
	if l == nil {
		return logDecision{log: true}
	}
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	if e, ok := l.runs[key]; ok {
		r := e.Value.(*logRun)
		l.order.MoveToFront(e)
		since := now.Sub(r.logged)
		if since < l.interval {
			r.suppressed++
			r.lastErr = consul.Cut(errText, maxKeptErr)
			return logDecision{}
		}
		d := logDecision{log: true, suppressed: r.suppressed, over: since}
		r.logged, r.suppressed, r.lastErr = now, 0, ""
		return d
	}
	l.runs[key] = l.order.PushFront(&logRun{key: key, logged: now})
	if l.order.Len() > l.max {
		oldest := l.order.Back()
		l.order.Remove(oldest)
		delete(l.runs, oldest.Value.(*logRun).key)
	}
	return logDecision{log: true}
}

// success records a success under key. Once the interval since the key's
// last line is over, the key is forgotten (its next failure is news and is
// logged at once), and failures not logged meanwhile are reported in one
// line. Within the interval the key is kept, so that an agent that fails
// every other scrape still gets one line per interval.
func (l *LogLimiter) success(key string) logDecision {
	if l == nil {
		return logDecision{}
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.runs) == 0 {
		return logDecision{}
	}
	e, ok := l.runs[key]
	if !ok {
		return logDecision{}
	}
	r := e.Value.(*logRun)
	since := l.now().Sub(r.logged)
	if since < l.interval {
		return logDecision{}
	}
	l.order.Remove(e)
	delete(l.runs, key)
	return logDecision{log: r.suppressed > 0, suppressed: r.suppressed, over: since, lastErr: r.lastErr}
}

// maxKeptErr bounds the error text kept per key: decoder errors are at most
// 2 KiB (the fuzz targets hold them to it), and a summary needs only their
// start.
const maxKeptErr = 512

func (l *LogLimiter) len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.order.Len()
}
