package collector

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
)

const pathMembers = "/v1/agent/members"

var (
	memberStatusDesc = desc("serf_member_status", "Serf status of the member as this agent sees it: 1 for the current status, 0 for the others.", "member", "pool", "status")
	memberInfoDesc   = desc("serf_member_info", "One series per Serf member, with its address, role (consul for servers, node for clients) and Consul version.", "member", "pool", "address", "role", "version")
	// Serf's member status codes, in order; 0 (none) has no series set to 1.
	memberStatuses = [...]string{1: "alive", 2: "leaving", 3: "left", 4: "failed"}
)

// seriesPerMember is what one kept member costs: its info and its four
// statuses.
const seriesPerMember = 1 + 4

// MaxMemberBytes bounds one member of the list as it is decoded. A real
// member is 300-500 bytes (Consul 1.22); the list as a whole is not
// bounded in bytes, since it is decoded as a stream and only the kept
// members stay in memory: 50,000 members are some 18 MB.
const MaxMemberBytes = 16 << 10

// maxLabelBytes bounds a member's name, address and version, which become
// label values: a node name is a DNS label of at most 63 bytes, and Consul
// allows 128 in practice.
const maxLabelBytes = 512

// member is what the exporter reads of one Serf member. Of the tags only
// role and build are kept, so the others cost no map per member.
type member struct {
	Name   string
	Addr   string
	Port   int
	Status int
	Tags   struct {
		Role  string `json:"role"`
		Build string `json:"build"`
	}
}

// memberLimits are the caps a members scrape works within.
type memberLimits struct {
	serversOnly bool
	max         int // members kept per pool (--collector.members.max)
	budget      *seriesBudget
}

// members reads one Serf pool ("lan" or "wan") as a stream, keeping only
// what it exports (the Consul servers, with serversOnly), and returns the
// samples and how many members the agent listed in all.
func (a *Agent) members(ctx context.Context, token, pool string, lim memberLimits) ([]sample, int, error) {
	path := pathMembers
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
		return nil, n, fmt.Errorf("%s: %w", path, transportError(ctx, err))
	}
	return out, n, nil
}

// decodeMembers decodes a JSON list of members from r, one member at a
// time, so memory holds one member and the kept samples, whatever the list's
// length. Consul encodes an empty list as null.
func decodeMembers(ctx context.Context, r io.Reader, pool string, lim memberLimits) ([]sample, int, error) {
	const want = "a JSON list of members"
	in := &windowReader{r: r, limit: MaxMemberBytes}
	dec := json.NewDecoder(in)
	fail := func(err error, base int64) error {
		if errors.Is(err, errWindow) {
			return fmt.Errorf("a member larger than %d KiB, which no Consul member is", MaxMemberBytes>>10)
		}
		if je := wordJSONError(err, in.head, want, base); je != nil {
			return je
		}
		return err
	}
	tok, err := dec.Token()
	switch {
	case err == io.EOF:
		return nil, 0, fmt.Errorf("empty body, want %s", want)
	case err != nil:
		return nil, 0, fail(err, 0) // Token's offsets count from the start
	case tok == nil: // null
		return nil, 0, endOfList(dec, fail)
	case tok != json.Delim('['):
		return nil, 0, fmt.Errorf("got %s, want %s", jsonKind(tok), want)
	}
	var out []sample
	seen := map[string]bool{}
	n := 0
	for dec.More() {
		if n%256 == 0 && ctx.Err() != nil {
			return nil, n, ctx.Err()
		}
		start := dec.InputOffset()
		in.limit = start + MaxMemberBytes
		var m member
		if err := dec.Decode(&m); err != nil {
			return nil, n, fail(err, start)
		}
		n++
		if (lim.serversOnly && m.Tags.Role != "consul") || seen[m.Name] {
			continue
		}
		for _, l := range []string{m.Name, m.Addr, m.Tags.Build} {
			if len(l) > maxLabelBytes {
				return nil, n, fmt.Errorf("member %s: a name, address or version of %d bytes", quote(m.Name), len(l))
			}
		}
		if len(seen) >= lim.max {
			return nil, n, fmt.Errorf("more than %d members to export in the %s pool: raise --collector.members.max, or use --collector.members.servers-only", lim.max, pool)
		}
		if err := lim.budget.take(seriesPerMember); err != nil {
			return nil, n, err
		}
		seen[m.Name] = true
		out = appendMember(out, m, pool)
	}
	if _, err := dec.Token(); err != nil { // the closing ]
		return nil, n, fail(err, 0)
	}
	return out, n, endOfList(dec, fail)
}

// endOfList checks that nothing but white space follows the list.
func endOfList(dec *json.Decoder, fail func(error, int64) error) error {
	if _, err := dec.Token(); err != io.EOF {
		if err == nil {
			return fmt.Errorf("invalid JSON at byte %d: data after the top-level list", dec.InputOffset())
		}
		return fail(err, 0)
	}
	return nil
}

func appendMember(out []sample, m member, pool string) []sample {
	version, _, _ := strings.Cut(m.Tags.Build, ":") // "1.22.6:abcdef"
	addr := net.JoinHostPort(m.Addr, strconv.Itoa(m.Port))
	out = append(out, sample{desc: memberInfoDesc, value: 1, labels: []string{m.Name, pool, addr, m.Tags.Role, version}})
	for code, status := range memberStatuses {
		if status == "" {
			continue
		}
		out = append(out, sample{desc: memberStatusDesc, value: boolValue(m.Status == code), labels: []string{m.Name, pool, status}})
	}
	return out
}

// jsonKind names the kind of a JSON token as encoding/json's errors do.
func jsonKind(tok json.Token) string {
	switch tok.(type) {
	case json.Delim:
		return "a JSON object"
	case string:
		return "a JSON string"
	case bool:
		return "a JSON bool"
	}
	return "a JSON number"
}

// errWindow: the decoder needed more than the window allows.
var errWindow = errors.New("read window exceeded")

// windowReader lets a json.Decoder read only up to limit bytes of the
// stream (moved on as each member is decoded), so one oversized member
// cannot make the decoder buffer without bound. It keeps the stream's first
// bytes, which error messages quote.
type windowReader struct {
	r     io.Reader
	read  int64
	limit int64
	head  []byte
}

func (w *windowReader) Read(p []byte) (int, error) {
	if w.read >= w.limit {
		return 0, errWindow
	}
	if left := w.limit - w.read; int64(len(p)) > left {
		p = p[:left]
	}
	n, err := w.r.Read(p)
	if len(w.head) < errorHeadBytes {
		w.head = append(w.head, p[:min(n, errorHeadBytes-len(w.head))]...)
	}
	w.read += int64(n)
	return n, err
}
