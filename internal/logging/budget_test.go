package logging

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"time"
)

// fakeClock is a settable clock; timers queued on it run when the test says.
type fakeClock struct {
	t      time.Time
	queued []func()
}

func (c *fakeClock) now() time.Time { return c.t }

func (c *fakeClock) run() {
	q := c.queued
	c.queued = nil
	for _, f := range q {
		f()
	}
}

func newTestLogger(t *testing.T, cfg BudgetConfig) (*Logger, *bytes.Buffer, *fakeClock) {
	t.Helper()
	var buf bytes.Buffer
	c := &fakeClock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	l := newLogger(&buf, "info", "logfmt", cfg, c.now)
	l.budget.after = func(_ time.Duration, f func()) { c.queued = append(c.queued, f) }
	return l, &buf, c
}

func lines(buf *bytes.Buffer) []string {
	s := strings.TrimSpace(buf.String())
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}

// A flood of one kind (distinct /probe targets all fail with "Consul
// request failed", each with its own agent) gets the burst, then the
// refill, and a summary per interval that counts the rest.
func TestBudgetFloodOfOneKind(t *testing.T) {
	l, buf, c := newTestLogger(t, DefaultBudget)
	// The first seconds: 20,000 lines from 4 callers on main.
	for i := range 20000 {
		l.Kit.Log("level", "error", "msg", "Consul request failed", "agent", fmt.Sprintf("http://127.0.0.%d:8500", i%250))
		if i%5000 == 0 {
			c.t = c.t.Add(time.Second)
		}
	}
	first := len(lines(buf))
	if first > 120 || first < 50 {
		t.Errorf("%d lines in the first seconds of the flood, want 50-120", first)
	}
	// Ten more minutes of it, 100 lines a second.
	buf.Reset()
	for range 600 {
		c.t = c.t.Add(time.Second)
		for range 100 {
			l.Kit.Log("level", "error", "msg", "Consul request failed", "agent", "x")
		}
		if c.queued != nil && c.t.Sub(l.budget.lastSummary) >= DefaultBudget.Summary {
			c.run()
		}
	}
	got := lines(buf)
	summaries := 0
	for _, line := range got {
		if strings.Contains(line, "Log budget exceeded") {
			summaries++
			if !strings.Contains(line, "not_logged=") || !strings.Contains(line, `most_of="Consul request failed"`) {
				t.Errorf("summary without its count or kind: %s", line)
			}
		}
	}
	if perMin := float64(len(got)) / 10; perMin > 10 {
		t.Errorf("%.1f lines a minute under a steady flood, want at most 10:\n%s", perMin, strings.Join(got[:20], "\n"))
	}
	if summaries < 9 || summaries > 11 {
		t.Errorf("%d summaries in 10 minutes, want one a minute", summaries)
	}
}

// Under a flood, the first line of a kind never seen still gets out; a
// flood of ever new kinds (messages varied by a caller) is bounded too.
func TestBudgetNewKindGetsOut(t *testing.T) {
	l, buf, c := newTestLogger(t, DefaultBudget)
	for range 5000 {
		l.Kit.Log("level", "warn", "msg", "http: TLS handshake error from 127.0.0.1:4711: EOF")
	}
	buf.Reset()
	l.Kit.Log("level", "warn", "msg", "Could not re-read the ACL token file, using the last token read")
	if !strings.Contains(buf.String(), "Could not re-read") {
		t.Errorf("the first line of a new kind was held back under a flood of another")
	}
	buf.Reset()
	for i := range 5000 {
		l.Kit.Log("level", "warn", "msg", fmt.Sprintf("kind %c%c%c", 'a'+i%26, 'a'+i/26%26, 'a'+i/676%26))
	}
	if n := len(lines(buf)); n > DefaultBudget.NewKinds {
		t.Errorf("%d lines of distinct kinds, want at most %d", n, DefaultBudget.NewKinds)
	}
	c.t = c.t.Add(time.Hour)
	c.run()
	if !strings.Contains(buf.String(), "not_logged=") {
		t.Errorf("no summary:\n%s", buf.String())
	}
}

func TestKindOf(t *testing.T) {
	for in, want := range map[string]string{
		"http: TLS handshake error from 127.0.0.1:4711: EOF":                          "http: TLS handshake error from ",
		`Unsolicited response received on idle HTTP channel starting with "HTTP/1.1"`: "Unsolicited response received on idle HTTP channel starting with",
		"Consul request failed":  "Consul request failed",
		strings.Repeat("x", 100): strings.Repeat("x", 64),
	} {
		if got := kindOf(in); got != want {
			t.Errorf("kindOf(%q) = %q, want %q", in, got, want)
		}
	}
}
