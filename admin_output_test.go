package main

import (
	"bufio"
	"bytes"
	"fmt"
	"slices"
	"strings"
	"testing"
	"text/tabwriter"
)

// TestTableMatchesTabwriter checks that a table of one page prints as
// text/tabwriter printed the commands' tables before they streamed.
func TestTableMatchesTabwriter(t *testing.T) {
	tests := [][][]any{
		{{"ID", "USERNAME", "LIVE SESSIONS"}},
		{{"ID", "USERNAME", "LIVE SESSIONS"}, {1, "muthoni", 1}, {22, "gitau", 12}},
		{{"ID", "NAME", "USER AGENT"}, {7, "téléphone", "TokenApp/2.1 (Android 14)"}, {8, "-", "-"}, {1234, "laptop", "curl/8.5.0"}},
	}
	for _, lines := range tests {
		var want bytes.Buffer
		tw := tabwriter.NewWriter(&want, 0, 0, tablePadding, ' ', 0)
		for _, line := range lines {
			for i, c := range line {
				if i > 0 {
					fmt.Fprint(tw, "\t")
				}
				fmt.Fprint(tw, c)
			}
			fmt.Fprintln(tw)
		}
		tw.Flush()

		var got bytes.Buffer
		tb := newTable(&got, lines[0]...)
		for _, line := range lines[1:] {
			if err := tb.row(line...); err != nil {
				t.Fatal(err)
			}
		}
		if err := tb.flush(); err != nil {
			t.Fatal(err)
		}
		if got.String() != want.String() {
			t.Errorf("table printed\n%s\nwant, as tabwriter,\n%s", got.String(), want.String())
		}
	}
}

// writes records each Write as its lines.
type writes [][]string

func (w *writes) Write(p []byte) (int, error) {
	*w = append(*w, strings.Split(strings.TrimSuffix(string(p), "\n"), "\n"))
	return len(p), nil
}

// TestTablePages checks that a table prints tablePage lines at a time, and
// that a column a later page needs wider widens from that page on and
// never narrows again.
func TestTablePages(t *testing.T) {
	var w writes
	tb := newTable(&w, "ID", "NAME", "N")
	const rows = 2*tablePage + 10
	for i := 1; i <= rows; i++ {
		name := "short"
		if i == tablePage+5 {
			name = "a-much-longer-name" // on the second page
		}
		if err := tb.row(i, name, 0); err != nil {
			t.Fatal(err)
		}
	}
	if err := tb.flush(); err != nil {
		t.Fatal(err)
	}
	var sizes []int
	for _, lines := range w {
		sizes = append(sizes, len(lines))
	}
	if want := []int{tablePage, tablePage, rows + 1 - 2*tablePage}; !slices.Equal(sizes, want) {
		t.Fatalf("the table printed %v lines a write, want %v", sizes, want)
	}
	// Where the last column starts, on each page: after the widest cells so
	// far, the third page's ids no wider than the second's.
	wantAt := []int{len("999  short  "), len("1999  a-much-longer-name  "), len("1999  a-much-longer-name  ")}
	for page, lines := range w {
		for _, line := range lines {
			if at := strings.LastIndex(line, " ") + 1; at != wantAt[page] {
				t.Fatalf("page %d: line %q has its last column at %d, want %d", page+1, line, at, wantAt[page])
			}
		}
	}
}

// TestJSONListMatchesWriteJSON checks that a list printed an item at a time
// is byte for byte the slice writeJSON prints, for none, one and several.
func TestJSONListMatchesWriteJSON(t *testing.T) {
	type item struct {
		ID   int64   `json:"id"`
		Name string  `json:"name"`
		When *string `json:"when"`
		Tags []int   `json:"tags,omitempty"`
	}
	when := "2026-12-07T14:55:27.000000Z"
	all := []item{{1, "a<b>&c", &when, []int{1, 2}}, {2, "téléphone", nil, nil}, {3, "", &when, nil}}
	for n := range len(all) + 1 {
		items := all[:n]
		var want, got bytes.Buffer
		if err := (&admin{stdout: &want}).writeJSON(items); err != nil {
			t.Fatal(err)
		}
		l := &jsonList{w: bufio.NewWriter(&got)}
		for _, it := range items {
			if err := l.item(it); err != nil {
				t.Fatal(err)
			}
		}
		if err := l.end(); err != nil {
			t.Fatal(err)
		}
		if got.String() != want.String() {
			t.Errorf("%d items: jsonList printed\n%s\nwant, as writeJSON,\n%s", n, got.String(), want.String())
		}
	}
}
