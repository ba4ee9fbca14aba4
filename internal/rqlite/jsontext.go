package rqlite

// A walk through JSON text in place, for answers that would cost many
// times their size decoded into interface values: the text is checked
// by encoding/json first, so the walk only finds where each value ends,
// and turns into Go values only what is kept.

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"
)

// jsonText walks JSON text that json.Valid has accepted. It allocates
// nothing: each value is a slice of the text.
type jsonText struct {
	b []byte
	i int // where the walk is
}

// peek moves past white space and returns the next byte, or 0 at the end.
func (t *jsonText) peek() byte {
	for ; t.i < len(t.b); t.i++ {
		if c := t.b[t.i]; c != ' ' && c != '\t' && c != '\n' && c != '\r' {
			return c
		}
	}
	return 0
}

// enter moves into the array or object, as open is '[' or '{', that is
// the next value, named what in an error. It moves past a null and
// reports false.
func (t *jsonText) enter(open byte, what string) (bool, error) {
	switch t.peek() {
	case open:
		t.i++
		return true, nil
	case 'n':
		t.value()
		return false, nil
	}
	if open == '[' {
		return false, fmt.Errorf("%s: not an array", what)
	}
	return false, fmt.Errorf("%s: not an object", what)
}

// more moves to the next element of the array or object that the walk
// is in, as close is ']' or '}', and reports whether there is one; at
// the end it moves past close.
func (t *jsonText) more(close byte) bool {
	switch t.peek() {
	case close:
		t.i++
		return false
	case ',':
		t.i++
	}
	return true
}

// key returns the next key of an object, with its quotes, and moves past
// the colon after it.
func (t *jsonText) key() []byte {
	k := t.value()
	t.peek()
	t.i++
	return k
}

// value returns the text of the next value and moves past it.
func (t *jsonText) value() []byte {
	t.peek()
	start, depth := t.i, 0
	for t.i < len(t.b) {
		switch c := t.b[t.i]; {
		case c == '"':
			t.skipString()
		case c == '[' || c == '{':
			depth++
			t.i++
			continue
		case c == ']' || c == '}':
			if depth == 0 {
				return t.b[start:t.i] // the end of a number or a literal
			}
			depth--
			t.i++
		case depth == 0 && (c == ',' || c == ' ' || c == '\t' || c == '\n' || c == '\r'):
			return t.b[start:t.i]
		default:
			t.i++
			continue
		}
		if depth == 0 {
			return t.b[start:t.i] // the end of a string, an array or an object
		}
	}
	return t.b[start:t.i]
}

// skipString moves past the string that starts at the walk.
func (t *jsonText) skipString() {
	for t.i++; t.i < len(t.b); t.i++ {
		switch t.b[t.i] {
		case '\\':
			t.i++
		case '"':
			t.i++
			return
		}
	}
}

// text returns the next value, a string or null, as a Go string.
func (t *jsonText) text(what string) (string, error) {
	switch v := t.value(); v[0] {
	case '"':
		return unquote(v), nil
	case 'n':
		return "", nil
	}
	return "", fmt.Errorf("%s: not a string", what)
}

// texts sets *list to the next value, an array of at most limit strings
// or nulls, or null, as Go strings: counted first, so that the slice is
// made once, at its size. A second list for the same *list is refused,
// so that an answer cannot make it again and again.
func (t *jsonText) texts(list *[]string, what string, limit int) error {
	if *list != nil {
		return fmt.Errorf("%s given twice", what)
	}
	if ok, err := t.enter('[', what); !ok {
		return err
	}
	n, start := 0, t.i
	for ; t.more(']'); n++ {
		t.value()
	}
	if n > limit {
		return fmt.Errorf("%d %s, more than %d", n, what, limit)
	}
	t.i = start
	*list = make([]string, 0, n)
	for t.more(']') {
		s, err := t.text(what)
		if err != nil {
			return err
		}
		*list = append(*list, s)
	}
	return nil
}

// integer returns the next value, an integer or null, as an int64.
func (t *jsonText) integer(what string) (int64, error) {
	v := t.value()
	switch {
	case v[0] == 'n':
		return 0, nil
	case len(v) <= len("-9223372036854775808"):
		if i, err := strconv.ParseInt(string(v), 10, 64); err == nil {
			return i, nil
		}
	}
	return 0, fmt.Errorf("%s: %.40s is not an int64", what, v)
}

// smallInt reads an integer of at most 18 digits, which an int64 always
// holds, without allocating; ok is false for any other text.
func smallInt(b []byte) (i int64, ok bool) {
	digits := b
	if len(b) > 0 && b[0] == '-' {
		digits = b[1:]
	}
	if len(digits) == 0 || len(digits) > 18 {
		return 0, false
	}
	for _, c := range digits {
		if c < '0' || c > '9' {
			return 0, false
		}
		i = i*10 + int64(c-'0')
	}
	if len(digits) < len(b) {
		i = -i
	}
	return i, true
}

// unquote is the Go string of a JSON string's text, quotes included, as
// encoding/json would decode it: each byte that is not UTF-8 becomes
// U+FFFD, and so does a lone surrogate.
func unquote(quoted []byte) string {
	s := quoted[1 : len(quoted)-1]
	if bytes.IndexByte(s, '\\') < 0 && utf8.Valid(s) {
		return string(s)
	}
	var b strings.Builder
	b.Grow(len(s) + 2*invalidUTF8(s)) // each such byte becomes three
	for r := 0; r < len(s); {
		switch c := s[r]; {
		case c == '\\' && s[r+1] == 'u':
			rr, n := unescapeRune(s[r:])
			b.WriteRune(rr)
			r += n
		case c == '\\':
			b.WriteByte(unescapeByte(s[r+1]))
			r += 2
		case c < utf8.RuneSelf:
			b.WriteByte(c)
			r++
		default:
			rr, n := utf8.DecodeRune(s[r:])
			b.WriteRune(rr)
			r += n
		}
	}
	return b.String()
}

// invalidUTF8 counts the bytes of s that are not UTF-8.
func invalidUTF8(s []byte) int {
	n := 0
	for r := 0; r < len(s); {
		rr, size := utf8.DecodeRune(s[r:])
		if rr == utf8.RuneError && size == 1 {
			n++
		}
		r += size
	}
	return n
}

// unescapeByte is the byte that a backslash and c stand for.
func unescapeByte(c byte) byte {
	switch c {
	case 'b':
		return '\b'
	case 'f':
		return '\f'
	case 'n':
		return '\n'
	case 'r':
		return '\r'
	case 't':
		return '\t'
	}
	return c // '"', '\\' or '/'
}

// unescapeRune reads the \uXXXX at the start of s, or the two that
// write a surrogate pair, and returns the rune and the bytes read.
func unescapeRune(s []byte) (rune, int) {
	rr := hex4(s[2:6])
	if !utf16.IsSurrogate(rr) {
		return rr, 6
	}
	if len(s) >= 12 && s[6] == '\\' && s[7] == 'u' {
		if pair := utf16.DecodeRune(rr, hex4(s[8:12])); pair != unicode.ReplacementChar {
			return pair, 12
		}
	}
	return unicode.ReplacementChar, 6
}

// hex4 reads four hex digits, which json.Valid has checked.
func hex4(b []byte) rune {
	var r rune
	for _, c := range b {
		switch {
		case c >= 'a':
			c -= 'a' - 10
		case c >= 'A':
			c -= 'A' - 10
		default:
			c -= '0'
		}
		r = r<<4 | rune(c)
	}
	return r
}
