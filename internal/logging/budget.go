package logging

import (
	"sync"
	"time"
)

// BudgetConfig is the process-wide log budget. The collector's per-endpoint limiter folds
// repeats of one agent endpoint; it cannot see a caller who probes a
// different dead target each time (three lines per probe: 13,000-20,000
// lines in 3 s from 4 callers without the budget), or the lines the
// standard library writes for the exporter (one per broken TLS handshake:
// 16,000 in 3 s), both measured in docs/security.md's section on the log.
// The budget sits under every line the process writes.
//
// A line is let through while the shared bucket has a token (Burst at
// first, refilled by one every Refill). A line whose kind (its message, up
// to the first digit or quote) the process has not written before also
// gets through on a bucket of its own (NewKinds, refilled by one per
// NewKindRefill), so that the first line of a genuinely new failure is not
// lost under someone else's flood. Whatever is held back is counted, and
// one summary line per Summary says how many lines of how many kinds were
// not logged.
type BudgetConfig struct {
	Burst         int
	Refill        time.Duration
	NewKinds      int
	NewKindRefill time.Duration
	Summary       time.Duration
}

// DefaultBudget is at most 100+20 lines in the first seconds of any flood,
// then 6 a minute, one new kind a minute, and the summary.
var DefaultBudget = BudgetConfig{
	Burst:         100,
	Refill:        10 * time.Second,
	NewKinds:      20,
	NewKindRefill: time.Minute,
	Summary:       time.Minute,
}

// maxKinds bounds the kinds remembered; past it no kind counts as new.
const maxKinds = 1024

type budget struct {
	cfg BudgetConfig
	now func() time.Time
	// summarize writes the summary line; called without mu held.
	summarize func(notLogged, kinds int, top string, over time.Duration)
	after     func(time.Duration, func()) // time.AfterFunc; tests run it by hand

	mu            sync.Mutex
	tokens        float64
	newTokens     float64
	filled        time.Time // when the buckets were last refilled
	kinds         map[string]struct{}
	held          map[string]int // kind -> lines not logged since the last summary
	heldTotal     int
	lastSummary   time.Time
	summaryQueued bool
}

func newBudget(cfg BudgetConfig, now func() time.Time) *budget {
	t := now()
	return &budget{cfg: cfg, now: now, after: func(d time.Duration, f func()) { time.AfterFunc(d, f) }, tokens: float64(cfg.Burst), newTokens: float64(cfg.NewKinds),
		filled: t, lastSummary: t, kinds: map[string]struct{}{}, held: map[string]int{}}
}

// allow reports whether a line of kind may be written now.
func (b *budget) allow(kind string) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	now := b.now()
	if d := now.Sub(b.filled); d > 0 {
		b.tokens = min(float64(b.cfg.Burst), b.tokens+float64(d)/float64(b.cfg.Refill))
		b.newTokens = min(float64(b.cfg.NewKinds), b.newTokens+float64(d)/float64(b.cfg.NewKindRefill))
		b.filled = now
	}
	if _, seen := b.kinds[kind]; !seen && len(b.kinds) < maxKinds {
		b.kinds[kind] = struct{}{}
		if b.newTokens >= 1 {
			b.newTokens--
			return true
		}
	}
	if b.tokens >= 1 {
		b.tokens--
		return true
	}
	if _, ok := b.held[kind]; ok || len(b.held) < maxKinds {
		b.held[kind]++
	}
	b.heldTotal++
	if !b.summaryQueued {
		b.summaryQueued = true
		wait := max(0, b.lastSummary.Add(b.cfg.Summary).Sub(now))
		b.after(wait, b.flush)
	}
	return false
}

// flush writes the summary of the lines held back since the last one.
func (b *budget) flush() {
	b.mu.Lock()
	n, kinds, top, topN := b.heldTotal, len(b.held), "", 0
	for k, c := range b.held {
		if c > topN || (c == topN && k < top) {
			top, topN = k, c
		}
	}
	now := b.now()
	over := now.Sub(b.lastSummary)
	b.held, b.heldTotal, b.lastSummary, b.summaryQueued = map[string]int{}, 0, now, false
	b.mu.Unlock()
	if n > 0 {
		b.summarize(n, kinds, top, over)
	}
}

// kindOf is what makes two lines similar: their message up to the first
// digit, quote or equals sign (addresses, ports, quoted bytes), at most 64
// bytes. Lines from the standard library carry a caller's address or an
// agent's bytes after a fixed start; the exporter's own messages are fixed.
func kindOf(msg string) string {
	for i := 0; i < len(msg); i++ {
		if c := msg[i]; c >= '0' && c <= '9' || c == '"' || c == '\'' || c == '=' || i == 64 {
			return msg[:i]
		}
	}
	return msg
}
