package main

import (
	"fmt"
	"io"
	"regexp"
	"runtime"
	"runtime/debug"
	"strings"
)

// releaseVersion is the latest release in CHANGELOG.md. Bump it with the
// changelog's release heading, in the commit that is tagged v<version>.
const releaseVersion = "1.0.0"

// buildVersion is what the binary calls itself: the Go command's version
// of the main module when that is a release tag (go build in a checkout of
// the tag v1.2.3 stamps v1.2.3, since Go 1.24), and otherwise
// releaseVersion+"+dev": built from source at or after that release. It is
// +dev, not -dev, because in semantic versioning 1.0.0-dev would come
// before 1.0.0, while this code has all of 1.0.0 and maybe more; build
// metadata after + leaves the order alone. Go's own pseudo-versions
// (v0.0.0-20261130…-abcdef, with no tag to count from) are not shown as the
// version; the revision line says which commit it is.
//
// A release build can say its version itself, with
// go build -ldflags '-X main.stampedVersion=1.2.3' (tools/release/build.sh
// does): that wins, and also names a build from an export without .git,
// where the Go command knows no tag.
func buildVersion(info *debug.BuildInfo) string {
	if stampedVersion != "" {
		return stampedVersion
	}
	if info != nil {
		if m := releaseTag.FindStringSubmatch(info.Main.Version); m != nil {
			return m[1]
		}
	}
	return releaseVersion + "+dev"
}

// stampedVersion is set only by the linker (-ldflags -X, see buildVersion);
// nothing assigns it at run time.
var stampedVersion string

// releaseTag is a module version that names a release tag, maybe with
// +dirty, which Go adds when the checkout had changes: the revision line
// says so too.
var releaseTag = regexp.MustCompile(`^v(\d+\.\d+\.\d+)(\+dirty)?$`)

// printVersion writes what -version prints: the version, the commit the
// binary was built from, as the Go command recorded it, and the Go that
// built it. go run, go test and a go build outside a git checkout (or with
// -buildvcs=false) record no commit, and it says so.
func printVersion(w io.Writer, info *debug.BuildInfo) {
	fmt.Fprintf(w, "tokenapi %s\n", buildVersion(info))
	settings := map[string]string{}
	if info != nil {
		for _, s := range info.Settings {
			settings[s.Key] = s.Value
		}
	}
	if revision := settings["vcs.revision"]; revision != "" {
		line := []string{"revision " + revision}
		if settings["vcs.modified"] == "true" {
			line[0] += " (modified)"
		}
		if at := settings["vcs.time"]; at != "" {
			line = append(line, "committed "+at)
		}
		fmt.Fprintln(w, strings.Join(line, ", "))
	} else {
		fmt.Fprintln(w, "revision unknown (built without VCS information)")
	}
	fmt.Fprintf(w, "built with %s %s/%s\n", runtime.Version(), runtime.GOOS, runtime.GOARCH)
}

// readBuildInfo is the binary's build information, or nil without any.
func readBuildInfo() *debug.BuildInfo {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return nil
	}
	return info
}
