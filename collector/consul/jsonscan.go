package consul

import (
	"bytes"
	"fmt"
)

// objectMember returns the raw value of key in the JSON object body without
// decoding the other members. /v1/agent/self is ~12-20 KB of Config,
// DebugConfig, Member and Meta around a ~1.5 KB Stats object; the scan takes
// about half the time of decoding all of it with encoding/json
// (BenchmarkDecodeAgentSelf, docs/benchmarks.md), a gain within the noise of
// a whole scrape; it stays because the members list reader (members.go)
// needs it to bound each member in bytes, which encoding/json cannot. The scan checks
// the object's structure (strings, nesting, separators) but not the grammar
// inside the members it skips; the member it returns is decoded in full by
// the caller. found is false when the object has no such member.
func objectMember(body []byte, key string) (value []byte, found bool, err error) {
	err = scanObject(body, func(name, v []byte) {
		// Member names in Consul's answers need no unescaping. The last of
		// duplicate members wins, as with encoding/json.
		if string(name) == key {
			value, found = v, true
		}
	})
	if err != nil {
		return nil, false, err
	}
	return value, found, nil
}

// scanObject calls each with the raw name (unescaped) and value of every
// member of the JSON object body, checking its structure as it goes.
func scanObject(body []byte, each func(name, value []byte)) error {
	i := skipSpace(body, 0)
	if i >= len(body) || body[i] != '{' {
		return syntaxErr(body, i, "want a JSON object")
	}
	i = skipSpace(body, i+1)
	if i < len(body) && body[i] == '}' {
		return trailing(body, i+1)
	}
	for {
		if i >= len(body) || body[i] != '"' {
			return syntaxErr(body, i, "want a member name")
		}
		end, err := skipString(body, i)
		if err != nil {
			return err
		}
		name := body[i+1 : end-1]
		i = skipSpace(body, end)
		if i >= len(body) || body[i] != ':' {
			return syntaxErr(body, i, "want ':' after a member name")
		}
		start := skipSpace(body, i+1)
		if i, err = skipValue(body, start); err != nil {
			return err
		}
		each(name, body[start:i])
		i = skipSpace(body, i)
		if i >= len(body) {
			return syntaxErr(body, i, "unexpected end of the object")
		}
		switch body[i] {
		case ',':
			i = skipSpace(body, i+1)
		case '}':
			return trailing(body, i+1)
		default:
			return syntaxErr(body, i, "want ',' or '}' after a member")
		}
	}
}

// skipValue returns the index just past the JSON value starting at i.
func skipValue(b []byte, i int) (int, error) {
	if i >= len(b) {
		return i, syntaxErr(b, i, "want a value")
	}
	switch b[i] {
	case '"':
		return skipString(b, i)
	case '{', '[':
		depth := 0
		for ; i < len(b); i++ {
			switch b[i] {
			case '"':
				end, err := skipString(b, i)
				if err != nil {
					return end, err
				}
				i = end - 1
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return i + 1, nil
				}
			}
		}
		return i, syntaxErr(b, i, "unterminated object or list")
	}
	start := i
	for i < len(b) && bytes.IndexByte([]byte(",}] \t\r\n"), b[i]) < 0 {
		i++
	}
	if i == start {
		return i, syntaxErr(b, i, "want a value")
	}
	return i, nil
}

// skipString returns the index just past the JSON string starting at b[i].
func skipString(b []byte, i int) (int, error) {
	for j := i + 1; j < len(b); j++ {
		switch b[j] {
		case '\\':
			j++
		case '"':
			return j + 1, nil
		}
	}
	return len(b), syntaxErr(b, len(b), "unterminated string")
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

func trailing(b []byte, i int) error {
	if i = skipSpace(b, i); i < len(b) {
		return syntaxErr(b, i, "data after the top-level object")
	}
	return nil
}

// syntaxErr reports a fault at index i as encoding/json does: "byte N"
// counts from 1.
func syntaxErr(b []byte, i int, what string) error {
	return &jsonError{msg: fmt.Sprintf("invalid JSON at byte %d: %s", i+1, what), head: headOf(b), at: i, what: what}
}
