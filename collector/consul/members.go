package consul

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"
)

// MaxMemberBytes bounds one member of the list as it is decoded. A real
// member is 300-500 bytes (Consul 1.22); the list as a whole is not
// bounded in bytes, since it is decoded as a stream and only the kept
// members stay in memory: 50,000 members are some 18 MB (docs/security.md's
// caps table).
const MaxMemberBytes = 16 << 10

// maxLabelBytes bounds a member's name, address and version, which become
// label values: a node name is a DNS label of at most 63 bytes, and Consul
// allows 128 in practice.
const maxLabelBytes = 512

// Member is what the exporter reads of one Serf member of
// /v1/agent/members. Of the tags only role, build and dc are kept, so the others
// cost no map per member.
type Member struct {
	Name   string
	Addr   string
	Port   int
	Status int
	Tags   struct {
		Role  string `json:"role"`
		Build string `json:"build"`
		DC    string `json:"dc"` // the datacenter of a server in the WAN pool
	}
}

// MemberLimits are the caps a members request works within.
type MemberLimits struct {
	// ServersOnly keeps the Consul servers (role "consul") only.
	ServersOnly bool
	// Max is the most members kept per pool; more fail the request.
	Max int
}

// Members reads one Serf pool ("lan" or "wan") as a stream, keeping only
// what is exported (the Consul servers, with ServersOnly; a name once), and
// returns the kept members and how many the agent listed in all.
func (a *Agent) Members(ctx context.Context, token, pool string, lim MemberLimits) ([]Member, int, error) {
	path := PathMembers
	if pool == "wan" {
		path += "?wan=1"
	}
	resp, err := a.open(ctx, path, token)
	if err != nil {
		return nil, 0, fmt.Errorf("%s: %w", path, err)
	}
	defer resp.Body.Close()
	out, n, err := decodeMembers(ctx, resp.Body, pool, lim)
	if err != nil {
		var je *jsonError
		if errors.As(err, &je) && je.head != nil {
			// The error quotes the list's start: mask the token in it,
			// with the whole head read as context for a piece at the cut.
			NewRedactor(token).Mask(je.head)
		}
		return nil, n, fmt.Errorf("%s: %w", path, TransportError(ctx, err))
	}
	return out, n, nil
}

// decodeMembers decodes a JSON list of members from r, one member at a
// time, so memory holds one member and the kept samples, whatever the list's
// length. Consul encodes an empty list as null. A member is cut out of the
// stream by the structural scanner (jsonscan.go); only members that are
// exported are decoded in full, the others are checked for structure only:
// with servers-only, 50,000 members cost one pass of the scanner.
func decodeMembers(ctx context.Context, r io.Reader, pool string, lim MemberLimits) ([]Member, int, error) {
	const want = "a JSON list of members"
	in := &listReader{r: r}
	fail := func(err error, at int64) error {
		if errors.Is(err, errWindow) {
			return fmt.Errorf("a member larger than %d KiB, which no Consul member is", MaxMemberBytes>>10)
		}
		if je := wordJSONError(err, in.head, want, at); je != nil { // copies in.head
			return je
		}
		return err
	}
	c, err := in.peek()
	switch {
	case err == io.EOF:
		return nil, 0, fmt.Errorf("empty body, want %s", want)
	case err != nil:
		return nil, 0, err
	case c == 'n':
		at := in.pos()
		if raw, err := in.value(); err != nil || string(raw) != "null" {
			return nil, 0, syntaxAtPos(in, at, "want a JSON list")
		}
		return nil, 0, in.end(fail)
	case c != '[':
		// Not a list: say what it is, as encoding/json would.
		kind := map[byte]string{'{': "object", '"': "string", 't': "bool", 'f': "bool", '-': "number"}[c]
		if '0' <= c && c <= '9' {
			kind = "number"
		}
		if kind == "" {
			return nil, 0, syntaxAt(in, fmt.Sprintf("invalid character %q looking for beginning of value", c))
		}
		return nil, 0, fmt.Errorf("got a JSON %s, want %s", kind, want)
	}
	in.off++
	var out []Member
	seen := map[string]bool{}
	n := 0
	for {
		c, err := in.peek()
		if err != nil {
			return nil, n, fail(unexpectedEnd(err), in.pos())
		}
		if c == ']' && n == 0 {
			in.off++
			break
		}
		if n%64 == 0 {
			if err := expired(ctx); err != nil {
				return nil, n, err
			}
		}
		at := in.pos()
		raw, err := in.value()
		if err != nil {
			return nil, n, fail(err, at)
		}
		n++
		if c, err = in.peek(); err != nil {
			return nil, n, fail(unexpectedEnd(err), in.pos())
		}
		if c != ',' && c != ']' {
			return nil, n, syntaxAt(in, "want ',' or ']' after a member")
		}
		in.off++
		if err := keepMember(raw, pool, lim, seen, &out); err != nil {
			return nil, n, fail(err, at)
		}
		if c == ']' {
			break
		}
	}
	return out, n, in.end(fail)
}

// keepMember decodes raw and appends it unless the member is not exported
// (a client with servers-only, a name seen before).
func keepMember(raw []byte, pool string, lim MemberLimits, seen map[string]bool, out *[]Member) error {
	if lim.ServersOnly {
		if role, ok := memberRole(raw); ok && role != "consul" {
			return nil
		}
	}
	var m Member
	if err := json.Unmarshal(raw, &m); err != nil {
		return err
	}
	if (lim.ServersOnly && m.Tags.Role != "consul") || seen[m.Name] {
		return nil
	}
	for _, l := range []string{m.Name, m.Addr, m.Tags.Build, m.Tags.Role} {
		if len(l) > maxLabelBytes {
			return fmt.Errorf("member %s: a name, address, version or role of %d bytes", quote(m.Name), len(l))
		}
	}
	if len(m.Tags.DC) > maxLabelBytes {
		return fmt.Errorf("member %s: a datacenter of %d bytes", quote(m.Name), len(m.Tags.DC))
	}
	if len(seen) >= lim.Max {
		return fmt.Errorf("more than %d members to export in the %s pool: raise --collector.members.max, or use --collector.members.servers-only", lim.Max, pool)
	}
	seen[m.Name] = true
	*out = append(*out, m)
	return nil
}

// expired reports a context that is done or whose deadline has passed:
// the clock is read rather than waiting for the context's timer, which a
// machine busy decoding may fire late.
func expired(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if d, ok := ctx.Deadline(); ok && !time.Now().Before(d) {
		return context.DeadlineExceeded
	}
	return nil
}

func unexpectedEnd(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

func syntaxAt(in *listReader, what string) error { return syntaxAtPos(in, in.pos(), what) }

func syntaxAtPos(in *listReader, at int64, what string) error {
	return &jsonError{msg: fmt.Sprintf("invalid JSON at byte %d: %s", at+1, what), head: headOf(in.head)}
}

// memberRole finds a member's role tag with the structural scanner, far
// cheaper than decoding the member: with servers-only, all but a handful of
// 50,000 members are clients, skipped on this alone. ok is false when the
// scanner cannot tell as encoding/json would (not an object, an escaped
// name or value, a name that matches only in another case): the caller
// then decodes the member in full, which also words any error.
func memberRole(raw []byte) (role string, ok bool) {
	tags, found, ok := memberNamed(raw, "Tags")
	if !ok || !found {
		return "", ok
	}
	v, found, ok := memberNamed(tags, "role")
	if !ok || !found {
		return "", ok
	}
	if len(v) < 2 || v[0] != '"' || !plainJSONText(v[1:len(v)-1]) {
		return "", false
	}
	return string(v[1 : len(v)-1]), true
}

// memberNamed is objectMember, unsure (ok false) wherever encoding/json,
// which matches names in any case and unescapes them, might disagree.
func memberNamed(obj []byte, key string) (value []byte, found, ok bool) {
	ok = true
	err := scanObject(obj, func(name, v []byte) {
		switch {
		case string(name) == key:
			value, found = v, true
		case bytes.IndexByte(name, '\\') >= 0 || bytes.EqualFold(name, []byte(key)):
			ok = false
		}
	})
	return value, found, ok && err == nil
}

// errWindow: a member did not end within MaxMemberBytes.
var errWindow = errors.New("member too large")

// listReader reads a JSON stream in chunks and hands out one value at a
// time, holding at most MaxMemberBytes of a value besides one chunk. It
// keeps the stream's first bytes, which error messages quote.
type listReader struct {
	r    io.Reader
	buf  []byte
	off  int   // start of what is not consumed yet
	base int64 // stream offset of buf[0]
	err  error // from r, once it has failed or ended
	head []byte
}

const listChunk = 32 << 10

func (l *listReader) pos() int64 { return l.base + int64(l.off) }

// fill reads one more chunk, dropping what was consumed. It fails with
// errWindow when the unconsumed part would outgrow a member's bound.
func (l *listReader) fill() error {
	if l.err != nil {
		return l.err
	}
	if l.off > 0 {
		n := copy(l.buf, l.buf[l.off:])
		l.base += int64(l.off)
		l.buf, l.off = l.buf[:n], 0
	}
	if len(l.buf) > MaxMemberBytes {
		return errWindow
	}
	if cap(l.buf)-len(l.buf) < listChunk {
		l.buf = append(make([]byte, 0, len(l.buf)+listChunk), l.buf...)
	}
	n, err := l.r.Read(l.buf[len(l.buf):cap(l.buf)])
	if len(l.head) < ErrorHeadBytes {
		l.head = append(l.head, l.buf[len(l.buf):len(l.buf)+min(n, ErrorHeadBytes-len(l.head))]...)
	}
	l.buf = l.buf[:len(l.buf)+n]
	if err != nil {
		l.err = err
		if n > 0 {
			return nil
		}
	}
	return err
}

// peek skips white space and returns the next byte, unconsumed.
func (l *listReader) peek() (byte, error) {
	for {
		l.off = skipSpace(l.buf, l.off)
		if l.off < len(l.buf) {
			return l.buf[l.off], nil
		}
		if err := l.fill(); err != nil {
			return 0, err
		}
	}
}

// value consumes the next value and returns it; it is valid until the
// next call. A value that may go on (a number, a literal, an unterminated
// string or object) is read on until it cannot, or the stream ends.
func (l *listReader) value() ([]byte, error) {
	for {
		end, err := skipValue(l.buf, l.off)
		if end < len(l.buf) || l.err != nil {
			if err == nil {
				v := l.buf[l.off:end]
				l.off = end
				return v, nil
			}
			if l.err != nil && l.err != io.EOF {
				return nil, l.err // the connection failed inside the value
			}
			var je *jsonError
			if errors.As(err, &je) {
				return nil, syntaxAtPos(l, l.base+int64(je.at), je.what)
			}
			return nil, err
		}
		if err := l.fill(); err != nil && err != io.EOF {
			return nil, err
		}
	}
}

// end checks that nothing but white space follows the list.
func (l *listReader) end(fail func(error, int64) error) error {
	if _, err := l.peek(); err == nil {
		return syntaxAt(l, "data after the top-level list")
	} else if err != io.EOF {
		return fail(err, l.pos())
	}
	return nil
}
