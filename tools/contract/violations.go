package main

import (
	"bufio"
	"encoding/json"
	"io"
	"regexp"
	"strings"
)

// Prism reports each way a request or response departs from the document
// twice: in its log, as "Violation: <location> <message>", and on the
// response it forwards, as the header sl-violations, a JSON list with the
// location as a list ("response", "body", ...). The request's side is the
// client's business (this run sends bad requests on purpose); a violation
// whose location is in the response means the server and the document
// disagree.

// violation is one entry of the sl-violations header.
type violation struct {
	Location []string `json:"location"`
	Severity string   `json:"severity"`
	Message  string   `json:"message"`
}

func (v violation) inResponse() bool {
	return len(v.Location) > 0 && v.Location[0] == "response"
}

func (v violation) String() string {
	return strings.Join(v.Location, ".") + ": " + v.Message + " (" + v.Severity + ")"
}

// responseViolations returns the violations of an sl-violations header
// whose location is in the response, or all of them when accepted: a
// request the server took (2xx) that breaks the document's rules for
// requests means the document asks for more than the server does. A
// header that does not parse is a violation of its own: it cannot be
// told apart from one.
func responseViolations(header string, accepted bool) []violation {
	if header == "" {
		return nil
	}
	var all []violation
	if err := json.Unmarshal([]byte(header), &all); err != nil {
		return []violation{{Location: []string{"response"}, Severity: "unparsed", Message: "sl-violations: " + header}}
	}
	var found []violation
	for _, v := range all {
		if v.inResponse() || accepted {
			found = append(found, v)
		}
	}
	return found
}

var (
	ansiEscape   = regexp.MustCompile(`\x1b\[[0-9;]*m`)
	logViolation = regexp.MustCompile(`Violation: (\S+)`)
)

// logResponseViolations returns the lines of a Prism log that report a
// violation in a response.
func logResponseViolations(log io.Reader) ([]string, error) {
	var found []string
	sc := bufio.NewScanner(log)
	sc.Buffer(make([]byte, 64<<10), 4<<20)
	for sc.Scan() {
		line := ansiEscape.ReplaceAllString(sc.Text(), "")
		m := logViolation.FindStringSubmatch(line)
		if m != nil && (m[1] == "response" || strings.HasPrefix(m[1], "response.") || strings.HasPrefix(m[1], "response[")) {
			found = append(found, strings.TrimSpace(line))
		}
	}
	return found, sc.Err()
}
