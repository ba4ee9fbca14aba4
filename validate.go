package main

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// The fields of request bodies are checked here, and every message names
// the field, so a client knows what to fix.

// checkText requires value to be between minLen and maxLen characters
// without control characters; multiline text may hold tabs and newlines.
func checkText(field, value string, minLen, maxLen int, multiline bool) string {
	n := utf8.RuneCountInString(value)
	switch {
	case minLen > 0 && strings.TrimSpace(value) == "":
		return "field " + field + " is required"
	case n < minLen || n > maxLen:
		return fmt.Sprintf("field %s must be %d to %d characters", field, minLen, maxLen)
	}
	for _, r := range value {
		if multiline && (r == '\n' || r == '\r' || r == '\t') {
			continue
		}
		if isControl(r) {
			return "field " + field + " must not contain control characters"
		}
	}
	return ""
}

// checkUsername allows 1 to 64 ASCII letters, digits, '_', '.' and '-':
// names that read the same everywhere and need no escaping in a URL.
func checkUsername(value string) string {
	if value == "" {
		return "field username is required"
	}
	if len(value) > maxUsernameLen {
		return fmt.Sprintf("field username must be at most %d characters", maxUsernameLen)
	}
	for i := 0; i < len(value); i++ {
		c := value[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '.' || c == '-') {
			return "field username may hold only letters, digits, '_', '.' and '-'"
		}
	}
	return ""
}

// checkEmail asks for the shape of an address, one '@' with text on both
// sides and no spaces, within 120 characters; only a mail sent to it could
// tell more.
func checkEmail(value string) string {
	if msg := checkText("email", value, 3, 120, false); msg != "" {
		return msg
	}
	local, domain, _ := strings.Cut(value, "@")
	if strings.Count(value, "@") != 1 || local == "" || domain == "" || strings.ContainsAny(value, " \u00a0") {
		return "field email must be an address such as name@example.com"
	}
	return ""
}

// checkNewPassword asks only for a length: a long phrase beats rules about
// symbols. Control characters are refused because a Basic header that
// carries them is refused too.
func checkNewPassword(value string) string {
	if value == "" {
		return "field password is required"
	}
	if n := utf8.RuneCountInString(value); n < 8 || n > maxPasswordLen {
		return fmt.Sprintf("field password must be 8 to %d characters", maxPasswordLen)
	}
	if !noControlChars(value) {
		return "field password must not contain control characters"
	}
	return ""
}

// isControl reports C0 and C1 control characters and DEL: the one test of
// a control character, for every text a client sends.
func isControl(r rune) bool {
	return r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0)
}

// noControlChars reports whether s is valid UTF-8 without control characters.
func noControlChars(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if isControl(r) {
			return false
		}
	}
	return true
}

// firstProblem returns the first non-empty message, so that a handler can
// list its checks in field order.
func firstProblem(messages ...string) string {
	for _, m := range messages {
		if m != "" {
			return m
		}
	}
	return ""
}
