package main

// How the operator's commands print: one JSON value, or a listing (tokenapi
// users, sessions) as an aligned table or a JSON array. A listing is
// printed as it is read, a page at a time, so that listing a million users
// takes no more memory than listing a thousand.

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// writeJSON prints v as indented JSON.
func (a *admin) writeJSON(v any) error {
	enc := json.NewEncoder(a.stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// listing prints the items of a list as they come: with -json as a JSON
// array, otherwise as a table under header.
type listing struct {
	json  *jsonList
	table *table
}

func (a *admin) listing(header ...any) *listing {
	if a.json {
		return &listing{json: &jsonList{w: bufio.NewWriter(a.stdout)}}
	}
	return &listing{table: newTable(a.stdout, header...)}
}

// add prints item, as JSON, or cells, as a row of the table.
func (l *listing) add(item any, cells ...any) error {
	if l.json != nil {
		return l.json.item(item)
	}
	return l.table.row(cells...)
}

// end prints what is left of the list, and closes it.
func (l *listing) end() error {
	if l.json != nil {
		return l.json.end()
	}
	return l.table.flush()
}

// jsonList prints a JSON array one item at a time, byte for byte as
// writeJSON prints the whole slice: "[]" for none, otherwise "[", the
// items indented and separated by ",", and "]".
type jsonList struct {
	w *bufio.Writer
	n int
}

func (l *jsonList) item(v any) error {
	b, err := json.MarshalIndent(v, "  ", "  ")
	if err != nil {
		return err
	}
	sep := ",\n  "
	if l.n == 0 {
		sep = "[\n  "
	}
	l.n++
	l.w.WriteString(sep)
	_, err = l.w.Write(b) // a bufio.Writer keeps its first error
	return err
}

func (l *jsonList) end() error {
	if l.n == 0 {
		l.w.WriteString("[]\n")
	} else {
		l.w.WriteString("\n]\n")
	}
	return l.w.Flush()
}

// tablePage is how many lines a table holds, the header among them, before
// it prints them.
const tablePage = 1000

// tablePadding is the space after each column but the last.
const tablePadding = 2

// table prints aligned columns under a header, tablePage lines at a time.
// Each column is as wide as its widest cell so far and tablePadding more,
// as text/tabwriter makes it, and the last is not padded: a table of one
// page prints exactly as tabwriter printed it. A later page with a wider
// cell widens that column from there on, and no column ever narrows, so
// the rows stay in line with the header and the rows above them wherever
// they can. (tabwriter flushed a page at a time would size each page on its
// own, narrowing and widening columns every thousand rows; widths fixed by
// each column's bound, such as 64 characters for a username, would spread
// a table of short names across the screen.)
type table struct {
	w      io.Writer
	widths []int      // of each column but the last, padding included
	lines  [][]string // not yet printed
	buf    bytes.Buffer
}

func newTable(w io.Writer, header ...any) *table {
	t := &table{w: w}
	t.row(header...) // never prints: the table holds no other line yet
	return t
}

func (t *table) row(cells ...any) error {
	line := make([]string, len(cells))
	for i, c := range cells {
		line[i] = fmt.Sprint(c)
	}
	t.lines = append(t.lines, line)
	if len(t.lines) < tablePage {
		return nil
	}
	return t.flush()
}

// flush prints the lines the table holds.
func (t *table) flush() error {
	for _, line := range t.lines {
		for i, c := range line[:len(line)-1] {
			if i == len(t.widths) {
				t.widths = append(t.widths, 0)
			}
			t.widths[i] = max(t.widths[i], utf8.RuneCountInString(c)+tablePadding)
		}
	}
	t.buf.Reset()
	for _, line := range t.lines {
		for i, c := range line {
			t.buf.WriteString(c)
			if i < len(line)-1 {
				t.buf.WriteString(strings.Repeat(" ", t.widths[i]-utf8.RuneCountInString(c)))
			}
		}
		t.buf.WriteByte('\n')
	}
	t.lines = t.lines[:0]
	_, err := t.w.Write(t.buf.Bytes())
	return err
}

// textTime is a time as the tables show it, "-" for none.
func textTime(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format(time.RFC3339)
}

// optionalTime is a time as the JSON shows it, null for none.
func optionalTime(t time.Time) *string {
	if t.IsZero() {
		return nil
	}
	s := formatTime(t)
	return &s
}

// textCell is a client's text, a session name or a User-Agent, as the
// tables show it: "-" for none, and '?' for a control character, which
// could move the cursor or break the columns, or a format character, which
// could reorder the row. A row stored before format characters were
// refused may still hold them, so the table mends them as it prints.
func textCell(s string) string {
	if s == "" {
		return "-"
	}
	return cutRunes(s, utf8.RuneCountInString(s))
}

// plural is "1 session", "2 sessions".
func plural(n int64, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return strconv.FormatInt(n, 10) + " " + noun + "s"
}
