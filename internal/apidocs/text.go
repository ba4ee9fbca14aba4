package apidocs

import (
	"encoding/json"
	"fmt"
	"net/url"
	"regexp"
	"strings"
)

// How the docs page says what the document says: a schema's type and
// limits in words, a curl command to paste, a description's paragraphs.

// exampleValue is a value to put in a URL for a parameter: its example,
// its schema's, its default, its minimum, or 1.
func exampleValue(example json.RawMessage, s docSchema) string {
	for _, raw := range []json.RawMessage{example, s.example(), s.Default, s.Minimum} {
		if len(raw) == 0 {
			continue
		}
		var text string
		if json.Unmarshal(raw, &text) == nil {
			return text
		}
		return string(raw)
	}
	return "1"
}

// fillPath puts the example values into a path template, and adds the
// required query parameters.
func fillPath(path string, examples map[string]string) string {
	var query url.Values
	for key, value := range examples {
		in, name, _ := strings.Cut(key, ":")
		if in == "path" {
			path = strings.ReplaceAll(path, "{"+name+"}", url.PathEscape(value))
		} else {
			if query == nil {
				query = url.Values{}
			}
			query.Set(name, value)
		}
	}
	if query != nil {
		path += "?" + query.Encode() // sorted by name: the same page every time
	}
	return path
}

// typeOf names a schema's type as a reader would say it: "string (email)",
// "array of integer", "string or null".
func typeOf(s docSchema) string {
	types, nullable := s.types()
	for i, t := range types {
		switch {
		case t == "array":
			var items docSchema
			json.Unmarshal(s.Items, &items) // an item's $ref is named by its own type, or not at all
			if inner := typeOf(items); inner != "" {
				types[i] = "array of " + inner
			}
		case s.Format != "":
			types[i] = t + " (" + s.Format + ")"
		}
	}
	if nullable {
		types = append(types, "null")
	}
	return strings.Join(types, " or ")
}

// rulesOf lists a schema's limits as a reader would say them.
func rulesOf(s docSchema) []string {
	var rules []string
	if r := rangeRule(s.MinLength, s.MaxLength, "characters"); r != "" {
		rules = append(rules, r)
	}
	if r := rangeRule(s.MinItems, s.MaxItems, "items"); r != "" {
		rules = append(rules, r)
	}
	switch min, max := string(s.Minimum), string(s.Maximum); {
	case min != "" && max != "":
		rules = append(rules, "from "+min+" to "+max)
	case min != "":
		rules = append(rules, "at least "+min)
	case max != "":
		rules = append(rules, "at most "+max)
	}
	if len(s.ExclusiveMinimum) > 0 {
		rules = append(rules, "more than "+string(s.ExclusiveMinimum))
	}
	if len(s.ExclusiveMaximum) > 0 {
		rules = append(rules, "less than "+string(s.ExclusiveMaximum))
	}
	if s.Pattern != "" {
		rules = append(rules, "matches `"+s.Pattern+"`")
	}
	if len(s.Enum) > 0 {
		values := make([]string, len(s.Enum))
		for i, v := range s.Enum {
			values[i] = string(v)
		}
		if len(values) == 1 {
			rules = append(rules, "only "+values[0])
		} else {
			rules = append(rules, "one of "+strings.Join(values, ", "))
		}
	}
	if len(s.Const) > 0 {
		rules = append(rules, "always "+string(s.Const))
	}
	if len(s.Default) > 0 {
		rules = append(rules, "default "+string(s.Default))
	}
	return rules
}

// rangeRule says "1 to 64 characters", "at most 140 characters" or
// "at least 8 characters", or nothing without limits.
func rangeRule(min, max *int, unit string) string {
	switch {
	case min != nil && max != nil:
		return fmt.Sprintf("%d to %d %s", *min, *max, unit)
	case max != nil:
		return fmt.Sprintf("at most %d %s", *max, unit)
	case min != nil && *min > 0:
		return fmt.Sprintf("at least %d %s", *min, unit)
	}
	return ""
}

// curlCommand is a command to paste into a shell: the method, the URL, the
// credentials the auth asks for (from the shell's $TOKEN for a token, so
// double-quoted), and the example body.
func curlCommand(method, url, auth string, body *bodyView) string {
	first := "curl -i"
	if method != "GET" {
		first += " -X " + method
	}
	lines := []string{first + " " + shellQuote(url)}
	switch {
	case strings.HasPrefix(auth, "Basic"):
		lines = append(lines, "-u user:pass")
	case strings.HasPrefix(auth, "Bearer"):
		lines = append(lines, `-H "Authorization: Bearer $TOKEN"`)
	}
	if body != nil && body.Example != "" {
		lines = append(lines, "-H "+shellQuote("Content-Type: "+body.ContentType), "-d "+shellQuote(body.Example))
	}
	return strings.Join(lines, " \\\n  ")
}

// shellQuote quotes s for a POSIX shell, unless it needs no quotes.
func shellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./:@%+,=") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// slug makes an HTML id of an operation's id.
func slug(s string) string {
	return strings.Trim(nonSlug.ReplaceAllString(strings.ToLower(s), "-"), "-")
}

var nonSlug = regexp.MustCompile(`[^a-z0-9]+`)

// block is a paragraph of a description, or a list when every line of
// the paragraph starts with "- ". Text is split into `code` spans and
// plain text: the pieces of CommonMark the descriptions lean on.
type block struct {
	Text  paragraph
	Items []paragraph
}

type paragraph []textPart

type textPart struct {
	Text string
	Code bool
}

// paragraphs splits a description at its blank lines, and each paragraph
// at its backticks. The template escapes the text; nothing here is HTML.
func paragraphs(text string) []block {
	var bs []block
	for _, par := range strings.Split(strings.ReplaceAll(text, "\r\n", "\n"), "\n\n") {
		if par = strings.TrimSpace(par); par != "" {
			bs = append(bs, blockOf(par))
		}
	}
	return bs
}

// blockOf makes a list of a paragraph whose lines all start with "- ",
// and a paragraph of any other.
func blockOf(par string) block {
	lines := strings.Split(par, "\n")
	var items []paragraph
	for _, line := range lines {
		item, ok := strings.CutPrefix(strings.TrimSpace(line), "- ")
		if !ok {
			return block{Text: spans(par)}
		}
		items = append(items, spans(item))
	}
	return block{Items: items}
}

// spans splits text at its backticks into plain text and code.
func spans(text string) paragraph {
	pieces := strings.Split(text, "`")
	if len(pieces)%2 == 0 { // a backtick left open: no code spans
		pieces = []string{text}
	}
	var p paragraph
	for i, piece := range pieces {
		if piece != "" {
			p = append(p, textPart{Text: piece, Code: i%2 == 1})
		}
	}
	return p
}
