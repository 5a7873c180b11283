package webserver

import (
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"
)

func authFixture(t *testing.T) (*authHandler, *atomic.Int64) {
	t.Helper()
	hash, err := bcrypt.GenerateFromPassword([]byte("s3cret"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "web.yml")
	if err := os.WriteFile(path, []byte(fmt.Sprintf("basic_auth_users:\n  prometheus: %s\n", hash)), 0o600); err != nil {
		t.Fatal(err)
	}
	// bcrypt itself is slow (seconds a thousand under -race) and not what
	// is tested: the same answers, counted.
	var checks atomic.Int64
	orig := compareHashAndPassword
	compareHashAndPassword = func(h, p []byte) error {
		checks.Add(1)
		if string(h) == string(hash) && string(p) == "s3cret" {
			return nil
		}
		return bcrypt.ErrMismatchedHashAndPassword
	}
	t.Cleanup(func() { compareHashAndPassword = orig })
	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {})
	return newAuthHandler(path, ok, nil, slog.New(slog.DiscardHandler)), &checks
}

func status(h http.Handler, user, pass string) int {
	r := httptest.NewRequest("GET", "/metrics", nil)
	r.SetBasicAuth(user, pass)
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w.Code
}

// A thousand distinct wrong passwords (and unknown users) do not evict a
// scraper's cached success: its next request costs no bcrypt check. With
// exporter-toolkit's cache (100 results, failures too, random eviction) it
// was gone after a few hundred.
func TestFailedGuessesDoNotEvictASuccess(t *testing.T) {
	h, checks := authFixture(t)
	if c := status(h, "prometheus", "s3cret"); c != 200 {
		t.Fatalf("HTTP %d for the right password", c)
	}
	for i := range 1000 {
		user := "prometheus"
		if i%2 == 1 {
			user = fmt.Sprintf("user-%d", i)
		}
		if c := status(h, user, fmt.Sprintf("guess-%d", i)); c != http.StatusUnauthorized {
			t.Fatalf("HTTP %d for a wrong password", c)
		}
	}
	before := checks.Load()
	if c := status(h, "prometheus", "s3cret"); c != 200 {
		t.Fatalf("HTTP %d for the right password after the guesses", c)
	}
	if n := checks.Load() - before; n != 0 {
		t.Errorf("the cached success was evicted by failed guesses: %d bcrypt checks", n)
	}
	if len(h.ok) != 1 {
		t.Errorf("%d cached successes, want 1", len(h.ok))
	}
}

// At most maxChecks checks run at once; the rest wait checkWait, then 503.
func TestGuessChecksBounded(t *testing.T) {
	h, _ := authFixture(t)
	var running, peak atomic.Int64
	counted := compareHashAndPassword
	compareHashAndPassword = func(hash, p []byte) error {
		n := running.Add(1)
		for old := peak.Load(); n > old && !peak.CompareAndSwap(old, n); old = peak.Load() {
		}
		time.Sleep(100 * time.Millisecond)
		running.Add(-1)
		return counted(hash, p)
	}
	var wg sync.WaitGroup
	var busy, refused atomic.Int64
	start := time.Now()
	for i := range 50 {
		wg.Go(func() {
			switch status(h, "prometheus", fmt.Sprint(i)) {
			case http.StatusServiceUnavailable:
				busy.Add(1)
			case http.StatusUnauthorized:
				refused.Add(1)
			}
		})
	}
	wg.Wait()
	took := time.Since(start)
	if peak.Load() > maxChecks {
		t.Errorf("%d checks at once, want at most %d", peak.Load(), maxChecks)
	}
	if busy.Load() == 0 || busy.Load()+refused.Load() != 50 {
		t.Errorf("%d answered 503, %d 401, of 50", busy.Load(), refused.Load())
	}
	if took > 3*time.Second {
		t.Errorf("50 guesses took %v: they queued", took)
	}
}
