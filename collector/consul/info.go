package consul

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
)

// Stats is the body of /v1/status/info, or the Stats object of
// /v1/agent/self: section → key → raw JSON value. Values come as numbers and
// booleans from the former and as strings from the latter; the parse
// functions below accept both.
type Stats map[string]map[string]json.RawMessage

// sections are the Stats sections the exporter reads. Others (newer Consul
// adds some) are ignored whatever their shape.
var sections = [...]string{"agent", "build", "consul", "raft", "runtime", "serf_lan", "serf_wan"}

// Stats reads the Stats sections from whichever endpoint the agent serves:
// /v1/status/info where it exists, /v1/agent/self on every released Consul.
// A 404 from one switches to the other, and the agent remembers the switch.
// path is the endpoint that answered, for errors found in the values later.
func (a *Agent) Stats(ctx context.Context, token string) (st Stats, path string, err error) {
	path, other := PathInfo, PathAgentSelf
	if a.useSelf.Load() {
		path, other = other, path
	}
	st, err = a.stats(ctx, path, token)
	var he *HTTPError
	if errors.As(err, &he) && he.Code == 404 {
		path = other
		if st, err = a.stats(ctx, path, token); err == nil {
			a.useSelf.Store(path == PathAgentSelf)
		}
	}
	if err != nil {
		return nil, path, fmt.Errorf("%s: %w", path, err)
	}
	return st, path, nil
}

func (a *Agent) stats(ctx context.Context, path, token string) (Stats, error) {
	body, err := a.fetch(ctx, path, token)
	if err != nil {
		return nil, err
	}
	decode := DecodeInfo
	if path == PathAgentSelf {
		decode = DecodeAgentSelf
	}
	return decodeMasked(body, token, decode)
}

// DecodeInfo decodes /v1/status/info.
func DecodeInfo(body []byte) (Stats, error) {
	var top map[string]json.RawMessage
	if err := decodeStrict(body, &top, "a JSON object"); err != nil {
		return nil, err
	}
	if top == nil {
		return nil, errors.New("got null, want a JSON object")
	}
	return decodeSections(top)
}

// DecodeAgentSelf decodes the Stats object of /v1/agent/self, and only it.
func DecodeAgentSelf(body []byte) (Stats, error) {
	if len(bytes.TrimSpace(body)) == 0 {
		return nil, errors.New("empty body, want a JSON object")
	}
	raw, found, err := objectMember(body, "Stats")
	if err != nil {
		return nil, err
	}
	var stats map[string]json.RawMessage
	if found {
		if err := json.Unmarshal(raw, &stats); err != nil {
			// Say where in the whole answer, as for any other body.
			var syn *json.SyntaxError
			if errors.As(err, &syn) {
				return nil, syntaxErr(body, cap(body)-cap(raw)+int(syn.Offset)-1, syn.Error())
			}
			return nil, fmt.Errorf("Stats: got %s, want an object", kindOf(raw))
		}
	}
	if stats == nil {
		return nil, errors.New("no Stats object in the answer")
	}
	return decodeSections(stats)
}

func decodeSections(top map[string]json.RawMessage) (Stats, error) {
	st := make(Stats, len(sections))
	for _, name := range sections {
		raw, ok := top[name]
		if !ok {
			continue
		}
		var sec map[string]json.RawMessage
		if err := json.Unmarshal(raw, &sec); err != nil || sec == nil {
			return nil, fmt.Errorf("section %q: got %s, want an object", name, kindOf(raw))
		}
		st[name] = sec
	}
	if len(st) == 0 {
		return nil, errors.New("none of the sections agent, build, consul, raft, runtime, serf_lan, serf_wan")
	}
	return st, nil
}
