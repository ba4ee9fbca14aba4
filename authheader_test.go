package main

import (
	"encoding/base64"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"
)

// Reading the Authorization header (authheader.go): the Basic and Bearer
// parsers, as tables and as fuzz targets that share their cases. The
// endpoints that use them are tested in auth_test.go.

// b64 is the base64 a Basic header carries.
func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

type basicCase struct {
	name               string
	header             string
	wantUser, wantPass string
	wantOK             bool
}

// basicCases are the Basic headers both the table test and the fuzz seed
// corpus run.
func basicCases() []basicCase {
	user64 := strings.Repeat("u", maxUsernameLen)
	pass1024 := strings.Repeat("p", maxPasswordLen)
	wide1024 := strings.Repeat("é", maxPasswordLen)   // 2 bytes a rune
	widest1024 := strings.Repeat("😀", maxPasswordLen) // 4 bytes a rune
	return []basicCase{
		{name: "plain", header: "Basic " + b64("alice:secret"), wantUser: "alice", wantPass: "secret", wantOK: true},
		{name: "empty", header: ""},
		{name: "scheme only", header: "Basic"},
		{name: "scheme and space", header: "Basic "},
		{name: "scheme and spaces", header: "Basic    "},
		{name: "lower-case scheme", header: "basic " + b64("alice:secret"), wantUser: "alice", wantPass: "secret", wantOK: true},
		{name: "upper-case scheme", header: "BASIC " + b64("alice:secret"), wantUser: "alice", wantPass: "secret", wantOK: true},
		{name: "mixed-case scheme", header: "bAsIc " + b64("alice:secret"), wantUser: "alice", wantPass: "secret", wantOK: true},
		{name: "no space", header: "Basic" + b64("alice:secret")},
		{name: "several spaces", header: "Basic   " + b64("alice:secret"), wantUser: "alice", wantPass: "secret", wantOK: true},
		{name: "tab for space", header: "Basic\t" + b64("alice:secret")},
		{name: "space and tab", header: "Basic \t" + b64("alice:secret")},
		{name: "leading space", header: " Basic " + b64("alice:secret")},
		{name: "other scheme", header: "Bearer " + b64("alice:secret")},
		{name: "longer scheme", header: "Basicx " + b64("alice:secret")},
		{name: "bad base64", header: "Basic !!!!"},
		{name: "truncated base64", header: "Basic YWxpY2U6c2VjcmV0M"},
		{name: "unpadded base64", header: "Basic " + base64.RawStdEncoding.EncodeToString([]byte("alice:secret1"))},
		{name: "URL-safe alphabet", header: "Basic " + base64.URLEncoding.EncodeToString([]byte("alice:??>>"))},
		{name: "no colon", header: "Basic " + b64("alicesecret")},
		{name: "empty username", header: "Basic " + b64(":secret")},
		{name: "empty password", header: "Basic " + b64("alice:")},
		{name: "colon only", header: "Basic " + b64(":")},
		{name: "empty credentials", header: "Basic " + b64("")},
		{name: "several colons", header: "Basic " + b64("alice:se:cr:et:"), wantUser: "alice", wantPass: "se:cr:et:", wantOK: true},
		{name: "password of colons", header: "Basic " + b64("alice:::"), wantUser: "alice", wantPass: "::", wantOK: true},
		{name: "NUL in username", header: "Basic " + b64("al\x00ice:secret")},
		{name: "NUL in password", header: "Basic " + b64("alice:sec\x00ret")},
		{name: "NUL after password", header: "Basic " + b64("alice:secret\x00")},
		{name: "tab in password", header: "Basic " + b64("alice:sec\tret")},
		{name: "newline in password", header: "Basic " + b64("alice:secret\r\n")},
		{name: "escape in username", header: "Basic " + b64("\x1b[31malice:secret")},
		{name: "DEL in password", header: "Basic " + b64("alice:secret\x7f")},
		{name: "C1 control in password", header: "Basic " + b64("alice:sec\u0085ret")},
		{name: "invalid UTF-8 username", header: "Basic " + b64("al\xffice:secret")},
		{name: "invalid UTF-8 password", header: "Basic " + b64("alice:sec\xc3ret")},
		{name: "non-ASCII password", header: "Basic " + b64("alice:pässwörd ☃"), wantUser: "alice", wantPass: "pässwörd ☃", wantOK: true},
		{name: "username at limit", header: "Basic " + b64(user64+":secret"), wantUser: user64, wantPass: "secret", wantOK: true},
		{name: "username over limit", header: "Basic " + b64(user64+"u:secret")},
		{name: "password at limit", header: "Basic " + b64("alice:"+pass1024), wantUser: "alice", wantPass: pass1024, wantOK: true},
		{name: "password over limit", header: "Basic " + b64("alice:"+pass1024+"p")},
		{name: "2-byte password at limit", header: "Basic " + b64("alice:"+wide1024), wantUser: "alice", wantPass: wide1024, wantOK: true},
		{name: "4-byte password at limit", header: "Basic " + b64(user64+":"+widest1024), wantUser: user64, wantPass: widest1024, wantOK: true},
		{name: "4-byte password over limit", header: "Basic " + b64("alice:"+widest1024+"😀")},
		{name: "huge base64", header: "Basic " + strings.Repeat("QUFB", 1<<18)},
		{name: "huge credentials", header: "Basic " + b64("alice:"+strings.Repeat("p", 1<<16))},
		{name: "huge spaces", header: "Basic" + strings.Repeat(" ", 1<<16) + b64("alice:secret"), wantUser: "alice", wantPass: "secret", wantOK: true},
	}
}

func TestParseBasic(t *testing.T) {
	for _, tc := range basicCases() {
		t.Run(tc.name, func(t *testing.T) {
			user, pass, ok := parseBasic(tc.header)
			if user != tc.wantUser || pass != tc.wantPass || ok != tc.wantOK {
				t.Errorf("parseBasic(%.80q) = %.40q, %.40q, %v; want %.40q, %.40q, %v",
					tc.header, user, pass, ok, tc.wantUser, tc.wantPass, tc.wantOK)
			}
		})
	}
}

type bearerCase struct {
	name      string
	header    string
	wantToken string
	wantOK    bool
}

func bearerCases() []bearerCase {
	token := newToken()
	long := strings.Repeat("t", maxTokenLen)
	cases := []bearerCase{
		{name: "plain", header: "Bearer " + token, wantToken: token, wantOK: true},
		{name: "empty", header: ""},
		{name: "scheme only", header: "Bearer"},
		{name: "scheme and space", header: "Bearer "},
		{name: "scheme and spaces", header: "Bearer     "},
		{name: "lower-case scheme", header: "bearer abc", wantToken: "abc", wantOK: true},
		{name: "upper-case scheme", header: "BEARER abc", wantToken: "abc", wantOK: true},
		{name: "no space", header: "Bearer" + token},
		{name: "several spaces", header: "Bearer   abc", wantToken: "abc", wantOK: true},
		{name: "trailing spaces", header: "Bearer abc   ", wantToken: "abc", wantOK: true},
		{name: "tab for space", header: "Bearer\tabc"},
		{name: "trailing tab", header: "Bearer abc\t"},
		{name: "leading space", header: " Bearer abc"},
		{name: "other scheme", header: "Basic " + b64("alice:secret")},
		{name: "longer scheme", header: "Bearers abc"},
		{name: "space in token", header: "Bearer abc def"},
		{name: "every allowed character", header: "Bearer aZ09-._~+/", wantToken: "aZ09-._~+/", wantOK: true},
		{name: "padding", header: "Bearer abc=", wantToken: "abc=", wantOK: true},
		{name: "double padding", header: "Bearer abc==", wantToken: "abc==", wantOK: true},
		{name: "padding in the middle", header: "Bearer ab=c"},
		{name: "leading padding", header: "Bearer =abc"},
		{name: "only padding", header: "Bearer ="},
		{name: "only paddings", header: "Bearer ===="},
		{name: "NUL", header: "Bearer abc\x00"},
		{name: "control character", header: "Bearer ab\x01c"},
		{name: "DEL", header: "Bearer abc\x7f"},
		{name: "invalid UTF-8", header: "Bearer abc\xff"},
		{name: "non-ASCII", header: "Bearer tökén"},
		{name: "at length limit", header: "Bearer " + long, wantToken: long, wantOK: true},
		{name: "at length limit with padding", header: "Bearer " + long[1:] + "=", wantToken: long[1:] + "=", wantOK: true},
		{name: "at length limit and spaces", header: "Bearer  " + long + "  ", wantToken: long, wantOK: true},
		{name: "over length limit", header: "Bearer " + long + "t"},
		{name: "over length limit by padding", header: "Bearer " + long + "="},
		{name: "huge", header: "Bearer " + strings.Repeat("t", 1<<20)},
	}
	for _, c := range `!"#$%&'(),:;<>?@[\]^{|}*` + "`" {
		cases = append(cases, bearerCase{name: "forbidden " + string(c), header: "Bearer abc" + string(c) + "def"})
	}
	// A token with the prefix must have the format of newToken's; one
	// without it may be from before the prefix.
	old := base64.RawURLEncoding.EncodeToString([]byte(strings.Repeat("\xfb", 32)))
	unprefixed := "TAPI_" + token[len(tokenPrefix):]
	randomEnd := tokenLen - tokenChecksumLen
	cases = append(cases, []bearerCase{
		{name: "new format with trailing spaces", header: "Bearer " + token + "  ", wantToken: token, wantOK: true},
		{name: "new format, random part changed", header: "Bearer " + changeChar(token, len(tokenPrefix)+1)},
		{name: "new format, checksum changed", header: "Bearer " + changeChar(token, tokenLen-1)},
		{name: "new format, checksum of another token", header: "Bearer " + token[:randomEnd] + newToken()[randomEnd:]},
		{name: "new format, one short", header: "Bearer " + token[:tokenLen-1]},
		{name: "new format, one long", header: "Bearer " + token + "0"},
		{name: "new format, padded", header: "Bearer " + token + "="},
		{name: "new format, URL-safe character with its checksum", header: "Bearer " + withChecksum(token[:randomEnd-1]+"_")},
		{name: "prefix only", header: "Bearer " + tokenPrefix},
		{name: "prefix and a short token", header: "Bearer " + tokenPrefix + "abc"},
		{name: "old format", header: "Bearer " + old, wantToken: old, wantOK: true},
		{name: "prefix in other case", header: "Bearer " + unprefixed, wantToken: unprefixed, wantOK: true},
	}...)
	return cases
}

func TestParseBearer(t *testing.T) {
	for _, tc := range bearerCases() {
		t.Run(tc.name, func(t *testing.T) {
			token, err := parseBearer(tc.header)
			if ok := err == nil; token != tc.wantToken || ok != tc.wantOK {
				t.Errorf("parseBearer(%.80q) = %.40q, %v; want %.40q, %v", tc.header, token, ok, tc.wantToken, tc.wantOK)
			}
		})
	}
}

// maxSeedLen keeps the huge table inputs out of the fuzz corpus, where they
// would only slow mutation; a seed just over each bound stands in for them.
const maxSeedLen = 8 << 10

func FuzzParseBasic(f *testing.F) {
	for _, tc := range basicCases() {
		if len(tc.header) <= maxSeedLen {
			f.Add(tc.header)
		}
	}
	f.Add("Basic " + strings.Repeat("A", base64.StdEncoding.EncodedLen(maxUsernameLen+1+maxPasswordLen*utf8.UTFMax)+4))
	f.Add("Basic " + b64("a:b"))
	f.Add("Basic " + b64("a:b\u2028"))
	f.Add("Basic YW\r\nJj")
	f.Fuzz(func(t *testing.T, header string) {
		user, pass, ok := parseBasic(header)
		if !ok {
			if user != "" || pass != "" {
				t.Errorf("parseBasic(%q) = %q, %q, false; want empty results", header, user, pass)
			}
			return
		}
		switch {
		case user == "":
			t.Errorf("parseBasic(%q): empty username", header)
		case pass == "":
			t.Errorf("parseBasic(%q): empty password", header)
		case strings.Contains(user, ":"):
			t.Errorf("parseBasic(%q): username %q holds ':'", header, user)
		case len(user) > maxUsernameLen:
			t.Errorf("parseBasic(%q): username is %d bytes, want at most %d", header, len(user), maxUsernameLen)
		case utf8.RuneCountInString(pass) > maxPasswordLen:
			t.Errorf("parseBasic(%q): password is %d characters, want at most %d", header, utf8.RuneCountInString(pass), maxPasswordLen)
		}
		for _, s := range []string{user, pass} {
			if !utf8.ValidString(s) {
				t.Errorf("parseBasic(%q): %q is not valid UTF-8", header, s)
			}
			for _, r := range s {
				if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) {
					t.Errorf("parseBasic(%q): %q holds control character %U", header, s, r)
				}
			}
		}
		again := "Basic " + b64(user+":"+pass)
		if u, p, ok := parseBasic(again); u != user || p != pass || !ok {
			t.Errorf("parseBasic(%q) = %q, %q, %v; want %q, %q, true (round trip of %q)", again, u, p, ok, user, pass, header)
		}
		// Where net/http also reads the header, both must agree.
		req := &http.Request{Header: http.Header{"Authorization": {header}}}
		if u, p, ok := req.BasicAuth(); ok && (u != user || p != pass) {
			t.Errorf("parseBasic(%q) = %q, %q; net/http reads %q, %q", header, user, pass, u, p)
		}
	})
}

// b64token is RFC 6750's syntax of a bearer token.
var b64token = regexp.MustCompile(`^[A-Za-z0-9\-._~+/]+=*$`)

func FuzzParseBearer(f *testing.F) {
	for _, tc := range bearerCases() {
		if len(tc.header) <= maxSeedLen {
			f.Add(tc.header)
		}
	}
	f.Add("Bearer " + strings.Repeat("t", maxTokenLen+1))
	f.Add("Bearer " + strings.Repeat("=", maxTokenLen+1))
	f.Add("Bearer  \u00a0abc")
	f.Add("Bearer " + tokenPrefix + strings.Repeat("0", tokenLen-len(tokenPrefix)))
	f.Fuzz(func(t *testing.T, header string) {
		token, err := parseBearer(header)
		if err != nil {
			if token != "" {
				t.Errorf("parseBearer(%q) = %q, %v; want an empty token", header, token, err)
			}
			return
		}
		switch {
		case len(token) > maxTokenLen:
			t.Errorf("parseBearer(%q): token is %d bytes, want at most %d", header, len(token), maxTokenLen)
		case !b64token.MatchString(token):
			t.Errorf("parseBearer(%q) = %q, want b64token syntax", header, token)
		case !strings.Contains(header, token):
			t.Errorf("parseBearer(%q) = %q, which is not in the header", header, token)
		case strings.HasPrefix(token, tokenPrefix) && (!tokenPattern.MatchString(token) || !checksumOK(token)):
			t.Errorf("parseBearer(%q) = %q, which has the prefix but not the format or the checksum", header, token)
		}
		// requireToken asks cutScheme first; a header it refused would get
		// a challenge without invalid_token though its token parses.
		if rest, ok := cutScheme(header, "Bearer"); !ok || strings.TrimSpace(rest) == "" {
			t.Errorf("cutScheme(%q, Bearer) = %q, %v, but parseBearer accepts it", header, rest, ok)
		}
		if again, err := parseBearer("Bearer " + token); again != token || err != nil {
			t.Errorf("parseBearer(%q) = %q, %v; want %q, nil (round trip of %q)", "Bearer "+token, again, err, token, header)
		}
	})
}
