package consul

import (
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// MaxTokenFileBytes bounds what is read of a token file. A Consul token is
// a 36-character UUID; a bigger file is a mistake (or /dev/zero).
const MaxTokenFileBytes = 64 << 10

// racyWindow: a file modified this recently is re-read on every scrape even
// if its size and time look unchanged, since file times are coarse (a tick
// of the kernel's clock) and two writes of the same length within one tick
// look alike. Git treats its index the same way.
const racyWindow = 2 * time.Second

// Token supplies the ACL token sent as X-Consul-Token, and the Redactor that
// keeps it out of labels and logs. A token file is re-read when it changes
// (a stat per scrape), so a rotated token takes effect on the next scrape
// without a restart. Only a regular file of at most MaxTokenFileBytes is
// read, opened without blocking, so a FIFO or a device in its place cannot
// hang a scrape. A read that finds the file missing, empty, oversized or not
// regular keeps the last good token: once a token was read, a request never
// goes out without one. At most one scrape re-reads at a time, and no scrape
// waits for it: the others use the token in hand.
type Token struct {
	path string
	cur  atomic.Pointer[tokenValue]

	reload sync.Mutex // held by the one scrape re-reading; never waited for
	// Guarded by reload:
	seen     fs.FileInfo // the file as last read well
	reported string      // the problem last reported, so it is reported once
}

type tokenValue struct {
	value string
	red   *Redactor
}

// NewToken returns a token read from path when path is set, otherwise the
// fixed value (which may be empty: no token). A token file that cannot be
// read, is empty or is not a regular file is an error at start-up, where an
// operator sees it at once.
func NewToken(path, value string) (*Token, error) {
	t := &Token{path: path}
	if path == "" {
		v := strings.TrimSpace(value)
		if err := oneLine(v); err != nil {
			return nil, fmt.Errorf("CONSUL_HTTP_TOKEN: %w", err)
		}
		t.cur.Store(&tokenValue{value: v, red: NewRedactor(v)})
		return t, nil
	}
	fi, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("token file: %w", err)
	}
	if err := t.read(fi); err != nil {
		return nil, err
	}
	return t, nil
}

// current returns the token to send now and its Redactor. When the file has
// become unusable, the last good token stays in use and the error says why,
// once per problem, so that a half-finished rotation neither turns into ACL
// denials nor floods the log.
func (t *Token) current() (string, *Redactor, error) {
	if t == nil {
		return "", nil, nil
	}
	var err error
	if t.path != "" {
		err = t.refresh()
	}
	v := t.cur.Load()
	return v.value, v.red, err
}

// refresh re-reads the file if it changed, unless another scrape is at it.
func (t *Token) refresh() error {
	if !t.reload.TryLock() {
		return nil
	}
	defer t.reload.Unlock()
	fi, err := os.Stat(t.path)
	switch {
	case err != nil:
		err = fmt.Errorf("token file: %w", err)
	case t.seen != nil && os.SameFile(fi, t.seen) && fi.Size() == t.seen.Size() &&
		fi.ModTime().Equal(t.seen.ModTime()) && time.Since(fi.ModTime()) > racyWindow:
		return nil // unchanged since the last good read
	default:
		err = t.read(fi)
	}
	if err == nil {
		t.reported = ""
		return nil
	}
	err = fmt.Errorf("%w; still using the token read before", err)
	if err.Error() == t.reported {
		return nil
	}
	t.reported = err.Error()
	return err
}

// read reads the token file that stat found as fi. Caller holds reload (or
// is NewToken).
func (t *Token) read(fi fs.FileInfo) error {
	if err := tokenFileKind(t.path, fi); err != nil {
		return err
	}
	// O_NONBLOCK: should a FIFO take the file's place between the stat and
	// the open, the open returns at once instead of waiting for a writer.
	f, err := os.OpenFile(t.path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return fmt.Errorf("token file: %w", err)
	}
	defer f.Close()
	opened, err := f.Stat()
	if err != nil {
		return fmt.Errorf("token file: %w", err)
	}
	if err := tokenFileKind(t.path, opened); err != nil {
		return err
	}
	b, err := io.ReadAll(io.LimitReader(f, MaxTokenFileBytes+1))
	if err != nil {
		return fmt.Errorf("token file: %w", err)
	}
	if len(b) > MaxTokenFileBytes {
		return fmt.Errorf("token file %s: more than %d KiB, too large for an ACL token", t.path, MaxTokenFileBytes>>10)
	}
	v := strings.TrimSpace(string(b))
	if v == "" {
		// Truncated by a writer that has yet to write (editors, config
		// tools): the next scrape looks again.
		return fmt.Errorf("token file %s is empty", t.path)
	}
	if err := oneLine(v); err != nil {
		return fmt.Errorf("token file %s: %w", t.path, err)
	}
	t.cur.Store(&tokenValue{value: v, red: NewRedactor(v)})
	t.seen = opened
	return nil
}

// oneLine refuses a token no HTTP header can carry: Go would refuse every
// request with "invalid header field value", naming no file. A second line
// (a comment, a CRLF) or a file of another kind (/proc/self/status) is
// caught here, where the message can say which.
func oneLine(v string) error {
	for i := 0; i < len(v); i++ {
		if c := v[i]; (c < ' ' && c != '\t') || c == 0x7f {
			return fmt.Errorf("control character %#02x at byte %d: an ACL token is one line of text", c, i)
		}
	}
	return nil
}

// tokenFileKind refuses anything but a regular file of a sane size.
func tokenFileKind(path string, fi fs.FileInfo) error {
	m := fi.Mode()
	switch {
	case m&fs.ModeNamedPipe != 0:
		return fmt.Errorf("token file %s is a named pipe (FIFO), not a regular file: it could block every scrape", path)
	case m.IsDir():
		return fmt.Errorf("token file %s is a directory", path)
	case !m.IsRegular():
		return fmt.Errorf("token file %s is not a regular file (%s)", path, m.Type())
	case fi.Size() > MaxTokenFileBytes:
		return fmt.Errorf("token file %s: %d bytes is too large for an ACL token (limit %d KiB)", path, fi.Size(), MaxTokenFileBytes>>10)
	}
	return nil
}

// Redact masks the last token read in s, for the process's logger, which
// must not re-read the file on every line.
func (t *Token) Redact(s string) string { return t.cur.Load().red.Redact(s) }
