package consul

import (
	"fmt"
	"os"
	"strings"
	"sync"
	"time"
)

// Token supplies the ACL token sent as X-Consul-Token. A token file is
// re-read when its size or modification time changes, so a rotated token
// takes effect on the next scrape without a restart; a stat per scrape is
// all it costs. The token itself is never put into an error or a log line.
type Token struct {
	path string

	mu      sync.Mutex
	value   string
	modTime time.Time
	size    int64
}

// NewToken returns a token read from path when path is set, otherwise the
// fixed value (which may be empty: no token). An unreadable file is an error
// at start-up, where an operator sees it at once.
func NewToken(path, value string) (*Token, error) {
	t := &Token{path: path, value: strings.TrimSpace(value)}
	if path != "" {
		if err := t.reload(); err != nil {
			return nil, err
		}
	}
	return t, nil
}

// Get returns the current token. If the file has become unreadable the last
// good token stays in use and the error says why, so a half-finished rotation
// does not turn into a wave of ACL denials.
func (t *Token) Get() (string, error) {
	if t == nil {
		return "", nil
	}
	if t.path == "" {
		return t.value, nil
	}
	err := t.reload()
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.value, err
}

func (t *Token) reload() error {
	fi, err := os.Stat(t.path)
	if err != nil {
		return fmt.Errorf("token file: %w", err)
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if fi.ModTime().Equal(t.modTime) && fi.Size() == t.size && !t.modTime.IsZero() {
		return nil
	}
	if fi.Size() > 64<<10 {
		return fmt.Errorf("token file %s: %d bytes is too large for an ACL token", t.path, fi.Size())
	}
	b, err := os.ReadFile(t.path)
	if err != nil {
		return fmt.Errorf("token file: %w", err)
	}
	t.value = strings.TrimSpace(string(b))
	t.modTime, t.size = fi.ModTime(), fi.Size()
	return nil
}
