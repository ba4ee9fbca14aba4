package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"runtime/debug"
	"slices"
	"strings"
	"testing"
)

// TestVersionFlag runs the program with -version. A test binary, like go
// run, carries no VCS information, so it says that it does not know the
// revision. It prints to stdout, opens no database and serves nothing.
func TestVersionFlag(t *testing.T) {
	dir := t.TempDir()
	dbPath := filepath.Join(dir, "tokenapi.db")
	var stdout, stderr syncBuffer
	err := run(context.Background(), []string{"-db", dbPath, "-addr", "127.0.0.1:0", "-version"},
		func(string) string { return "" }, strings.NewReader(""), &stdout, &stderr)
	if err != nil {
		t.Fatalf("run -version = %v, want nil", err)
	}
	want := "tokenapi " + releaseVersion + "+dev\n" +
		"revision unknown (built without VCS information)\n" +
		"built with " + runtime.Version() + " " + runtime.GOOS + "/" + runtime.GOARCH + "\n"
	if stdout.String() != want || stderr.String() != "" {
		t.Errorf("run -version printed %q to stdout and %q to stderr, want %q on stdout", stdout.String(), stderr.String(), want)
	}
	if _, err := os.Stat(dbPath); err == nil {
		t.Errorf("run -version created %s", dbPath)
	}
}

// TestReleaseVersionIsTheChangelogs keeps releaseVersion and the latest
// release of CHANGELOG.md the same.
func TestReleaseVersionIsTheChangelogs(t *testing.T) {
	changelog, err := os.ReadFile("CHANGELOG.md")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^## \[(\d+\.\d+\.\d+)\] - \d{4}-\d\d-\d\d$`).FindSubmatch(changelog)
	if m == nil || string(m[1]) != releaseVersion {
		t.Errorf("CHANGELOG.md's latest release is %q, releaseVersion %q: want them the same", m, releaseVersion)
	}
}

// TestPrintVersion covers the build information a binary may carry.
func TestPrintVersion(t *testing.T) {
	vcs := func(version string, settings ...string) *debug.BuildInfo {
		info := &debug.BuildInfo{Main: debug.Module{Path: "tokenapi", Version: version}}
		for i := 0; i < len(settings); i += 2 {
			info.Settings = append(info.Settings, debug.BuildSetting{Key: settings[i], Value: settings[i+1]})
		}
		return info
	}
	const rev = "2189a76c0ffee2189a76c0ffee2189a76c0ffee0"
	tests := []struct {
		name string
		info *debug.BuildInfo
		want string // the first two lines
	}{
		{"no build information", nil, "tokenapi 1.0.0+dev\nrevision unknown (built without VCS information)\n"},
		{"go run or -buildvcs=false", vcs("(devel)"), "tokenapi 1.0.0+dev\nrevision unknown (built without VCS information)\n"},
		{"a checkout of a release tag", vcs("v1.2.3", "vcs.revision", rev, "vcs.time", "2026-11-30T12:00:00Z", "vcs.modified", "false"),
			"tokenapi 1.2.3\nrevision " + rev + ", committed 2026-11-30T12:00:00Z\n"},
		{"a release tag with changes", vcs("v1.2.3+dirty", "vcs.revision", rev, "vcs.modified", "true"),
			"tokenapi 1.2.3\nrevision " + rev + " (modified)\n"},
		// A commit after the last tag: Go's pseudo-version is not a
		// release, and its commit is on the next line.
		{"after a release", vcs("v1.0.1-0.20261130120000-2189a76c0ffe", "vcs.revision", rev, "vcs.time", "2026-11-30T12:00:00Z", "vcs.modified", "false"),
			"tokenapi 1.0.0+dev\nrevision " + rev + ", committed 2026-11-30T12:00:00Z\n"},
		{"no tag at all", vcs("v0.0.0-20261130120000-2189a76c0ffe+dirty", "vcs.revision", rev, "vcs.modified", "true"),
			"tokenapi 1.0.0+dev\nrevision " + rev + " (modified)\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out strings.Builder
			printVersion(&out, tt.info)
			if !strings.HasPrefix(out.String(), tt.want) {
				t.Errorf("printVersion = %q, want it to start %q", out.String(), tt.want)
			}
		})
	}
}

// TestVersionOfABuiltBinary builds the program as an operator would, in a
// git checkout of its own (a copy of this package's files, committed), and
// checks that -version names that commit, and says when the checkout had
// changes. The copy makes the test the same in a clone, a worktree (whose
// .git file the go command does not take for a checkout) or an export
// without git. Where git is missing, the binary is built without VCS
// information and says so.
func TestVersionOfABuiltBinary(t *testing.T) {
	goCmd, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("this test builds the program: %v", err)
	}
	dir := t.TempDir()
	copyPackage(t, goCmd, dir)
	_, gitErr := exec.LookPath("git")
	if gitErr != nil {
		got := buildAndAskVersion(t, goCmd, dir, "-buildvcs=false")
		if !strings.Contains(got, "\nrevision unknown (built without VCS information)\n") {
			t.Errorf("tokenapi -version, built without git = %q, want the revision unknown", got)
		}
		return
	}
	git := func(args ...string) string {
		t.Helper()
		cmd := exec.Command("git", append([]string{"-c", "user.name=test", "-c", "user.email=test@example.com",
			"-c", "commit.gpgsign=false", "-c", "init.defaultBranch=main"}, args...)...)
		cmd.Dir = dir
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return strings.TrimSpace(string(out))
	}
	git("init", "-q")
	git("add", "-A")
	git("commit", "-q", "-m", "a release")
	head := git("rev-parse", "HEAD")

	got := buildAndAskVersion(t, goCmd, dir, "-buildvcs=true")
	want := regexp.MustCompile(`^tokenapi ` + regexp.QuoteMeta(releaseVersion) + `\+dev\nrevision ` + head +
		`, committed \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\nbuilt with go`)
	if !want.MatchString(got) {
		t.Errorf("tokenapi -version in a clean checkout = %q, want it to match %q", got, want)
	}

	git("tag", "v"+releaseVersion)
	got = buildAndAskVersion(t, goCmd, dir, "-buildvcs=true")
	if !strings.HasPrefix(got, "tokenapi "+releaseVersion+"\nrevision "+head+", committed ") {
		t.Errorf("tokenapi -version at the tag v%s = %q, want that version and revision %s", releaseVersion, got, head)
	}

	if err := os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("not committed\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	got = buildAndAskVersion(t, goCmd, dir, "-buildvcs=true")
	if !strings.Contains(got, "\nrevision "+head+" (modified), committed ") {
		t.Errorf("tokenapi -version in a changed checkout = %q, want revision %s (modified)", got, head)
	}

	// A release build's own stamp (tools/release/build.sh) wins over the tag.
	got = buildAndAskVersion(t, goCmd, dir, "-buildvcs=true", "-ldflags=-X main.stampedVersion=2.0.0-rc.1")
	if !strings.HasPrefix(got, "tokenapi 2.0.0-rc.1\nrevision "+head) {
		t.Errorf("tokenapi -version stamped 2.0.0-rc.1 = %q, want that version and revision %s", got, head)
	}
}

// copyPackage copies into dir what building the program needs: go.mod,
// go.sum, and the Go and embedded files of each of the module's packages
// it is built from (this one and those it imports from internal/), as go
// list names them.
func copyPackage(t *testing.T, goCmd, dir string) {
	t.Helper()
	out, err := exec.Command(goCmd, "list", "-deps", "-json", ".").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	root, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	files := []string{"go.mod", "go.sum"}
	for dec := json.NewDecoder(bytes.NewReader(out)); dec.More(); {
		var pkg struct {
			Dir                           string
			Module                        *struct{ Main bool }
			GoFiles, CgoFiles, EmbedFiles []string
		}
		if err := dec.Decode(&pkg); err != nil {
			t.Fatalf("go list: %v", err)
		}
		if pkg.Module == nil || !pkg.Module.Main {
			continue // the standard library or another module: the build fetches it
		}
		rel, err := filepath.Rel(root, pkg.Dir)
		if err != nil {
			t.Fatal(err)
		}
		for _, name := range slices.Concat(pkg.GoFiles, pkg.CgoFiles, pkg.EmbedFiles) {
			files = append(files, filepath.Join(rel, name))
		}
	}
	for _, name := range files {
		data, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll(filepath.Join(dir, filepath.Dir(name)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
}

// buildAndAskVersion builds the program in dir with flags, -buildvcs among
// them (GOFLAGS may say otherwise: the flag wins), and returns what its
// -version prints.
func buildAndAskVersion(t *testing.T, goCmd, dir string, flags ...string) string {
	t.Helper()
	binary := filepath.Join(t.TempDir(), "tokenapi")
	build := exec.Command(goCmd, slices.Concat([]string{"build"}, flags, []string{"-o", binary, "."})...)
	build.Dir = dir
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build %s: %v\n%s", strings.Join(flags, " "), err, out)
	}
	cmd := exec.Command(binary, "-version")
	cmd.Env = []string{} // no TOKENAPI_ variable from the test's environment
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("tokenapi -version: %v", err)
	}
	return string(out)
}
