package main

import (
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"slices"
	"strings"
)

// answer is one response the document lists: an operation ("GET
// /api/users/{id}") and a status.
type answer struct {
	op     string
	status int
}

func (a answer) String() string { return fmt.Sprintf("%s %d", a.op, a.status) }

// documentedAnswers reads every operation of an OpenAPI document and the
// statuses it lists.
func documentedAnswers(specPath string) ([]answer, error) {
	data, err := os.ReadFile(specPath)
	if err != nil {
		return nil, err
	}
	var doc struct {
		Paths map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("%s: %w", specPath, err)
	}
	var answers []answer
	for path, item := range doc.Paths {
		for method, raw := range item {
			if !slices.Contains([]string{"get", "put", "post", "delete", "options", "head", "patch", "trace"}, method) {
				continue
			}
			var op struct {
				Responses map[string]json.RawMessage `json:"responses"`
			}
			if err := json.Unmarshal(raw, &op); err != nil {
				return nil, fmt.Errorf("%s %s: %w", method, path, err)
			}
			for code := range op.Responses {
				var status int
				if _, err := fmt.Sscanf(code, "%d", &status); err != nil {
					return nil, fmt.Errorf("%s %s: response %q is not a status; the contract run wants each listed", method, path, code)
				}
				answers = append(answers, answer{strings.ToUpper(method) + " " + path, status})
			}
		}
	}
	slices.SortFunc(answers, func(a, b answer) int { return strings.Compare(a.String(), b.String()) })
	return answers, nil
}

// templateParam is a path parameter of an OpenAPI path template.
var templateParam = regexp.MustCompile(`\\\{[^/]+\\\}`)

// matchesOp reports whether method and a request path (its query ignored)
// fall under op, such as "GET /api/users/{id}".
func matchesOp(op, method, path string) bool {
	opMethod, template, _ := strings.Cut(op, " ")
	path, _, _ = strings.Cut(path, "?")
	pattern := "^" + templateParam.ReplaceAllString(regexp.QuoteMeta(template), `[^/]+`) + "$"
	return opMethod == method && regexp.MustCompile(pattern).MatchString(path)
}

// unreached returns the documented answers that were neither seen nor
// excused.
func unreached(documented []answer, seen map[answer]bool, excused map[answer]string) []answer {
	var missing []answer
	for _, a := range documented {
		if !seen[a] && excused[a] == "" {
			missing = append(missing, a)
		}
	}
	return missing
}
