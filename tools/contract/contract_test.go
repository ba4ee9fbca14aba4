package main

import (
	"slices"
	"strings"
	"testing"
)

func TestMatchesOp(t *testing.T) {
	tests := []struct {
		op, method, path string
		want             bool
	}{
		{"GET /api/users/{id}", "GET", "/api/users/1", true},
		{"GET /api/users/{id}", "GET", "/api/users/abc?x=1", true},
		{"GET /api/users/{id}", "PUT", "/api/users/1", false},
		{"GET /api/users/{id}", "GET", "/api/users/1/my-posts", false},
		{"GET /api/users/{id}/my-posts", "GET", "/api/users/7/my-posts?page=2", true},
		{"DELETE /api/tokens", "DELETE", "/api/tokens?all=true", true},
		{"GET /api/openapi.json", "GET", "/api/openapiXjson", false},
	}
	for _, tt := range tests {
		if got := matchesOp(tt.op, tt.method, tt.path); got != tt.want {
			t.Errorf("matchesOp(%q, %q, %q) = %v, want %v", tt.op, tt.method, tt.path, got, tt.want)
		}
	}
}

func TestResponseViolations(t *testing.T) {
	header := `[{"location":["request"],"severity":"Error","code":401,"message":"Invalid security scheme used"},` +
		`{"location":["response","body"],"severity":"Error","message":"Response body must have required property 'id'"}]`
	got := responseViolations(header, false)
	if len(got) != 1 || got[0].String() != "response.body: Response body must have required property 'id' (Error)" {
		t.Errorf("refused request: got %q, want only the response's violation", got)
	}
	if got := responseViolations(header, true); len(got) != 2 {
		t.Errorf("accepted request: got %d violations, want both", len(got))
	}
	if got := responseViolations("", false); got != nil {
		t.Errorf("no header: got %q, want none", got)
	}
	if got := responseViolations("not json", false); len(got) != 1 {
		t.Errorf("a header that does not parse: got %q, want it to count as a violation", got)
	}
}

func TestLogResponseViolations(t *testing.T) {
	log := strings.Join([]string{
		"[10:02:36 PM] ›     [VALIDATOR] ⚠  warning   Violation: request Selected route not found",
		"[10:02:36 PM] ›     [VALIDATOR] ✖  error     Violation: request Supported content types: application/json",
		"[10:04:51 PM] ›     [VALIDATOR] \x1b[31m✖  error\x1b[39m     Violation: response.body Response body must have required property 'nickname'",
		"[10:04:53 PM] ›     [VALIDATOR] ⚠  warning   Violation: response Unable to match the returned status code with those defined in the document: 204,401",
		"[10:04:51 PM] ›     [PROXY] ℹ  info      The upstream call to /api/users/1 has returned 200",
	}, "\n")
	got, err := logResponseViolations(strings.NewReader(log))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || !strings.Contains(got[0], "nickname") || !strings.Contains(got[1], "status code") {
		t.Errorf("got %q, want the two response violations", got)
	}
}

func TestUnreached(t *testing.T) {
	documented := []answer{{"GET /healthz", 200}, {"GET /healthz", 503}, {"GET /api/users", 200}, {"GET /api/users", 401}}
	seen := map[answer]bool{{"GET /healthz", 200}: true, {"GET /api/users", 200}: true}
	excuses := map[answer]string{{"GET /healthz", 503}: "the database must stop answering"}
	if got := unreached(documented, seen, excuses); !slices.Equal(got, []answer{{"GET /api/users", 401}}) {
		t.Errorf("unreached = %v, want [GET /api/users 401]", got)
	}
}
