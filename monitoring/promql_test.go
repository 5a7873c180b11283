package monitoring

import (
	"strings"
	"testing"
	"unicode"
)

// selectorRef is one metric an expression reads and the label names its
// matchers use. Prometheus's own parser would be exact but drags in the
// whole prometheus module; this scanner knows just enough PromQL for our
// expressions, and promtool checks their syntax separately.
type selectorRef struct {
	name   string
	labels []string
}

// notMetrics are the words followed by something other than "(" that are
// not metric names: aggregations before "by", binary keywords, literals.
var notMetrics = map[string]bool{
	"sum": true, "min": true, "max": true, "avg": true, "group": true, "count": true,
	"stddev": true, "stdvar": true, "count_values": true, "topk": true, "bottomk": true,
	"quantile": true, "limitk": true, "limit_ratio": true,
	"by": true, "without": true, "on": true, "ignoring": true, "group_left": true, "group_right": true,
	"bool": true, "offset": true, "and": true, "or": true, "unless": true, "atan2": true,
	"inf": true, "nan": true,
}

// labelLists are the keywords whose "( ... )" holds label names.
var labelLists = map[string]bool{"by": true, "without": true, "on": true, "ignoring": true, "group_left": true, "group_right": true}

func isIdentStart(r byte) bool { return r == '_' || r == ':' || unicode.IsLetter(rune(r)) }
func isIdent(r byte) bool      { return isIdentStart(r) || unicode.IsDigit(rune(r)) }

func skipString(s string, i int) int {
	q := s[i]
	for i++; i < len(s) && s[i] != q; i++ {
		if s[i] == '\\' && q != '`' {
			i++
		}
	}
	return i + 1
}

func skipSpace(s string, i int) int {
	for i < len(s) && unicode.IsSpace(rune(s[i])) {
		i++
	}
	return i
}

// metricRefs finds the metrics an expression reads.
func metricRefs(expr string) []selectorRef {
	var refs []selectorRef
	s := expr
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == '"' || c == '\'' || c == '`':
			i = skipString(s, i)
		case c == '[':
			for i < len(s) && s[i] != ']' {
				i++
			}
		case unicode.IsDigit(rune(c)) || c == '$':
			for i++; i < len(s) && (isIdent(s[i]) || s[i] == '.'); i++ {
			}
		case c == '{': // a selector without a name
			_, i = matcherLabels(s, i)
		case isIdentStart(c):
			j := i
			for j < len(s) && isIdent(s[j]) {
				j++
			}
			word := s[i:j]
			k := skipSpace(s, j)
			switch {
			case labelLists[word] && k < len(s) && s[k] == '(':
				for k < len(s) && s[k] != ')' {
					k++
				}
				i = k + 1
			case k < len(s) && s[k] == '(' || notMetrics[word]:
				i = j
			default:
				ref := selectorRef{name: word}
				i = j
				if k < len(s) && s[k] == '{' {
					ref.labels, i = matcherLabels(s, k)
				}
				refs = append(refs, ref)
			}
		default:
			i++
		}
	}
	return refs
}

// matcherLabels reads the label names of the matchers in s[i:], which
// starts with "{", and returns them with the index after the "}".
func matcherLabels(s string, i int) ([]string, int) {
	var labels []string
	for i++; i < len(s) && s[i] != '}'; {
		switch {
		case s[i] == '"' || s[i] == '\'' || s[i] == '`':
			i = skipString(s, i)
		case isIdentStart(s[i]):
			j := i
			for j < len(s) && isIdent(s[j]) {
				j++
			}
			labels = append(labels, s[i:j])
			i = j
		default:
			i++
		}
	}
	return labels, i + 1
}

func TestMetricRefsScanner(t *testing.T) {
	got := metricRefs(`max by (job) (changes(consul_raft_term{job=~"a{b}", state!="x"}[15m])) > 3
		or x:y:z < on (job) group_left a:b:c offset 1m unless count by (address) (up) * vector(0) and $v[$__rate_interval]`)
	want := []string{"consul_raft_term[job state]", "x:y:z[]", "a:b:c[]", "up[]"}
	var have []string
	for _, r := range got {
		have = append(have, r.name+"["+strings.Join(r.labels, " ")+"]")
	}
	if strings.Join(have, ",") != strings.Join(want, ",") {
		t.Errorf("metricRefs = %v, want %v", have, want)
	}
}
