package consul

import "strings"

// RedactedMark replaces a piece of the token in a label or a log line.
const RedactedMark = "[token redacted]"

// minLeak is the shortest piece of the token that is hidden: any run of
// this many characters or more that also occurs in the token. Shorter
// pieces say little (a UUID token has 36 characters), and hiding every
// 4-character coincidence would garble ordinary text.
const minLeak = 8

// Redactor hides the ACL token, or any piece of it of minLeak characters or
// more, wherever an agent's answer could carry it into a label value or a
// log line: verbatim, in any (ASCII) case, JSON-escaped (\u0035, also with
// the backslash doubled by a second quoting) or percent-encoded (%35). It is
// the one place that decides what counts as the token; a scrape runs every
// label value and every error it logs through it, and error bodies are
// masked with it before they are cut into snippets. A nil Redactor (no token)
// changes nothing.
type Redactor struct {
	k     int                 // gram length: minLeak, or the token's length if shorter
	mask  uint64              // keeps the last k characters of the rolling gram
	grams map[uint64]struct{} // every k-character window of the lower-cased token
	// bits is a 64-Kibit filter over grams, checked before the map, so
	// that most bytes of a body cost a bit test rather than a map lookup.
	bits *[1 << 10]uint64
}

// NewRedactor returns the Redactor of token, nil for no token.
func NewRedactor(token string) *Redactor {
	if token == "" {
		return nil
	}
	// The token's length as spans reads text, an escape one character: a
	// token "%41%42%43" echoed as it is reads as three characters there.
	chars := 0
	for i := 0; i < len(token); chars++ {
		w := 1
		if token[i] == '\\' || token[i] == '%' {
			_, w = logicalChar(token, i)
		}
		i += w
	}
	r := &Redactor{k: min(minLeak, chars), grams: map[uint64]struct{}{}, bits: new([1 << 10]uint64)}
	r.mask = ^uint64(0)
	if r.k < 8 {
		r.mask = 1<<(8*r.k) - 1
	}
	r.addGrams(token, false)
	if strings.ContainsAny(token, `%\`) {
		// spans reads text as it decodes escapes, so a token that holds
		// "%41" or "\c" itself, echoed as it is, reads as "A" or "c" there:
		// its decoded windows are grams too.
		r.addGrams(token, true)
	}
	return r
}

// addGrams adds every k-character window of token, read byte by byte or,
// with decode, character by character as spans reads text.
func (r *Redactor) addGrams(token string, decode bool) {
	var h uint64
	n := 0
	for i := 0; i < len(token); {
		c, width := token[i], 1
		if decode && (c == '\\' || c == '%') {
			c, width = logicalChar(token, i)
		}
		i += width
		n++
		h = (h<<8 | uint64(lowerASCII(c))) & r.mask
		if n >= r.k {
			r.grams[h] = struct{}{}
			f := filterIndex(h)
			r.bits[f>>6] |= 1 << (f & 63)
		}
	}
}

func filterIndex(h uint64) uint64 { return (h * 0x9E3779B97F4A7C15) >> 48 }

func lowerASCII(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// spans returns the byte ranges of s that spell a piece of the token,
// merged where they touch. It reads s as a sequence of characters, each
// either a plain byte or one escape (\uXXXX, \xXX or \c behind any number of
// backslashes, or %XX), so an escaped token matches as well as a plain one.
func spans[T string | []byte](r *Redactor, s T) [][2]int {
	if r == nil || len(s) < r.k {
		return nil
	}
	var out [][2]int
	var h uint64
	// starts[n%k] is where the n-th character began, for the last k.
	var starts [minLeak]int
	n := 0
	for i := 0; i < len(s); {
		c, width := s[i], 1
		if c == '\\' || c == '%' {
			c, width = logicalChar(s, i)
		}
		starts[n%r.k] = i
		n++
		h = (h<<8 | uint64(lowerASCII(c))) & r.mask
		i += width
		if n < r.k {
			continue
		}
		if f := filterIndex(h); r.bits[f>>6]&(1<<(f&63)) == 0 {
			continue
		}
		if _, hit := r.grams[h]; !hit {
			continue
		}
		from := starts[(n-r.k)%r.k]
		if last := len(out) - 1; last >= 0 && from <= out[last][1] {
			out[last][1] = i
		} else {
			out = append(out, [2]int{from, i})
		}
	}
	return out
}

// logicalChar decodes the character at s[i] and says how many bytes it
// takes. An escape that is not one (a lone backslash or percent sign) is a
// plain byte.
func logicalChar[T string | []byte](s T, i int) (byte, int) {
	switch s[i] {
	case '%':
		if v, ok := hexByte(s, i+1, 2); ok {
			return v, 3
		}
	case '\\':
		j := i
		for j < len(s) && s[j] == '\\' {
			j++
		}
		if j == len(s) {
			break
		}
		switch s[j] {
		case 'u':
			// \u00XX; a code point beyond one byte matches no token byte.
			if v, ok := hexByte(s, j+3, 2); ok && s[j+1] == '0' && s[j+2] == '0' {
				return v, j + 5 - i
			}
		case 'x':
			if v, ok := hexByte(s, j+1, 2); ok {
				return v, j + 3 - i
			}
		default:
			return s[j], j + 1 - i
		}
	}
	return s[i], 1
}

func hexByte[T string | []byte](s T, i, n int) (byte, bool) {
	if i+n > len(s) {
		return 0, false
	}
	var v byte
	for j := i; j < i+n; j++ {
		c := s[j]
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c -= 'a' - 10
		case 'A' <= c && c <= 'F':
			c -= 'A' - 10
		default:
			return 0, false
		}
		v = v<<4 | c
	}
	return v, true
}

// Redact returns s with every piece of the token replaced by a mark.
func (r *Redactor) Redact(s string) string {
	sp := spans(r, s)
	if sp == nil {
		return s
	}
	var b strings.Builder
	prev := 0
	for _, x := range sp {
		b.WriteString(s[prev:x[0]])
		b.WriteString(RedactedMark)
		prev = x[1]
	}
	b.WriteString(s[prev:])
	return b.String()
}

// Mask overwrites every piece of the token in b with asterisks, in place,
// keeping every offset (an error that says "at byte 120" stays true). It
// reports whether it found any.
func (r *Redactor) Mask(b []byte) bool {
	sp := spans(r, b)
	for _, x := range sp {
		for i := x[0]; i < x[1]; i++ {
			b[i] = '*'
		}
	}
	return sp != nil
}
