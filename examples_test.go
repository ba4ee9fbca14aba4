package main

// Crosses the whole program: the curl scripts of examples/ and the README's session.

import (
	"bytes"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// The curl scripts under examples/ run against the whole program, and the
// README's "A session with curl" is what examples/tutorial.sh prints on a
// fresh server. These tests need bash and curl, as the scripts do.

var updateREADME = flag.Bool("update-readme", false, "rewrite the README's session with curl from a fresh run")

// readmeURL is the base URL the README's session shows, whatever port the
// run that produced it used; readmeLogURL is how the server's log says it.
const (
	readmeURL    = "localhost:5000"
	readmeLogURL = "http://127.0.0.1:5000"
)

// The README's session and the server's log of it, each between two
// markers that this test rewrites between with -update-readme.
var (
	sessionMarkers    = [2]string{"<!-- session:begin -->\n", "<!-- session:end -->\n"}
	sessionLogMarkers = [2]string{"<!-- session-log:begin -->\n", "<!-- session-log:end -->\n"}
)

// TestExamples runs every script under examples/ against one server, as
// a user would, with the usernames' default suffix: a script fails when a
// status is not the one it expects.
func TestExamples(t *testing.T) {
	scripts, err := filepath.Glob("examples/*.sh")
	if err != nil || len(scripts) == 0 {
		t.Fatalf("no examples/*.sh (%v)", err)
	}
	p := startProgram(t, t.TempDir(), []string{"-addr", "127.0.0.1:0", "-db", "tokenapi.db"}, cheapPasswords)
	bin := tokenapiCommand(t)
	for _, script := range scripts {
		t.Run(filepath.Base(script), func(t *testing.T) {
			info, err := os.Stat(script)
			if err != nil {
				t.Fatal(err)
			}
			// CI and the Prism run find the examples by their executable bit.
			if info.Mode()&0o111 == 0 {
				t.Fatalf("%s is not executable (chmod +x)", script)
			}
			runExample(t, script, "TOKENAPI_URL="+p.base, "TOKENAPI_BIN="+bin)
		})
	}
}

// tokenapiCommand writes a command that runs this test binary as the
// program, for the examples that run tokenapi themselves (totp.sh runs
// tokenapi totp-code), and returns its path.
func tokenapiCommand(t *testing.T) string {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "tokenapi")
	script := "#!/bin/sh\n" + childEnv + "=1 exec '" + strings.ReplaceAll(self, "'", `'\''`) + "' \"$@\"\n"
	if err := os.WriteFile(path, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestREADMESession runs examples/tutorial.sh on a fresh server and fails
// when its output or the server's log no longer match the README's, apart
// from what changes from run to run (see sameSession). With -update-readme
// it rewrites them in the README instead, from a server with the real
// password cost, so that the timings in its log are the real ones.
func TestREADMESession(t *testing.T) {
	env := []string{cheapPasswords}
	if *updateREADME {
		env = nil
	}
	p := startProgram(t, t.TempDir(), []string{"-addr", "127.0.0.1:0", "-db", "tokenapi.db"}, env...)
	// TOKENAPI_SUFFIX empty: the tutorial's own usernames.
	session := runExample(t, "examples/tutorial.sh", "TOKENAPI_URL="+p.base, "TOKENAPI_SUFFIX=")
	p.stop(t)
	session = strings.ReplaceAll(session, p.base, readmeURL)
	session = "```console\n" + strings.TrimRight(session, "\n") + "\n```\n"
	log := "```text\n" + strings.ReplaceAll(p.stderr.String(), p.base, readmeLogURL) + "```\n"

	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	if *updateREADME {
		updated := replaceBetween(t, string(readme), sessionMarkers, session)
		updated = replaceBetween(t, updated, sessionLogMarkers, log)
		if err := os.WriteFile("README.md", []byte(updated), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	sameSession(t, "the session", between(t, string(readme), sessionMarkers), session)
	sameSession(t, "the server's log", between(t, string(readme), sessionLogMarkers), log)
}

// runExample runs an example script with env added to the test's own
// environment (less its TOKENAPI_ variables), and returns what it printed.
// The script's own checks decide whether it failed.
func runExample(t *testing.T, script string, env ...string) string {
	t.Helper()
	for _, tool := range []string{"bash", "curl"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("the examples need %s (apt-get install %s): %v", tool, tool, err)
		}
	}
	cmd := exec.Command("bash", script)
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "TOKENAPI_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s: %v\n%s\nstdout (last lines):\n%s", script, err, stderr.String(), lastLines(stdout.String(), 30))
	}
	return stdout.String()
}

// changing matches what differs from run to run in a session and its log:
// tokens, timestamps, dates, durations, and body lengths (a timestamp's
// fraction drops its trailing zeros, so its length varies too).
var changing = []struct {
	re   *regexp.Regexp
	with string
}{
	{regexp.MustCompile(`tapi_[0-9A-Za-z]+`), "tapi_TOKEN"},
	{regexp.MustCompile(`\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z`), "TIME"},
	{regexp.MustCompile(`(?m)^Date: .*$`), "Date: DATE"},
	{regexp.MustCompile(`(?m)^Content-Length: \d+$`), "Content-Length: N"},
	{regexp.MustCompile(`duration=\S+`), "duration=D"},
}

// sameSession fails the test when the README's text and a fresh run's
// differ in more than what changes from run to run, naming the first
// line that differs.
func sameSession(t *testing.T, what, inREADME, fresh string) {
	t.Helper()
	for _, c := range changing {
		inREADME = c.re.ReplaceAllString(inREADME, c.with)
		fresh = c.re.ReplaceAllString(fresh, c.with)
	}
	if inREADME == fresh {
		return
	}
	want := strings.Split(fresh, "\n")
	got := strings.Split(inREADME, "\n")
	for i := 0; i < max(len(got), len(want)); i++ {
		var g, w string
		if i < len(got) {
			g = got[i]
		}
		if i < len(want) {
			w = want[i]
		}
		if g != w {
			t.Errorf("README.md: %s no longer matches a fresh run of examples/tutorial.sh; at its line %d:\n README: %q\n fresh:  %q\n"+
				"If the change is meant, rewrite it: go test -run TestREADMESession -update-readme .", what, i+1, g, w)
			return
		}
	}
}

// between returns the text of readme between the two markers.
func between(t *testing.T, readme string, markers [2]string) string {
	t.Helper()
	_, rest, ok := strings.Cut(readme, markers[0])
	if !ok {
		t.Fatalf("README.md has no %q", markers[0])
	}
	text, _, ok := strings.Cut(rest, markers[1])
	if !ok {
		t.Fatalf("README.md has no %q after %q", markers[1], markers[0])
	}
	return text
}

// replaceBetween returns readme with the text between the two markers
// replaced by text.
func replaceBetween(t *testing.T, readme string, markers [2]string, text string) string {
	t.Helper()
	old := between(t, readme, markers)
	return strings.Replace(readme, markers[0]+old+markers[1], markers[0]+text+markers[1], 1)
}
