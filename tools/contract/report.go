package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// report prints what the run found and returns an error if anything
// failed: a request, a response Prism found at odds with the document, a
// documented answer never reached, or an example script.
func report(r *runner, documented []answer, excuses map[answer]string, exampleErrs []string, prismLog string) error {
	logFile, err := os.Open(prismLog)
	if err != nil {
		return err
	}
	logged, err := logResponseViolations(logFile)
	logFile.Close()
	if err != nil {
		return err
	}
	missing := unreached(documented, r.seen, excuses)

	reached := 0
	for _, a := range documented {
		if r.seen[a] {
			reached++
		}
	}
	fmt.Printf("contract: %d of %d documented answers reached through Prism; %d excused:\n", reached, len(documented), len(documented)-reached-len(missing))
	var reasons []string
	byReason := map[string][]string{}
	for _, a := range documented {
		if why := excuses[a]; why != "" && !r.seen[a] {
			if byReason[why] == nil {
				reasons = append(reasons, why)
			}
			byReason[why] = append(byReason[why], a.String())
		}
	}
	for _, why := range reasons {
		fmt.Printf("  %s: %s\n", why, strings.Join(byReason[why], ", "))
	}
	problems := 0
	section := func(title string, lines []string) {
		if len(lines) == 0 {
			return
		}
		problems += len(lines)
		fmt.Printf("\n%s:\n", title)
		for _, l := range lines {
			fmt.Println("  " + l)
		}
	}
	section("requests that failed", r.failures)
	section("response violations in Prism's log", logged)
	var unreachedLines []string
	for _, a := range missing {
		unreachedLines = append(unreachedLines, a.String())
	}
	section("documented answers no request reached (send one, or excuse it)", unreachedLines)
	section("example scripts that failed", exampleErrs)
	if problems > 0 {
		return fmt.Errorf("%d problems; Prism's log: %s", problems, prismLog)
	}
	fmt.Println("contract: the server answered as the document says")
	return nil
}

// exampleScripts returns the executable *.sh files of dir, none when dir
// is "" or does not exist.
func exampleScripts(dir string) []string {
	if dir == "" {
		return nil
	}
	paths, _ := filepath.Glob(filepath.Join(dir, "*.sh"))
	var scripts []string
	for _, p := range paths {
		if info, err := os.Stat(p); err == nil && info.Mode().IsRegular() && info.Mode()&0o111 != 0 {
			scripts = append(scripts, p)
		}
	}
	return scripts
}

// runExamples runs each script with TOKENAPI_URL set to url, and returns
// a line for each that failed.
func runExamples(scripts []string, url, binary, dir string) []string {
	var failed []string
	for _, script := range scripts {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		cmd := exec.CommandContext(ctx, script)
		// TOKENAPI_BIN: the examples that run tokenapi themselves (totp.sh's
		// totp-code) run the binary under test.
		cmd.Env = append(os.Environ(), "TOKENAPI_URL="+url, "TOKENAPI_BIN="+binary)
		out, err := cmd.CombinedOutput()
		cancel()
		logPath := filepath.Join(dir, filepath.Base(script)+".log")
		os.WriteFile(logPath, out, 0o644)
		if err != nil {
			failed = append(failed, fmt.Sprintf("%s: %v; its last lines:\n%s", script, err, lastLines(out, 15)))
			continue
		}
		fmt.Printf("contract: %s ran through Prism\n", filepath.Base(script))
	}
	return failed
}

func lastLines(b []byte, n int) string {
	lines := bytes.Split(bytes.TrimRight(b, "\n"), []byte("\n"))
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return "    " + string(bytes.Join(lines, []byte("\n    ")))
}

// withLog adds the last lines of a process's log to err.
func withLog(err error, logPath string) error {
	out, _ := os.ReadFile(logPath)
	return fmt.Errorf("%w; the last lines of %s:\n%s", err, filepath.Base(logPath), lastLines(out, 20))
}

// shellQuote quotes s for sh.
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
