package main

import (
	"os"
	"strings"
	"testing"
)

// The README's "Reading the code" quotes the token lookup: it must be the
// query that runs, word for word, or the reader learns something false.
func TestREADMEQuotesTheTokenLookup(t *testing.T) {
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, reading, _ := strings.Cut(string(readme), "## Reading the code")
	_, quoted, ok := strings.Cut(reading, "```sql\n")
	quoted, _, _ = strings.Cut(quoted, "```")
	if !ok {
		t.Fatal("README.md's Reading the code quotes no ```sql block")
	}
	if got, want := strings.Join(strings.Fields(quoted), " "), strings.Join(strings.Fields(liveSessionSQL), " "); got != want {
		t.Errorf("README.md quotes the token lookup as\n%s\nwant the query that runs (liveSessionSQL):\n%s", got, want)
	}
}
