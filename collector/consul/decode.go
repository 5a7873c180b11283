package consul

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net"
	"strconv"
	"time"
	"unicode/utf8"
)

// What the endpoints' decoders share: strict decoding, errors worded for a
// log line, and the parsing of Stats values. Each endpoint's own decoder is
// in its file (leader.go, peers.go, info.go, autopilot.go, members.go).

// Consul addresses are "ip:port"; anything much longer is not one.
const maxAddressLen = 300

// decodeStrict unmarshals a whole body and words the errors for a log line.
func decodeStrict(body []byte, v any, want string) error {
	if len(bytes.TrimSpace(body)) == 0 {
		return fmt.Errorf("empty body, want %s", want)
	}
	err := json.Unmarshal(body, v)
	if err == nil {
		return nil
	}
	if je := wordJSONError(err, body, want, 0); je != nil {
		return je
	}
	return fmt.Errorf("want %s: %w", want, err)
}

func checkAddress(s string) error {
	if len(s) > maxAddressLen {
		return fmt.Errorf("address of %d bytes, want host:port", len(s))
	}
	if _, _, err := net.SplitHostPort(s); err != nil {
		return fmt.Errorf("address %q is not host:port", s)
	}
	return nil
}

// scalar returns a stat value as text, unquoting strings. Objects, lists and
// null are not stat values.
func scalar(raw json.RawMessage) (s string, quoted bool, err error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return "", false, errors.New("empty value")
	}
	switch raw[0] {
	case '"':
		// Consul's stat values have no escapes: slice them, decode the rest.
		if len(raw) >= 2 && raw[len(raw)-1] == '"' {
			if inner := raw[1 : len(raw)-1]; plainJSONText(inner) {
				return string(inner), true, nil
			}
		}
		if err := json.Unmarshal(raw, &s); err != nil {
			return "", false, err
		}
		return s, true, nil
	case '{', '[', 'n':
		return "", false, fmt.Errorf("got %s, want a value", kindOf(raw))
	}
	return string(raw), false, nil
}

// plainJSONText reports whether b can stand between quotes in JSON as it
// is: no escapes, quotes or control characters, valid UTF-8.
func plainJSONText(b []byte) bool {
	for _, c := range b {
		if c < 0x20 || c == '"' || c == '\\' {
			return false
		}
	}
	return utf8.Valid(b)
}

// ParseNumber accepts 12, 1.5 and "12": a string must hold a JSON number,
// as Consul writes them, not whatever else strconv reads ("0x1p-2", "1_000").
func ParseNumber(raw json.RawMessage) (float64, error) {
	s, _, err := scalar(raw)
	if err != nil {
		return 0, err
	}
	if !jsonNumber(s) {
		return 0, fmt.Errorf("%s is not a number", quote(s))
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, fmt.Errorf("%s is not a number", quote(s))
	}
	return f, nil
}

// jsonNumber reports whether s is a number in JSON's grammar. Checked by
// hand: in one run of three rounds (2026-12-04), json.Valid took
// BenchmarkStatSamples from 5.8-6.8 µs to 8.1-9.2 µs; this check measured
// 5.9-7.1 µs against 5.8-5.9 µs, and BenchmarkCollect stayed at 250-265 µs.
func jsonNumber(s string) bool {
	i := 0
	digits := func() bool {
		start := i
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		return i > start
	}
	if i < len(s) && s[i] == '-' {
		i++
	}
	if i < len(s) && s[i] == '0' {
		i++
	} else if !digits() {
		return false
	}
	if i < len(s) && s[i] == '.' {
		i++
		if !digits() {
			return false
		}
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		if !digits() {
			return false
		}
	}
	return i == len(s)
}

// ParseFlag accepts true, false, "true" and "false" as 1 and 0.
func ParseFlag(raw json.RawMessage) (float64, error) {
	s, _, err := scalar(raw)
	if err != nil {
		return 0, err
	}
	switch s {
	case "true":
		return 1, nil
	case "false":
		return 0, nil
	}
	return 0, fmt.Errorf("%s is not true or false", quote(s))
}

// ParseDuration turns raft.last_contact into seconds. Consul writes a Go
// duration ("43.302939ms", "5.783µs", "1m33.88395452s"), "0" on the leader,
// and "never" before any contact, which has no value (ok false). A bare JSON
// number is a Go time.Duration, in nanoseconds.
func ParseDuration(raw json.RawMessage) (seconds float64, ok bool, err error) {
	s, quoted, err := scalar(raw)
	if err != nil {
		return 0, false, err
	}
	if s == "never" {
		return 0, false, nil
	}
	if !quoted {
		ns, err := strconv.ParseFloat(s, 64)
		if err != nil || math.IsNaN(ns) || math.IsInf(ns, 0) {
			return 0, false, fmt.Errorf("%s is not a duration", quote(s))
		}
		if ns < 0 {
			return 0, false, fmt.Errorf("%s is a negative duration", quote(s))
		}
		return ns / 1e9, true, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, false, fmt.Errorf("%s is not a duration", quote(s))
	}
	if d < 0 {
		return 0, false, fmt.Errorf("%s is a negative duration", quote(s))
	}
	return d.Seconds(), true, nil
}

// ParseText returns a value for use as a label: strings as they are,
// numbers and booleans as written.
func ParseText(raw json.RawMessage) (string, error) {
	s, _, err := scalar(raw)
	if len(s) > maxAddressLen {
		return "", fmt.Errorf("a text of %d bytes", len(s))
	}
	return s, err
}
