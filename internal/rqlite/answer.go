package rqlite

// A node's answer, read and decoded within a budget: whatever a node
// answers, faulty or hostile, costs a few times its bytes at most.
// Decoded into interface values, an answer of 8 MiB of zeros would cost
// some 400 MiB: a []any and a json.Number for each two bytes. So the rows
// stay the answer's own text, checked here and turned into Go values one
// row at a time as Next reads them (values.go), and all that is made of
// the rest is what a query must have: its column names and types.

import (
	"encoding/json"
	"fmt"
	"io"
)

// maxColumns is SQLite's own limit on the columns of a result, which no
// build of it can raise (SQLITE_MAX_COLUMN): an answer with more is not
// SQLite's, and its names would cost several times their bytes.
const maxColumns = 32767

// response is the answer to /db/execute and /db/query: a result per
// statement, or an error for the whole request.
type response struct {
	Results []result // at most one per statement sent
	Count   int      // the results in the answer, which may be more
	Error   string
}

// result is one statement's result: rows for a query, the last
// insert id and rows affected for a write, or its SQL error.
type result struct {
	Columns  []string
	Types    []string
	Values   []byte // the rows' JSON text, as checkRows checked it, or nil
	LastID   int64
	Affected int64
	Error    string
}

func (r result) LastInsertId() (int64, error) { return r.LastID, nil }
func (r result) RowsAffected() (int64, error) { return r.Affected, nil }

// readAnswer reads body whole, or says errAnswerTooLarge once it is
// larger than maxResponse. It reads into pieces, each half as large again
// as the one before, and then copies them into one slice of the answer's
// size: about twice the answer in all, where growing one slice could
// cost five times (as io.ReadAll did before Go 1.26), and only the
// answer kept.
func readAnswer(body io.Reader) ([]byte, error) {
	var pieces [][]byte
	size := 0 // of the pieces
	buf := make([]byte, 0, 512)
	for {
		n, err := body.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		switch {
		case size+len(buf) > maxResponse:
			return nil, errAnswerTooLarge
		case err == io.EOF:
			if pieces == nil {
				return buf, nil
			}
			answer := make([]byte, 0, size+len(buf))
			for _, p := range pieces {
				answer = append(answer, p...)
			}
			return append(answer, buf...), nil
		case err != nil:
			return nil, err
		case len(buf) == cap(buf):
			pieces = append(pieces, buf)
			size += len(buf)
			buf = make([]byte, 0, min(cap(buf)*3/2, maxResponse+1-size))
		}
	}
}

// decodeResponse decodes an answer to statements statements. Results
// beyond those are counted, not decoded.
func decodeResponse(answer []byte, statements int) (response, error) {
	var resp response
	if !json.Valid(answer) {
		// Unmarshal says why, and decodes nothing of an invalid answer.
		return resp, fmt.Errorf("rqlite: unreadable answer: %w", json.Unmarshal(answer, &struct{}{}))
	}
	t := &jsonText{b: answer}
	ok, err := t.enter('{', "the answer")
	for ok && err == nil && t.more('}') {
		switch string(t.key()) {
		case `"results"`:
			resp.Results, resp.Count, err = decodeResults(t, statements)
		case `"error"`:
			resp.Error, err = t.text("error")
		default:
			t.value()
		}
	}
	if err != nil {
		return response{}, fmt.Errorf("rqlite: unreadable answer: %w", err)
	}
	return resp, nil
}

// decodeResults decodes the results of an answer, the first statements
// of them, and counts them all.
func decodeResults(t *jsonText, statements int) ([]result, int, error) {
	if ok, err := t.enter('[', "results"); !ok {
		return nil, 0, err
	}
	results := make([]result, 0, statements)
	n := 0
	for ; t.more(']'); n++ {
		if len(results) == statements {
			t.value()
			continue
		}
		r, err := decodeResult(t)
		if err != nil {
			return nil, 0, fmt.Errorf("result %d: %w", n+1, err)
		}
		results = append(results, r)
	}
	return results, n, nil
}

// decodeResult decodes one statement's result.
func decodeResult(t *jsonText) (result, error) {
	var r result
	ok, err := t.enter('{', "a result")
	var values []byte
	for ok && err == nil && t.more('}') {
		switch string(t.key()) {
		case `"columns"`:
			err = t.texts(&r.Columns, "columns", maxColumns)
		case `"types"`:
			err = t.texts(&r.Types, "types", maxColumns)
		case `"values"`:
			values = t.value()
		case `"last_insert_id"`:
			r.LastID, err = t.integer("last_insert_id")
		case `"rows_affected"`:
			r.Affected, err = t.integer("rows_affected")
		case `"error"`:
			r.Error, err = t.text("error")
		default:
			t.value()
		}
	}
	if err == nil && values != nil {
		r.Values, err = checkRows(values, r.Columns)
	}
	return r, err
}

// checkRows checks the JSON text of a result's values, and returns it, or
// nil for null: an array of rows, each an array of one value per column,
// each a value as rqlite writes a column's: null, true, false, a number, a
// string, or a blob as an array of byte values.
func checkRows(values []byte, columns []string) ([]byte, error) {
	t := &jsonText{b: values}
	if ok, err := t.enter('[', "values"); !ok {
		return nil, err
	}
	for row := 1; t.more(']'); row++ {
		if ok, _ := t.enter('[', ""); !ok {
			return nil, fmt.Errorf("row %d: not an array", row)
		}
		n := 0
		for ; t.more(']'); n++ {
			cell := t.value()
			if n >= len(columns) {
				continue // said below
			}
			if err := checkCell(cell); err != nil {
				return nil, fmt.Errorf("row %d: column %s: %w", row, columns[n], err)
			}
		}
		if n != len(columns) {
			return nil, fmt.Errorf("row %d has %d values for %d columns", row, n, len(columns))
		}
	}
	return values, nil
}

// checkCell checks one value of a row: an object is none that rqlite
// writes, and an array must be a blob's bytes.
func checkCell(cell []byte) error {
	switch cell[0] {
	case '{':
		return fmt.Errorf("unexpected value %.40s", cell)
	case '[':
		t := &jsonText{b: cell, i: 1} // past the '['
		for t.more(']') {
			b := t.value()
			if i, ok := smallInt(b); !ok || i < 0 || i > 255 || b[0] == '-' {
				return fmt.Errorf("blob byte %.40s", b)
			}
		}
	}
	return nil
}
