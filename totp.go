package main

// One-time codes for the second step of a login: TOTP (RFC 6238), the
// codes of every authenticator app, and the recovery codes that stand in
// for the app when it is lost. Standard library only: HOTP (RFC 4226) is
// an HMAC-SHA1 and a few lines of arithmetic.

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base32"
	"encoding/binary"
	"encoding/hex"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// The parameters every authenticator app assumes when the otpauth URI
// names them: HMAC-SHA1, 6 digits, a new code every 30 seconds. One step
// of skew either way forgives a phone's clock and the time it takes to
// type the code.
const (
	totpDigits      = 6
	totpPeriod      = 30 // seconds
	totpSkew        = 1  // steps either way
	totpSecretBytes = 20 // 160 bits, the size RFC 4226 recommends
	totpIssuer      = "tokenapi"
)

// totpBase32 is base32 without padding, as authenticator apps take it.
var totpBase32 = base32.StdEncoding.WithPadding(base32.NoPadding)

// newTOTPSecret returns 160 random bits.
func newTOTPSecret() []byte {
	b := make([]byte, totpSecretBytes)
	rand.Read(b)
	return b
}

// totpStep is the time step that t falls in.
func totpStep(t time.Time) int64 { return t.Unix() / totpPeriod }

// hotp is the code of counter under secret, digits long (RFC 4226 §5.3):
// the HMAC-SHA1 of the counter, truncated dynamically to 31 bits, modulo
// 10^digits, with leading zeros.
func hotp(secret []byte, counter int64, digits int) string {
	mac := hmac.New(sha1.New, secret)
	binary.Write(mac, binary.BigEndian, counter)
	sum := mac.Sum(nil)
	offset := sum[len(sum)-1] & 0x0f
	value := int64(binary.BigEndian.Uint32(sum[offset:]) & 0x7fffffff)
	mod := int64(1)
	for range digits {
		mod *= 10
	}
	code := strconv.FormatInt(value%mod, 10)
	return strings.Repeat("0", digits-len(code)) + code
}

// totpCode is the code an authenticator app shows at t.
func totpCode(secret []byte, t time.Time) string {
	return hotp(secret, totpStep(t), totpDigits)
}

// matchTOTP returns the time step whose code is code, within totpSkew
// steps of now. Every step in the window is computed and compared in
// constant time, so the time taken says nothing of which came close.
// Whether the step was used already is the store's to say (useTOTPStep).
func matchTOTP(secret []byte, code string, now time.Time) (step int64, ok bool) {
	current := totpStep(now)
	for s := current - totpSkew; s <= current+totpSkew; s++ {
		if subtle.ConstantTimeCompare([]byte(hotp(secret, s, totpDigits)), []byte(code)) == 1 && !ok {
			step, ok = s, true
		}
	}
	return step, ok
}

// isTOTPCode reports whether s has the form of a TOTP code: six digits.
func isTOTPCode(s string) bool {
	if len(s) != totpDigits {
		return false
	}
	for i := range len(s) {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// totpURI is the otpauth URI an authenticator app reads (as a QR code, or
// pasted): Google Authenticator's Key Uri Format.
func totpURI(username string, secret []byte) string {
	q := url.Values{
		"secret":    {totpBase32.EncodeToString(secret)},
		"issuer":    {totpIssuer},
		"algorithm": {"SHA1"},
		"digits":    {strconv.Itoa(totpDigits)},
		"period":    {strconv.Itoa(totpPeriod)},
	}
	// Encode sorts the keys; the apps do not mind the order.
	return "otpauth://totp/" + url.PathEscape(totpIssuer+":"+username) + "?" + q.Encode()
}

// Recovery codes: recoveryCodeCount of them at a time, each 80 random bits
// as 16 base32 letters and digits in groups of four. Like a token, a code
// is random enough that its SHA-256 alone is kept: a copy of the database
// holds nothing a client could present.
const (
	recoveryCodeCount = 10
	recoveryCodeBytes = 10 // 80 bits, 16 base32 characters
	// maxOTPLen bounds what the X-OTP header and the code fields may hold:
	// a recovery code with its dashes, and room for spaces.
	maxOTPLen = 32
)

var recoveryBase32 = base32.StdEncoding.WithPadding(base32.NoPadding)

// newRecoveryCodes returns recoveryCodeCount fresh codes, as the user is
// shown them, and their hashes, as they are stored.
func newRecoveryCodes() (codes []string, hashes []string) {
	for range recoveryCodeCount {
		b := make([]byte, recoveryCodeBytes)
		rand.Read(b)
		plain := strings.ToLower(recoveryBase32.EncodeToString(b))
		codes = append(codes, plain[0:4]+"-"+plain[4:8]+"-"+plain[8:12]+"-"+plain[12:16])
		hashes = append(hashes, hashRecoveryCode(plain))
	}
	return codes, hashes
}

// normalRecoveryCode is a recovery code as it is hashed: lower case,
// without the dashes and spaces a user may type, or "" when s cannot be
// one.
func normalRecoveryCode(s string) string {
	s = strings.ToLower(strings.NewReplacer("-", "", " ", "").Replace(s))
	if len(s) != 16 {
		return ""
	}
	for i := range len(s) {
		if c := s[i]; !(c >= 'a' && c <= 'z' || c >= '2' && c <= '7') {
			return ""
		}
	}
	return s
}

// hashRecoveryCode is the stored form of a normalised recovery code.
func hashRecoveryCode(normal string) string {
	sum := sha256.Sum256([]byte(normal))
	return hex.EncodeToString(sum[:])
}
