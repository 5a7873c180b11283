package consultest

import (
	"encoding/base64"
	"regexp"
	"strconv"
	"strings"
)

var escapedByte = regexp.MustCompile(`\\+u00([0-9a-fA-F]{2})|\\+x([0-9a-fA-F]{2})|%([0-9a-fA-F]{2})`)

// TokenLeak returns a piece of token of 8 characters that text holds, in
// any case, plainly or escaped (\u00XX, \xXX, %XX), or as a logger prints
// bytes (base64 in JSON, fmt's list of decimal numbers), or "". It is
// written apart from consul.Redactor, so that one bug cannot hide the other.
func TokenLeak(text, token string) string {
	if p := encodedLeak(text, token); p != "" {
		return p
	}
	unescaped := escapedByte.ReplaceAllStringFunc(text, func(m string) string {
		v, _ := strconv.ParseUint(m[len(m)-2:], 16, 8)
		return string(rune(v))
	})
	low := strings.ToLower(token)
	for _, view := range []string{strings.ToLower(text), strings.ToLower(unescaped)} {
		for i := 0; i+8 <= len(low); i++ {
			if strings.Contains(view, low[i:i+8]) {
				return low[i : i+8]
			}
		}
	}
	return ""
}

// encodedLeak looks for token's bytes as base64 (at each of the three
// alignments a prefix can give it) and as fmt prints a []byte.
func encodedLeak(text, token string) string {
	for pad := range 3 {
		enc := base64.StdEncoding.EncodeToString([]byte(strings.Repeat(" ", pad) + token))
		// The first and last 4 characters mix in the padding or whatever
		// follows; the middle is the token's alone.
		if mid := enc[4 : len(enc)-4]; len(mid) >= 12 && strings.Contains(text, mid[:12]) {
			return "base64 " + mid[:12]
		}
	}
	dec := make([]string, 0, 8)
	for _, b := range []byte(token)[:min(8, len(token))] {
		dec = append(dec, strconv.Itoa(int(b)))
	}
	if d := strings.Join(dec, " "); strings.Contains(text, d) {
		return "decimal bytes " + d
	}
	return ""
}
