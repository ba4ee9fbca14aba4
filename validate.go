package main

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// The fields of request bodies are checked here, and every message names
// the field, so a client knows what to fix.

// checkText requires value to be between minLen and maxLen characters
// without the characters isUnsafeRune refuses; multiline text may hold tabs
// and newlines.
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
		if !isUnsafeRune(r) {
			continue
		}
		if isControl(r) {
			return "field " + field + " must not contain control characters"
		}
		// Invisible, so the message names it: the client cannot see it.
		return fmt.Sprintf("field %s must not contain the format character %U", field, r)
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
// carries them is refused too. Format characters, which checkText refuses,
// are allowed: a password is never shown, so they can reorder nothing, and
// a Basic header must go on taking any password set before that rule.
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

// isUnsafeRune reports the characters no text a client writes may hold,
// since others see it, and an operator in a terminal: control characters,
// and the format characters (Unicode category Cf) but the two joiners. One
// line or many, the rule is the same: a post's body is shown beside other
// text just as its title is.
//
// Format characters are invisible and change how the text around them
// reads. Bidi overrides, embeddings and isolates (U+202A-U+202E,
// U+2066-U+2069) reorder it: "invoice", U+202E, "gpj.exe" shows as
// "invoiceexe.jpg", the trick of spoofed file names and of Trojan Source
// (CVE-2021-42574). Zero-width spaces, the BOM and soft hyphens make two
// names that look alike differ; tag characters (U+E0000-U+E007F) carry
// hidden ASCII. The bidi marks (U+200E, U+200F, U+061C) go with them: few
// people type them, and a client that shows mixed-direction text can
// isolate it itself. One rule per character also refuses the tag sequences
// of the England, Scotland and Wales flags.
//
// The joiners stay because text needs them and they move nothing: U+200D
// (ZWJ) builds emoji sequences such as woman + ZWJ + laptop and some Indic
// letters, and U+200C (ZWNJ) is part of everyday Persian and Indic
// spelling. Variation selectors, which pick an emoji's look, are marks
// (Mn), not format characters, and pass.
func isUnsafeRune(r rune) bool {
	if isControl(r) {
		return true
	}
	return r != '\u200c' && r != '\u200d' && unicode.Is(unicode.Cf, r)
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
