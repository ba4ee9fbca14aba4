package main

import (
	"hash/crc32"
	"strings"
	"sync"
)

// The token format, after GitHub's: "tapi_", then 43 base62 characters that
// carry the 256 random bits, then 6 base62 characters of a CRC32 of all
// before them, 54 characters in all (docs/token-format.md, for clients and
// secret scanners). The prefix tells a scanner or a person what a leaked
// string is; every character is a word character, so a double-click selects
// the whole token; and the checksum lets a mistyped, truncated or mangled
// token be refused before it costs a hash or a query. The checksum proves
// nothing about who made a token, since anyone can compute it: only the
// database says which tokens live.

const (
	tokenPrefix      = "tapi_"
	tokenRandomLen   = 43 // 62^43 > 2^256
	tokenChecksumLen = 6  // 62^6 > 2^32
	tokenLen         = len(tokenPrefix) + tokenRandomLen + tokenChecksumLen
)

// base62Digits are the digits of base 62 in ASCII order, so that numbers
// of one width sort as text.
const base62Digits = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// resetTokenPrefix marks a password reset token (passwordreset.go): the
// same format with a prefix of its own, so that neither kind of token is
// taken for the other, by the server or by a secret scanner. It is as long
// as tokenPrefix, so the lengths and checks below serve both.
const resetTokenPrefix = "tapr_"

// verifyTokenPrefix marks an email verification code (verifyemail.go),
// for the same reasons.
const verifyTokenPrefix = "tapv_"

var _ [len(tokenPrefix) - len(resetTokenPrefix)]struct{}  // the prefixes are one length
var _ [len(tokenPrefix) - len(verifyTokenPrefix)]struct{} // the prefixes are one length

// formatToken returns the token that carries random, 32 bytes, which it
// uses up.
func formatToken(random []byte) string { return formatTokenWith(tokenPrefix, random) }

// formatTokenWith is formatToken with prefix, tokenPrefix,
// resetTokenPrefix or verifyTokenPrefix.
func formatTokenWith(prefix string, random []byte) string {
	b := make([]byte, tokenLen)
	copy(b, prefix)
	putBase62(b[len(tokenPrefix):tokenLen-tokenChecksumLen], random)
	putTokenChecksum(b[tokenLen-tokenChecksumLen:], b[:tokenLen-tokenChecksumLen])
	return string(b)
}

// wellFormedToken reports whether token has the format of formatToken's
// tokens: the prefix, the length, base62 after the prefix and the right
// checksum.
func wellFormedToken(token string) bool { return wellFormedTokenWith(tokenPrefix, token) }

// wellFormedTokenWith is wellFormedToken for tokens of prefix.
func wellFormedTokenWith(prefix, token string) bool {
	if len(token) != tokenLen || !strings.HasPrefix(token, prefix) {
		return false
	}
	for i := len(tokenPrefix); i < tokenLen; i++ {
		if c := token[i]; !('0' <= c && c <= '9' || 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z') {
			return false
		}
	}
	var sum [tokenChecksumLen]byte
	putTokenChecksum(sum[:], token[:tokenLen-tokenChecksumLen])
	return string(sum[:]) == token[tokenLen-tokenChecksumLen:]
}

// putTokenChecksum writes the CRC32 (IEEE) of text into all of dst in
// base 62, left-padded with zeros. The text is copied into a pooled buffer
// for crc32, which takes bytes: this runs on every request, and neither a
// string-to-bytes copy (an allocation) nor a byte-at-a-time table loop
// (three times slower than crc32's own) is free.
func putTokenChecksum[T string | []byte](dst []byte, text T) {
	buf := checksumBuffers.Get().(*[tokenLen]byte)
	n := copy(buf[:], text)
	sum := crc32.ChecksumIEEE(buf[:n])
	checksumBuffers.Put(buf)
	for i := len(dst) - 1; i >= 0; i-- {
		dst[i] = base62Digits[sum%62]
		sum /= 62
	}
}

var checksumBuffers = sync.Pool{New: func() any { return new([tokenLen]byte) }}

// putBase62 writes the big-endian number n into all of dst in base 62,
// left-padded with zeros, by long division; n ends up zero. dst must be
// wide enough for n.
func putBase62(dst, n []byte) {
	for i := len(dst) - 1; i >= 0; i-- {
		rem := 0
		for j, d := range n {
			rem = rem<<8 | int(d)
			n[j] = byte(rem / 62)
			rem %= 62
		}
		dst[i] = base62Digits[rem]
	}
}
