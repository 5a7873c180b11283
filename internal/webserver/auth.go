package webserver

import (
	"container/list"
	"crypto/sha256"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"golang.org/x/crypto/bcrypt"
	"golang.org/x/time/rate"
)

// authHandler is exporter-toolkit's web handler (web/handler.go in v0.20.0:
// the file re-read on every request, rate_limit, the extra headers, basic
// auth), with its password checking changed. The toolkit checks every
// uncached password under one mutex and caches 100 results, failures too,
// with random eviction: callers sending distinct wrong passwords evicted a
// scraper's cached success, and its next scrape waited behind all of them
// (96 callers: an already authenticated scrape took 6.3 s; docs/security.md,
// "Basic auth under guessing").
// Here:
//   - only successes are cached, keyed by a SHA-256 of user, stored hash
//     and password (a changed hash or password is a new key), least
//     recently used forgotten first: a guess can neither evict nor enter
//     the cache;
//   - a request whose credentials are not cached waits at most
//     checkWait for one of maxChecks bcrypt slots, then is answered 503:
//     guesses cost at most maxChecks cores, and a flood of them queues no
//     further than that wait.
type authHandler struct {
	path    string
	next    http.Handler
	logger  *slog.Logger
	limiter *rate.Limiter
	checks  chan struct{}
	busy    everyMinute

	mu    sync.Mutex
	order *list.List // of [32]byte, most recently used first
	ok    map[[32]byte]*list.Element
}

const (
	// maxChecks bcrypt comparisons run at once: at most one core on
	// passwords, as the toolkit's mutex allowed.
	maxChecks = 1
	// checkWait is how long unknown credentials wait for a check slot.
	checkWait = 500 * time.Millisecond
	// maxCachedLogins bounds the successes remembered; only holders of a
	// valid password can add one.
	maxCachedLogins = 256
)

// compareHashAndPassword is bcrypt's; tests count the calls.
var compareHashAndPassword = bcrypt.CompareHashAndPassword

// fakeHash is checked for an unknown user, so that a missing user takes as
// long as a wrong password (the toolkit's: bcrypt of "fakepassword").
const fakeHash = "$2y$10$QOauhQNbBCuQDKes6eFzPeMqBSjb7Mr5DUmpZ/VcEd00UAV/LDeSi"

func newAuthHandler(path string, next http.Handler, limiter *rate.Limiter, logger *slog.Logger) *authHandler {
	return &authHandler{path: path, next: next, logger: logger, limiter: limiter,
		checks: make(chan struct{}, maxChecks), order: list.New(), ok: map[[32]byte]*list.Element{}}
}

func (h *authHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	c, err := readConfig(h.path)
	if err != nil {
		h.logger.Error("Unable to parse configuration", "err", err.Error())
		http.Error(w, http.StatusText(http.StatusInternalServerError), http.StatusInternalServerError)
		return
	}
	if h.limiter != nil && !h.limiter.Allow() {
		http.Error(w, http.StatusText(http.StatusTooManyRequests), http.StatusTooManyRequests)
		return
	}
	for k, v := range c.HTTPConfig.Header {
		w.Header().Set(k, v)
	}
	if len(c.Users) == 0 {
		h.next.ServeHTTP(w, r)
		return
	}
	if user, pass, ok := r.BasicAuth(); ok {
		hash, known := c.Users[user]
		if !known {
			hash = fakeHash
		}
		key := sha256.Sum256([]byte(user + "\x00" + string(hash) + "\x00" + pass))
		if known && h.cached(key) {
			h.next.ServeHTTP(w, r)
			return
		}
		wait := time.NewTimer(checkWait)
		select {
		case h.checks <- struct{}{}:
			wait.Stop()
		case <-wait.C:
			if h.busy.due() {
				h.logger.Warn("Too many password checks at once: answered 503", "max_concurrent", maxChecks)
			}
			http.Error(w, "too many password checks at once, try again later", http.StatusServiceUnavailable)
			return
		case <-r.Context().Done():
			wait.Stop()
			return
		}
		err := compareHashAndPassword([]byte(hash), []byte(pass))
		<-h.checks
		if known && err == nil {
			h.remember(key)
			h.next.ServeHTTP(w, r)
			return
		}
	}
	w.Header().Set("WWW-Authenticate", "Basic")
	http.Error(w, http.StatusText(http.StatusUnauthorized), http.StatusUnauthorized)
}

func (h *authHandler) cached(key [32]byte) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	e, ok := h.ok[key]
	if ok {
		h.order.MoveToFront(e)
	}
	return ok
}

func (h *authHandler) remember(key [32]byte) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if _, ok := h.ok[key]; ok {
		return
	}
	h.ok[key] = h.order.PushFront(key)
	if h.order.Len() > maxCachedLogins {
		oldest := h.order.Back()
		h.order.Remove(oldest)
		delete(h.ok, oldest.Value.([32]byte))
	}
}
