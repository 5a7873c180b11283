package consultest

import (
	"regexp"
	"strconv"
	"strings"
)

var escapedByte = regexp.MustCompile(`\\+u00([0-9a-fA-F]{2})|\\+x([0-9a-fA-F]{2})|%([0-9a-fA-F]{2})`)

// TokenLeak returns a piece of token of 8 characters that text holds, in
// any case, plainly or escaped (\u00XX, \xXX, %XX), or "". It is written
// apart from consul.Redactor, so that one bug cannot hide the other.
func TokenLeak(text, token string) string {
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
