package rqlite

import (
	"bytes"
	"database/sql/driver"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strings"
	"testing"
)

// Answers decoded as rows, without a node: what Next gives for each kind
// of value rqlite writes, and which answers are refused.

// queryAnswer decodes answer as the answer to one query and reads its
// rows, each formatted with %#v.
func queryAnswer(answer string) ([]string, error) {
	resp, err := decodeResponse([]byte(answer), 1)
	if err != nil {
		return nil, err
	}
	if resp.Count != 1 {
		return nil, fmt.Errorf("%d results", resp.Count)
	}
	rows := newRows(resp.Results[0])
	var got []string
	dest := make([]driver.Value, len(rows.Columns()))
	for {
		switch err := rows.Next(dest); err {
		case nil:
			got = append(got, fmt.Sprintf("%#v", dest))
		case io.EOF:
			return got, nil
		default:
			return got, err
		}
	}
}

// rowsOf is an answer of one result with columns, types and values.
func rowsOf(columns, types, values string) string {
	return `{"results":[{"columns":` + columns + `,"types":` + types + `,"values":` + values + `}]}`
}

func TestAnswerValues(t *testing.T) {
	cases := []struct {
		name, answer string
		want         []driver.Value // one row
	}{
		{"each kind", rowsOf(`["i","r","s","b","n","t","f"]`, `["integer","real","text","blob","","",""]`,
			`[[9007199254740993,1,"x",[0,1,255],null,true,false]]`),
			[]driver.Value{int64(1<<53 + 1), 1.0, "x", []byte{0, 1, 255}, nil, true, false}},
		{"extremes", rowsOf(`["a","b","c"]`, `["integer","integer","blob"]`, `[[-9223372036854775808,9223372036854775807,[]]]`),
			[]driver.Value{int64(math.MinInt64), int64(math.MaxInt64), []byte{}}},
		{"numbers that are not int64", rowsOf(`["a","b","c","d"]`, `["integer","int","",""]`, `[[1.5,1e3,12345678901234567890,-0]]`),
			[]driver.Value{1.5, 1000.0, 12345678901234567890.0, int64(0)}},
		{"REAL affinity", rowsOf(`["a","b","c","d"]`, `["DOUBLE PRECISION","float","real","point"]`, `[[2,3,4,5]]`),
			[]driver.Value{2.0, 3.0, 4.0, int64(5)}},
		{"strings", rowsOf(`["a","b","c"]`, `["text","text","text"]`,
			`[["naïve \"q\" \\ \/ \b\f\n\r\t \u00e9 \ud83d\ude00","\ud800 lone \udc00\u0041","`+"\xff\xfe bad \xe2\x82"+`"]]`),
			[]driver.Value{"naïve \"q\" \\ / \b\f\n\r\t é 😀", "\uFFFD lone \uFFFDA", "\uFFFD\uFFFD bad \uFFFD\uFFFD"}},
		{"white space and other keys", "{ \"time\": 1.5,\n \"results\" : [ {\"time\":{\"x\":[\"]\",{}]}, \"columns\" : [ \"a\" ] ,\n\t\"values\" : [ [ 7 ] ] } ] }\n",
			[]driver.Value{int64(7)}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := queryAnswer(tc.answer)
			if want := fmt.Sprintf("%#v", tc.want); err != nil || len(got) != 1 || got[0] != want {
				t.Errorf("rows = %q, %v; want [%q]", got, err, want)
			}
		})
	}
}

func TestAnswerRowsCounted(t *testing.T) {
	for answer, want := range map[string]int{
		`{"results":[{"columns":["a"],"types":["integer"]}]}`:                  0,
		rowsOf(`["a"]`, `["integer"]`, `null`):                                 0,
		rowsOf(`["a"]`, `["integer"]`, `[[1],[2],[3]]`):                        3,
		rowsOf(`["a","b"]`, `["integer"]`, `[["x",1],["y",null]]`):             2,
		rowsOf(`[]`, `[]`, `[[],[]]`):                                          2,
		`{"results":[{"last_insert_id":3,"rows_affected":null,"error":null}]}`: 0,
	} {
		if got, err := queryAnswer(answer); err != nil || len(got) != want {
			t.Errorf("rows of %s = %q, %v; want %d", answer, got, err, want)
		}
	}
}

// An answer that is not what rqlite writes is refused whole, when it is
// decoded; only a number out of a float64's range waits for Next.
func TestAnswerRefused(t *testing.T) {
	cases := []struct{ name, answer, wantErr string }{
		{"not JSON", `<html>`, "unreadable answer: invalid character '<'"},
		{"two values", `{"results":[]} {}`, "unreadable answer: invalid character '{' after top-level value"},
		{"not an object", `[]`, "the answer: not an object"},
		{"results not an array", `{"results":{}}`, "results: not an array"},
		{"a row short", rowsOf(`["a","b"]`, `[]`, `[[1,2],[3]]`), "row 2 has 1 values for 2 columns"},
		{"a row long", rowsOf(`["a"]`, `[]`, `[[1,2]]`), "row 1 has 2 values for 1 columns"},
		{"values without columns", `{"results":[{"values":[[1]]}]}`, "row 1 has 1 values for 0 columns"},
		{"a row not an array", rowsOf(`["a"]`, `[]`, `[null]`), "row 1: not an array"},
		{"values not an array", rowsOf(`["a"]`, `[]`, `{}`), "values: not an array"},
		{"an object", rowsOf(`["a"]`, `[]`, `[[{"x":1}]]`), `row 1: column a: unexpected value {"x":1}`},
		{"blob byte 256", rowsOf(`["b"]`, `["blob"]`, `[[[0,256]]]`), "column b: blob byte 256"},
		{"blob byte -0", rowsOf(`["b"]`, `["blob"]`, `[[[-0]]]`), "column b: blob byte -0"},
		{"blob byte 1.0", rowsOf(`["b"]`, `["blob"]`, `[[[1.0]]]`), "column b: blob byte 1.0"},
		{"blob of strings", rowsOf(`["b"]`, `["blob"]`, `[[["1"]]]`), `column b: blob byte "1"`},
		{"column not a string", rowsOf(`[1]`, `[]`, `[]`), "columns: not a string"},
		{"too many columns", rowsOf(`[`+strings.Repeat(`"a",`, maxColumns)+`"a"]`, `[]`, `[]`), "32768 columns, more than 32767"},
		{"too many types", rowsOf(`[]`, `[`+strings.Repeat(`"",`, maxColumns)+`""]`, `[]`), "32768 types, more than 32767"},
		{"columns twice", `{"results":[{"columns":["a"],"columns":["a"]}]}`, "columns given twice"},
		{"id not an integer", `{"results":[{"last_insert_id":1.5}]}`, "last_insert_id: 1.5 is not an int64"},
		{"id too large", `{"results":[{"last_insert_id":9223372036854775808}]}`, "is not an int64"},
		{"error not a string", `{"error":{}}`, "error: not a string"},
		{"a real out of range", rowsOf(`["r"]`, `["real"]`, `[[1],[1e400]]`), `column r: strconv.ParseFloat: parsing "1e400": value out of range`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := queryAnswer(tc.answer)
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("rows = %q, %v; want an error with %q", got, err, tc.wantErr)
			}
		})
	}
}

// Whatever valid JSON a node sends, the walk finds the values that
// encoding/json finds, and reads strings as it does.
func FuzzJSONText(f *testing.F) {
	for _, s := range []string{
		`[1,"a",null,true,[[]],{"k":["]",{}]},-1.5e+3]`,
		` [ "\"", "\\", "a\\\"]" , {} ] `,
		`"\u00e9\ud83d\ude00\ud800\udc00\ud800\u0041 \/\b"`,
		"\"\xff\xc3\x28 \xe2\x82\xa1\"",
		`[]`, `"" `, `7`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if !json.Valid(data) {
			return
		}
		var s string
		if json.Unmarshal(data, &s) == nil {
			if got := unquote(bytes.TrimSpace(data)); got != s {
				t.Errorf("unquote(%s) = %q, want %q", data, got, s)
			}
		}
		var elems []json.RawMessage
		if json.Unmarshal(data, &elems) != nil {
			return
		}
		walk := &jsonText{b: data}
		if ok, err := walk.enter('[', "data"); !ok {
			t.Fatalf("enter(%s) = %v", data, err)
		}
		n := 0
		for ; walk.more(']'); n++ {
			if got := walk.value(); n >= len(elems) || !bytes.Equal(got, elems[n]) {
				t.Fatalf("value %d of %s = %s, want %d values %s", n, data, got, len(elems), elems)
			}
		}
		if n != len(elems) || walk.peek() != 0 {
			t.Errorf("walk of %s found %d values and ended at %d; want %d and the end", data, n, walk.i, len(elems))
		}
	})
}
