package collector

import (
	"fmt"
	"sync"
	"testing"
	"time"
)

// testLimiter is a limiter on a clock the test moves.
func testLimiter(interval time.Duration, max int) (*LogLimiter, func(time.Duration)) {
	l := NewLogLimiter(interval, max)
	var mu sync.Mutex
	now := time.Unix(1e9, 0)
	l.now = func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	return l, func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }
}

func TestLogLimiter(t *testing.T) {
	l, advance := testLimiter(time.Minute, 8)
	if d := l.failure("a", "refused"); !d.log || d.suppressed != 0 {
		t.Fatalf("first failure: %+v, want it logged as it is", d)
	}
	for range 9 {
		advance(time.Second)
		if d := l.failure("a", "refused"); d.log {
			t.Fatalf("failure within the interval logged: %+v", d)
		}
	}
	// Another key is news.
	if d := l.failure("b", "timeout"); !d.log {
		t.Fatal("another key's first failure was not logged")
	}
	// A success within the interval keeps the count: a flapping agent
	// still gets one line per interval.
	if d := l.success("a"); d.log {
		t.Fatalf("success within the interval logged: %+v", d)
	}
	if d := l.failure("a", "refused again"); d.log {
		t.Fatal("a failure after a success within the interval was logged")
	}
	advance(time.Minute)
	if d := l.failure("a", "refused"); !d.log || d.suppressed != 10 || d.over != 69*time.Second {
		t.Fatalf("first failure after the interval: %+v, want logged with 10 not logged over 69s", d)
	}
	// The count starts again; a success after the interval reports it,
	// with the last error, and forgets the key.
	l.failure("a", "refused twice")
	advance(2 * time.Minute)
	if d := l.success("a"); !d.log || d.suppressed != 1 || d.lastErr != "refused twice" {
		t.Fatalf("success after the interval: %+v", d)
	}
	if d := l.failure("a", "refused"); !d.log || d.suppressed != 0 {
		t.Fatalf("failure after a reported recovery: %+v, want logged as news", d)
	}
	// A success after the interval with nothing suppressed says nothing.
	advance(2 * time.Minute)
	if d := l.success("a"); d.log {
		t.Fatalf("recovery with nothing suppressed logged: %+v", d)
	}
	// A nil limiter logs every failure and no success.
	var none *LogLimiter
	for range 3 {
		if !none.failure("a", "x").log || none.success("a").log {
			t.Error("a nil limiter folded something")
		}
	}
}

// The limiter remembers at most max keys, and a long error is kept short.
func TestLogLimiterBounded(t *testing.T) {
	l, _ := testLimiter(time.Minute, 8)
	long := string(make([]byte, 1<<20))
	for i := range 1000 {
		l.failure(fmt.Sprint(i), long)
		l.failure(fmt.Sprint(i), long)
	}
	if n := l.len(); n != 8 {
		t.Errorf("%d keys kept, want 8", n)
	}
	l.mu.Lock()
	for _, e := range l.runs {
		if r := e.Value.(*logRun); len(r.lastErr) > maxKeptErr+len("…") {
			t.Errorf("kept %d bytes of error text", len(r.lastErr))
		}
	}
	l.mu.Unlock()
	// The most recently failed keys are the ones kept.
	if d := l.failure("999", "x"); d.log {
		t.Error("the most recent key was forgotten")
	}
	if d := l.failure("0", "x"); !d.log {
		t.Error("the oldest key was kept")
	}
}

// Many scrapes at once: every failure is counted exactly once (-race
// checks the locking).
func TestLogLimiterConcurrent(t *testing.T) {
	l, advance := testLimiter(time.Minute, 64)
	var wg sync.WaitGroup
	var mu sync.Mutex
	logged := 0
	for range 8 {
		wg.Go(func() {
			for range 100 {
				if l.failure("k", "x").log {
					mu.Lock()
					logged++
					mu.Unlock()
				}
				l.success("other")
			}
		})
	}
	wg.Wait()
	advance(time.Minute)
	if d := l.failure("k", "x"); logged != 1 || !d.log || d.suppressed != 799 {
		t.Errorf("800 concurrent failures: %d logged, then %+v; want 1, then 799 not logged", logged, d)
	}
}
