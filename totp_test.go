package main

import (
	"net/url"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// RFC 6238 Appendix B's SHA-1 vectors: the ASCII key "12345678901234567890"
// and 8-digit codes. The same generator, truncated to 6 digits, makes the
// codes in use, which are the last 6 digits of these (RFC 4226 takes the
// code modulo 10^digits).
func TestTOTPVectorsOfRFC6238(t *testing.T) {
	secret := []byte("12345678901234567890")
	for _, v := range []struct {
		unix int64
		code string
	}{
		{59, "94287082"},
		{1111111109, "07081804"},
		{1111111111, "14050471"},
		{1234567890, "89005924"},
		{2000000000, "69279037"},
		{20000000000, "65353130"},
	} {
		at := time.Unix(v.unix, 0)
		if got := hotp(secret, totpStep(at), 8); got != v.code {
			t.Errorf("8-digit code at %d = %s, want %s", v.unix, got, v.code)
		}
		if got, want := totpCode(secret, at), v.code[2:]; got != want {
			t.Errorf("totpCode at %d = %s, want %s", v.unix, got, want)
		}
	}
}

// matchTOTP takes the codes of one step either way of now, and no other.
func TestMatchTOTPSkew(t *testing.T) {
	secret := []byte("12345678901234567890")
	now := time.Unix(1234567890, 0)
	for shift, want := range map[int]bool{-2: false, -1: true, 0: true, 1: true, 2: false} {
		at := now.Add(time.Duration(shift*totpPeriod) * time.Second)
		step, ok := matchTOTP(secret, totpCode(secret, at), now)
		if ok != want || ok && step != totpStep(at) {
			t.Errorf("code of %+d steps: matchTOTP = %d, %v; want %v", shift, step, ok, want)
		}
	}
	if _, ok := matchTOTP(secret, "12345", now); ok {
		t.Error("matchTOTP took a 5-digit code")
	}
}

func TestTOTPURI(t *testing.T) {
	secret := []byte("12345678901234567890")
	got := totpURI("muthoni", secret)
	u, err := url.Parse(got)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	if u.Scheme != "otpauth" || u.Host != "totp" || u.Path != "/tokenapi:muthoni" ||
		q.Get("secret") != "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ" || q.Get("issuer") != "tokenapi" ||
		q.Get("algorithm") != "SHA1" || q.Get("digits") != "6" || q.Get("period") != "30" {
		t.Errorf("totpURI = %s", got)
	}
}

// A recovery code is taken in any case, with or without its dashes, and
// nothing else is taken for one.
func TestRecoveryCodes(t *testing.T) {
	codes, hashes := newRecoveryCodes()
	if len(codes) != recoveryCodeCount || len(hashes) != recoveryCodeCount {
		t.Fatalf("newRecoveryCodes made %d codes, %d hashes; want %d", len(codes), len(hashes), recoveryCodeCount)
	}
	seen := map[string]bool{}
	for i, c := range codes {
		if len(c) != 19 || strings.Count(c, "-") != 3 || seen[c] {
			t.Errorf("code %q: not xxxx-xxxx-xxxx-xxxx, or twice", c)
		}
		seen[c] = true
		for _, typed := range []string{c, strings.ToUpper(c), strings.ReplaceAll(c, "-", ""), strings.ReplaceAll(c, "-", " ")} {
			if n := normalRecoveryCode(typed); n == "" || hashRecoveryCode(n) != hashes[i] {
				t.Errorf("%q, typed as %q, does not hash to its stored hash", c, typed)
			}
		}
	}
	for _, bad := range []string{"", "123456", "abcd-efgh-ijkl-mno", "abcd-efgh-ijkl-mnop-q", "abcd-efgh-ijkl-mn01"} {
		if n := normalRecoveryCode(bad); n != "" {
			t.Errorf("normalRecoveryCode(%q) = %q, want \"\"", bad, n)
		}
	}
}

// oathtoolCode is the code Debian's oathtool, an implementation of its
// own, makes for a base32 secret at at. CI installs oathtool (.ci/run).
func oathtoolCode(t *testing.T, secret string, at time.Time) string {
	t.Helper()
	path, err := exec.LookPath("oathtool")
	if err != nil {
		t.Skip("oathtool is not installed (apt-get install oathtool); CI installs it")
	}
	out, err := exec.Command(path, "--totp", "-b", "--now", at.UTC().Format("2006-01-02 15:04:05 UTC"), secret).Output()
	if err != nil {
		t.Fatalf("oathtool: %v", err)
	}
	return strings.TrimSpace(string(out))
}

func TestTOTPCodeIsOathtools(t *testing.T) {
	secret := []byte("12345678901234567890")
	for _, at := range []time.Time{time.Unix(59, 0), time.Unix(1234567890, 0), time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)} {
		if got, want := totpCode(secret, at), oathtoolCode(t, totpBase32.EncodeToString(secret), at); got != want {
			t.Errorf("totpCode at %v = %s, oathtool says %s", at, got, want)
		}
	}
}
