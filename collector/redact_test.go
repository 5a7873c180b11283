package collector

import (
	"fmt"
	"strings"
	"testing"

	"github.com/consul-status-exporter/consul_status_exporter/collector/consul"
	"github.com/consul-status-exporter/consul_status_exporter/internal/consultest"
)

// uuidToken is shaped like a real Consul token: 36 characters.
const uuidToken = "5f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b"

// tokenLeak reports the first piece of token (8 characters or more, any
// case) found in text, read plainly, JSON-unescaped (\u00XX behind any
// number of backslashes) and percent-decoded; "" if none. It is written
// apart from the Redactor so the two do not share a mistake.
func tokenLeak(text, token string) string { return consultest.TokenLeak(text, token) }

func jsonEscapeAll(s string) string {
	var b strings.Builder
	for _, c := range []byte(s) {
		fmt.Fprintf(&b, `\u%04x`, c)
	}
	return b.String()
}

func TestRedactor(t *testing.T) {
	r := consul.NewRedactor(uuidToken)
	for _, tc := range []struct {
		name, in, want string
	}{
		{"whole token", "bad token " + uuidToken + " here", "bad token " + consul.RedactedMark + " here"},
		{"upper case", "X-Consul-Token: " + strings.ToUpper(uuidToken), "X-Consul-Token: " + consul.RedactedMark},
		{"9-character piece", "node-" + uuidToken[3:12] + ".dc1", "node-" + consul.RedactedMark + ".dc1"},
		{"JSON-escaped", `"` + jsonEscapeAll(uuidToken) + `:8300"`, `"` + consul.RedactedMark + `:8300"`},
		{"escaped twice", strings.ReplaceAll(jsonEscapeAll(uuidToken[:10]), `\`, `\\`), consul.RedactedMark},
		{"percent-encoded", "/login?t=%35%66%31%65%32%64%33%63%2d", "/login?t=" + consul.RedactedMark},
		{"mixed escapes and case", `5F1E\u0032D3C-4B`, consul.RedactedMark},
		{"35 characters", uuidToken[:35], consul.RedactedMark},
		{"two pieces", uuidToken[:8] + " and " + uuidToken[20:30], consul.RedactedMark + " and " + consul.RedactedMark},
		{"7 characters stay", "id " + uuidToken[:7], "id " + uuidToken[:7]},
		{"unrelated text", "127.0.0.91:8300 Leader", "127.0.0.91:8300 Leader"},
		{"lone escapes", `100% \u00zz \`, `100% \u00zz \`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := r.Redact(tc.in)
			if got != tc.want {
				t.Errorf("Redact(%q) = %q, want %q", tc.in, got, tc.want)
			}
			if leak := tokenLeak(got, uuidToken); leak != "" {
				t.Errorf("Redact(%q) = %q still holds %q", tc.in, got, leak)
			}
			b := []byte(tc.in)
			masked := r.Mask(b)
			if len(b) != len(tc.in) || masked != (got != tc.in) {
				t.Errorf("Mask(%q) = %q, %v", tc.in, b, masked)
			}
			if leak := tokenLeak(string(b), uuidToken); leak != "" {
				t.Errorf("Mask(%q) = %q still holds %q", tc.in, b, leak)
			}
		})
	}
	// No token, nothing to hide; a short token is hidden whole.
	none := consul.NewRedactor("")
	if got := none.Redact(uuidToken); got != uuidToken || none.Mask([]byte(uuidToken)) {
		t.Errorf("the nil Redactor changed %q to %q", uuidToken, got)
	}
	if got := consul.NewRedactor("abc12").Redact("x=ABC12;y=abc1"); got != "x="+consul.RedactedMark+";y=abc1" {
		t.Errorf("short token: %q", got)
	}
	// A token that holds escapes itself is hidden echoed as it is, too.
	for _, tok := range []string{"pw%41%42%43%44%45%46%47%48", `ab\cdefghijkl`, "%41%42%43"} {
		r := consul.NewRedactor(tok)
		for _, in := range []string{"token=" + tok, "403: " + strings.ToUpper(tok) + "."} {
			if got := r.Redact(in); strings.Contains(strings.ToLower(got), strings.ToLower(tok[:len(tok)-1])) || !strings.Contains(got, consul.RedactedMark) {
				t.Errorf("token %q: Redact(%q) = %q", tok, in, got)
			}
		}
	}
}

// The checker itself must see what it is meant to see, or every test
// built on it proves nothing.
func TestTokenLeakSeesEveryForm(t *testing.T) {
	for _, text := range []string{
		uuidToken[10:18], strings.ToUpper(uuidToken[10:19]), jsonEscapeAll(uuidToken[:8]),
		strings.ReplaceAll(jsonEscapeAll(uuidToken[:8]), `\`, `\\`), "%35%66%31%65%32%64%33%63",
	} {
		if tokenLeak(text, uuidToken) == "" {
			t.Errorf("tokenLeak misses %q", text)
		}
	}
	if l := tokenLeak(uuidToken[:7]+" "+consul.RedactedMark, uuidToken); l != "" {
		t.Errorf("tokenLeak sees %q in a 7-character piece", l)
	}
}

func BenchmarkRedactLabel(b *testing.B) {
	r := consul.NewRedactor(uuidToken)
	for b.Loop() {
		r.Redact("127.0.0.91:8300")
	}
}
