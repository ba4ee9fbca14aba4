package rqlite

// rqlite's JSON, both ways: statements with their arguments going out,
// rows coming back. Integers travel as JSON number text and are read back
// from that text into int64, so an id past 2^53 stays exact.

import (
	"bytes"
	"database/sql/driver"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"
)

// statement is one statement as rqlite takes it, already in JSON:
// ["SQL", arg1, arg2...].
type statement []byte

// newStatement encodes query and its arguments.
//
// One argument needs care. rqlite reads a string argument that looks like
// an SQL blob literal, X'4142', as that blob, not as the text: a post
// titled X'4142' would be stored as the two bytes "AB". Such a string is
// sent as its UTF-8 bytes instead, and its placeholder becomes
// CAST(? AS TEXT), which SQLite turns back into exactly the text sent.
func newStatement(query string, args []driver.NamedValue) (statement, error) {
	var encoded []byte
	var asText []int // ordinals of strings sent as bytes
	for _, arg := range args {
		encoded = append(encoded, ',')
		switch v := arg.Value.(type) {
		case nil:
			encoded = append(encoded, "null"...)
		case int64:
			encoded = strconv.AppendInt(encoded, v, 10)
		case float64:
			if math.IsNaN(v) || math.IsInf(v, 0) {
				return nil, fmt.Errorf("rqlite: argument %d: %v cannot be sent", arg.Ordinal, v)
			}
			encoded = appendFloat(encoded, v)
		case bool:
			encoded = strconv.AppendBool(encoded, v)
		case []byte:
			if v == nil {
				encoded = append(encoded, "null"...)
			} else {
				encoded = appendBytes(encoded, v)
			}
		case string:
			if looksLikeBlobLiteral(v) {
				encoded = appendBytes(encoded, []byte(v))
				asText = append(asText, arg.Ordinal)
			} else {
				encoded = appendJSONString(encoded, v)
			}
		case time.Time:
			// go-sqlite3's form, so that either driver stores the same text.
			encoded = appendJSONString(encoded, v.Format("2006-01-02 15:04:05.999999999-07:00"))
		default:
			return nil, fmt.Errorf("rqlite: argument %d: unsupported type %T", arg.Ordinal, v)
		}
	}
	if len(asText) > 0 {
		var err error
		if query, err = castPlaceholders(query, asText); err != nil {
			return nil, err
		}
	}
	stmt := make([]byte, 0, len(query)+len(encoded)+8)
	stmt = append(stmt, '[')
	stmt = appendJSONString(stmt, query)
	stmt = append(stmt, encoded...)
	return append(stmt, ']'), nil
}

// appendFloat writes f so that rqlite reads it back as a float: 1.0 as
// "1.0", not "1", which it would bind as an integer.
func appendFloat(b []byte, f float64) []byte {
	start := len(b)
	b = strconv.AppendFloat(b, f, 'g', -1, 64)
	if !strings.ContainsAny(string(b[start:]), ".eE") {
		b = append(b, ".0"...)
	}
	return b
}

// appendBytes writes a blob as rqlite takes it: an array of byte values.
func appendBytes(b, blob []byte) []byte {
	b = append(b, '[')
	for i, c := range blob {
		if i > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendUint(b, uint64(c), 10)
	}
	return append(b, ']')
}

func appendJSONString(b []byte, s string) []byte {
	quoted, _ := json.Marshal(s) // a string always marshals
	return append(b, quoted...)
}

// looksLikeBlobLiteral reports whether rqlite might read s as a blob
// literal: X'...' once trimmed, as its parser checks (it then also needs
// the inside to be hex; sending a non-hex one as bytes changes nothing).
func looksLikeBlobLiteral(s string) bool {
	t := strings.TrimSpace(s)
	return len(t) >= 3 && (t[0] == 'x' || t[0] == 'X') && t[1] == '\'' && t[len(t)-1] == '\''
}

// castPlaceholders rewrites the ? placeholders whose ordinals are listed as
// CAST(? AS TEXT). It counts placeholders as SQLite does, skipping quoted
// strings and names and comments.
func castPlaceholders(query string, ordinals []int) (string, error) {
	want := map[int]bool{}
	for _, o := range ordinals {
		want[o] = true
	}
	var out strings.Builder
	n := 0
	for i := 0; i < len(query); i++ {
		c := query[i]
		switch {
		case c == '\'' || c == '"' || c == '`' || c == '[':
			end := byte(c)
			if c == '[' {
				end = ']'
			}
			j := strings.IndexByte(query[i+1:], end)
			if j < 0 {
				j = len(query) - i - 2 // unterminated: the rest is quoted
			}
			out.WriteString(query[i : i+j+2])
			i += j + 1 // a doubled quote is two quoted runs, which is the same
		case c == '-' && strings.HasPrefix(query[i:], "--"):
			j := strings.IndexByte(query[i:], '\n')
			if j < 0 {
				j = len(query) - i - 1
			}
			out.WriteString(query[i : i+j+1])
			i += j
		case c == '/' && strings.HasPrefix(query[i:], "/*"):
			j := strings.Index(query[i+2:], "*/")
			if j < 0 {
				j = len(query) - i - 4
			}
			out.WriteString(query[i : i+j+4])
			i += j + 3
		case c == '?':
			if i+1 < len(query) && query[i+1] >= '0' && query[i+1] <= '9' {
				return "", errors.New("rqlite: numbered placeholders (?NNN) are not supported")
			}
			n++
			if want[n] {
				out.WriteString("CAST(? AS TEXT)")
			} else {
				out.WriteByte('?')
			}
		default:
			out.WriteByte(c)
		}
	}
	return out.String(), nil
}

// rows are a query's rows, all in memory, as rqlite answers with all of
// them at once, but as the answer's own JSON text (see answer.go): each
// Next turns one row into Go values.
type rows struct {
	columns []string
	types   []string
	isReal  []bool   // whether each column has REAL affinity
	values  jsonText // the rows to come, as checkRows checked them
	done    bool
}

func newRows(r result) *rows {
	rs := &rows{columns: r.Columns, types: r.Types, isReal: make([]bool, len(r.Columns))}
	for i := range rs.isReal {
		rs.isReal[i] = i < len(r.Types) && hasRealAffinity(r.Types[i])
	}
	rs.values = jsonText{b: r.Values}
	some, _ := rs.values.enter('[', "values") // none when Values is nil
	rs.done = !some
	return rs
}

func (r *rows) Columns() []string { return r.columns }

// Close lets the answer go before database/sql lets its rows go.
func (r *rows) Close() error {
	r.values, r.done = jsonText{}, true
	return nil
}

func (r *rows) ColumnTypeDatabaseTypeName(i int) string {
	if i < len(r.types) {
		return strings.ToUpper(r.types[i])
	}
	return ""
}

// Next reads one row, which checkRows made sure has a value per column.
func (r *rows) Next(dest []driver.Value) error {
	if r.done || !r.values.more(']') {
		r.done = true
		return io.EOF
	}
	r.values.enter('[', "a row") // checkRows made sure it is an array
	for i := 0; r.values.more(']'); i++ {
		cell := r.values.value()
		if i >= len(dest) {
			continue
		}
		v, err := columnValue(cell, r.isReal[i])
		if err != nil {
			r.done = true // the walk stopped in the middle of a row
			return fmt.Errorf("rqlite: column %s: %w", r.columns[i], err)
		}
		dest[i] = v
	}
	return nil
}

// columnValue turns the JSON text of one value, which checkRows checked,
// into what database/sql expects of a SQLite driver: int64, float64,
// string, []byte (blobs come as arrays, asked for with blob_array) or
// nil. A number is an int64 unless its column has REAL affinity or it has
// a fraction: JSON writes the real 1.0 as 1.
func columnValue(cell []byte, isReal bool) (driver.Value, error) {
	switch cell[0] {
	case 'n':
		return nil, nil
	case 't':
		return true, nil
	case 'f':
		return false, nil
	case '"':
		return unquote(cell), nil
	case '[':
		blob := make([]byte, 0, bytes.Count(cell, []byte{','})+1)
		t := jsonText{b: cell, i: 1} // past the '['
		for t.more(']') {
			b, _ := smallInt(t.value())
			blob = append(blob, byte(b))
		}
		return blob, nil
	}
	if !isReal {
		if i, ok := smallInt(cell); ok {
			return i, nil
		}
		if len(cell) <= len("-9223372036854775808") {
			if i, err := strconv.ParseInt(string(cell), 10, 64); err == nil {
				return i, nil
			}
		}
	}
	f, err := strconv.ParseFloat(string(cell), 64)
	if numErr, ok := err.(*strconv.NumError); ok {
		numErr.Num, _ = cutText(numErr.Num) // a node's text, which may be long
	}
	return f, err
}

// hasRealAffinity applies SQLite's rule for a declared type with REAL
// affinity (REAL, FLOAT, DOUBLE...), after the INTEGER and TEXT ones.
func hasRealAffinity(typ string) bool {
	t := strings.ToLower(typ)
	if strings.Contains(t, "int") || strings.Contains(t, "char") || strings.Contains(t, "clob") || strings.Contains(t, "text") {
		return false
	}
	return strings.Contains(t, "real") || strings.Contains(t, "floa") || strings.Contains(t, "doub")
}
