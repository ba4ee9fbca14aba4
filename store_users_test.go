package main

import (
	"testing"
	"unicode"
)

// Emails are unique under Unicode case folding: emailKey gives every form
// of an address one key. The HTTP side, sign-up and change refused, is in
// users_test.go; the upgrade that recomputes the stored keys is in
// opendb_test.go.

func TestEmailKey(t *testing.T) {
	tests := []struct {
		name  string
		forms []string // each has the key want
		want  string
	}{
		{"ASCII is lower-cased", []string{"Muthoni@Example.COM", "muthoni@example.com", "MUTHONI@EXAMPLE.COM"}, "muthoni@example.com"},
		{"long s", []string{"sam@x.org", "Sam@x.org", "ſam@x.org"}, "sam@x.org"},
		{"final sigma", []string{"σa@x.org", "Σa@x.org", "ςa@x.org"}, "σa@x.org"},
		{"beta symbol", []string{"βa@x.org", "Βa@x.org", "ϐa@x.org"}, "βa@x.org"},
		{"Kelvin sign", []string{"k@x.org", "K@x.org", "\u212a@x.org"}, "k@x.org"},
		{"micro sign", []string{"μ@x.org", "Μ@x.org", "µ@x.org"}, "μ@x.org"},
		{"letters with diacritics", []string{"zoë@x.org", "ZOË@x.org"}, "zoë@x.org"},
		{"dotted capital I, as strings.ToLower had it", []string{"i@x.org", "I@x.org", "İ@x.org"}, "i@x.org"},
		{"dotless i is another letter", []string{"ı@x.org"}, "ı@x.org"},
		{"no letters", []string{"1+2@[127.0.0.1]"}, "1+2@[127.0.0.1]"},
	}
	for _, tt := range tests {
		for _, form := range tt.forms {
			if got := emailKey(form); got != tt.want {
				t.Errorf("%s: emailKey(%q) = %q, want %q", tt.name, form, got, tt.want)
			}
		}
	}
}

// TestFoldRuneEveryRune checks foldRune over all of Unicode, for what
// emailKey and the upgrade to version 3 rely on.
func TestFoldRuneEveryRune(t *testing.T) {
	for r := rune(0); r <= unicode.MaxRune; r++ {
		key := foldRune(r)
		// One key for an orbit: what makes ſ, ς, ϐ and K collide.
		if f := unicode.SimpleFold(r); foldRune(f) != key {
			t.Errorf("foldRune(%U) = %U but foldRune(%U), its case fold, = %U", r, key, f, foldRune(f))
		}
		// Nothing strings.ToLower joined is parted, so an upgraded key
		// refuses all that the old one did.
		if lower := unicode.ToLower(r); foldRune(lower) != key {
			t.Errorf("foldRune(%U) = %U but foldRune(%U), its lower case, = %U", r, key, lower, foldRune(lower))
		}
		// A key is its own key.
		if again := foldRune(key); again != key {
			t.Errorf("foldRune(%U) = %U, and foldRune of that = %U", r, key, again)
		}
		// Nothing else is joined: the key is a case form of the letter
		// (or of its lower case), so 'ı' stays apart from 'i'.
		if !inOrbit(key, r) && !inOrbit(key, unicode.ToLower(r)) {
			t.Errorf("foldRune(%U) = %U, which is no case form of it", r, key)
		}
	}
}

// inOrbit reports whether want is one of the forms unicode.SimpleFold
// goes round from r.
func inOrbit(want, r rune) bool {
	f := r
	for {
		if f == want {
			return true
		}
		if f = unicode.SimpleFold(f); f == r {
			return false
		}
	}
}

// The ASCII fast path costs nothing for an address that is already
// lower-case, as nearly every one is.
func TestEmailKeyASCIIAllocatesNothing(t *testing.T) {
	email := "muthoni@example.com"
	var key string
	if n := testing.AllocsPerRun(100, func() { key = emailKey(email) }); n != 0 || key != email {
		t.Errorf("emailKey(%q) = %q and allocates %v times, want itself and 0", email, key, n)
	}
}
