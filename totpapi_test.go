package main

import (
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

func totpPath(id int64) string { return fmt.Sprintf("/api/users/%d/totp", id) }

// withOTP sends a code in the X-OTP header.
func withOTP(code string) func(*http.Request) { return withHeader(otpHeader, code) }

// enrolTOTP enrols a user through the API and returns the pending secret.
func enrolTOTP(t *testing.T, ts *testServer, id int64, token, password string) []byte {
	t.Helper()
	res := ts.call(t, "POST", totpPath(id), token, fmt.Sprintf(`{"current_password": %q}`, password))
	wantStatus(t, "POST "+totpPath(id), res, http.StatusOK)
	m := res.object(t)
	encoded, _ := m["secret"].(string)
	secret, err := totpBase32.DecodeString(encoded)
	if err != nil || len(secret) != totpSecretBytes {
		t.Fatalf("secret %q: %d bytes (%v), want %d", encoded, len(secret), err, totpSecretBytes)
	}
	if uri, _ := m["otpauth_uri"].(string); uri != totpURI(strings.TrimSuffix(password, "-password"), secret) {
		t.Errorf("otpauth_uri = %q", uri)
	}
	return secret
}

// turnTOTPOn enrols and confirms at the clock's now, then moves the clock
// to the next step, whose code is unused. It returns the secret and the
// recovery codes.
func turnTOTPOn(t *testing.T, ts *testServer, id int64, token, password string) ([]byte, []string) {
	t.Helper()
	secret := enrolTOTP(t, ts, id, token, password)
	res := ts.call(t, "POST", totpPath(id)+"/confirm", token, fmt.Sprintf(`{"code": %q}`, totpCode(secret, ts.clock.Now())))
	wantStatus(t, "POST /totp/confirm", res, http.StatusOK)
	var codes []string
	for _, c := range res.object(t)["recovery_codes"].([]any) {
		codes = append(codes, c.(string))
	}
	if len(codes) != recoveryCodeCount {
		t.Fatalf("confirm gave %d recovery codes, want %d", len(codes), recoveryCodeCount)
	}
	ts.clock.Advance(totpPeriod * time.Second)
	return secret, codes
}

// wantTOTPEnabled checks what GET /api/users/{id} shows the user.
func wantTOTPEnabled(t *testing.T, ts *testServer, id int64, token string, want bool) {
	t.Helper()
	res := ts.call(t, "GET", userPath(id), token, "")
	wantStatus(t, "GET "+userPath(id), res, http.StatusOK)
	if got := res.object(t)["totp_enabled"]; got != want {
		t.Errorf("totp_enabled = %v, want %v", got, want)
	}
}

func loginWith(t *testing.T, ts *testServer, username, password string, with ...func(*http.Request)) response {
	t.Helper()
	return ts.callWith(t, "POST", "/api/tokens", "", append([]func(*http.Request){basic(username, password)}, with...)...)
}

// wantOTPRequired checks a 401 that asks for the second step.
func wantOTPRequired(t *testing.T, what string, res response, message string) {
	t.Helper()
	wantError(t, what, res, http.StatusUnauthorized, message)
	if got := res.header.Get("X-OTP"); got != "required" {
		t.Errorf("%s: X-OTP = %q, want required", what, got)
	}
	if got := res.header.Get("WWW-Authenticate"); got != `Basic realm="Authentication Required"` {
		t.Errorf("%s: WWW-Authenticate = %q", what, got)
	}
}

func TestTOTPLogin(t *testing.T) {
	ts := newTestServer(t)
	id, token := ts.newUser(t, "muthoni")
	otherID, other := ts.newUser(t, "gitau")
	wantTOTPEnabled(t, ts, id, token, false)
	secret, recovery := turnTOTPOn(t, ts, id, token, "muthoni-password")
	wantTOTPEnabled(t, ts, id, token, true)
	if _, shown := ts.call(t, "GET", userPath(id), other, "").object(t)["totp_enabled"]; shown {
		t.Error("another user is shown totp_enabled")
	}

	wantOTPRequired(t, "login without a code", loginWith(t, ts, "muthoni", "muthoni-password"), "X-OTP")
	code := totpCode(secret, ts.clock.Now())
	wantStatus(t, "login with the code", loginWith(t, ts, "muthoni", "muthoni-password", withOTP(code)), http.StatusOK)
	wantOTPRequired(t, "the same code again", loginWith(t, ts, "muthoni", "muthoni-password", withOTP(code)), "used already")
	// The code of the step before is in the window, but older than the
	// one used.
	before := totpCode(secret, ts.clock.Now().Add(-totpPeriod*time.Second))
	wantOTPRequired(t, "an older step's code", loginWith(t, ts, "muthoni", "muthoni-password", withOTP(before)), "used already")

	// A recovery code, typed in capitals, works once.
	typed := strings.ToUpper(recovery[3])
	wantStatus(t, "login with a recovery code", loginWith(t, ts, "muthoni", "muthoni-password", withOTP(typed)), http.StatusOK)
	wantOTPRequired(t, "the recovery code again", loginWith(t, ts, "muthoni", "muthoni-password", withOTP(recovery[3])), "used already")

	// Users without TOTP log in as before, code or none.
	wantStatus(t, "gitau's login", loginWith(t, ts, "gitau", "gitau-password"), http.StatusOK)
	wantStatus(t, "gitau's login with an X-OTP", loginWith(t, ts, "gitau", "gitau-password", withOTP("123456")), http.StatusOK)
	wantTOTPEnabled(t, ts, otherID, other, false)

	// Off, with the password and a code of the next step.
	ts.clock.Advance(totpPeriod * time.Second)
	res := ts.call(t, "DELETE", totpPath(id), token,
		fmt.Sprintf(`{"current_password": "muthoni-password", "code": %q}`, totpCode(secret, ts.clock.Now())))
	wantStatus(t, "DELETE /totp", res, http.StatusNoContent)
	wantTOTPEnabled(t, ts, id, token, false)
	wantStatus(t, "login after TOTP is off", loginWith(t, ts, "muthoni", "muthoni-password"), http.StatusOK)
	if n := ts.count(t, "totp_recovery_codes"); n != 0 {
		t.Errorf("%d recovery codes left after TOTP is off, want 0", n)
	}
}

// A code made by another implementation, Debian's oathtool, is taken.
func TestTOTPLoginWithOathtoolsCode(t *testing.T) {
	ts := newTestServer(t)
	id, token := ts.newUser(t, "muthoni")
	secret, _ := turnTOTPOn(t, ts, id, token, "muthoni-password")
	code := oathtoolCode(t, totpBase32.EncodeToString(secret), ts.clock.Now())
	wantStatus(t, "login with oathtool's code", loginWith(t, ts, "muthoni", "muthoni-password", withOTP(code)), http.StatusOK)
}

// Wrong codes count as wrong passwords: the limit of one account from one
// address locks the login after 10, even with the right code. A login
// without a code counts neither way.
func TestTOTPWrongCodesLockOut(t *testing.T) {
	ts := newTestServer(t)
	id, token := ts.newUser(t, "muthoni")
	secret, _ := turnTOTPOn(t, ts, id, token, "muthoni-password")
	for i := range 2 * defaultThrottleLimit {
		wantOTPRequired(t, fmt.Sprintf("login %d without a code", i+1), loginWith(t, ts, "muthoni", "muthoni-password"), "X-OTP")
	}
	right := totpCode(secret, ts.clock.Now())
	wrong := "000000"
	if right == wrong {
		wrong = "111111"
	}
	for i, code := range []string{wrong, "garbage", "12345", strings.Repeat("9", maxOTPLen+1), "aaaa-bbbb-cccc-dddd"} {
		wantOTPRequired(t, fmt.Sprintf("wrong code %d", i+1), loginWith(t, ts, "muthoni", "muthoni-password", withOTP(code)), "wrong")
	}
	for i := 5; i < defaultThrottleLimit; i++ {
		wantOTPRequired(t, fmt.Sprintf("wrong code %d", i+1), loginWith(t, ts, "muthoni", "muthoni-password", withOTP(wrong)), "wrong")
	}
	res := loginWith(t, ts, "muthoni", "muthoni-password", withOTP(right))
	wantError(t, "the right code after 10 wrong ones", res, http.StatusTooManyRequests, "")
}

// A wrong password answers a user with TOTP on exactly as one without:
// the answer tells nobody without the password that TOTP is on.
func TestTOTPWrongPasswordLooksTheSame(t *testing.T) {
	ts := newTestServer(t)
	id, token := ts.newUser(t, "muthoni")
	ts.newUser(t, "gitau")
	turnTOTPOn(t, ts, id, token, "muthoni-password")
	for _, with := range [][]func(*http.Request){nil, {withOTP("123456")}} {
		on := loginWith(t, ts, "muthoni", "wrong-password", with...)
		off := loginWith(t, ts, "gitau", "wrong-password", with...)
		on.header.Del("Date")
		off.header.Del("Date")
		if on.status != off.status || jsonText(t, on.header) != jsonText(t, off.header) || string(on.body) != string(off.body) {
			t.Errorf("wrong password, TOTP on:  %d %v %s\nwrong password, TOTP off: %d %v %s",
				on.status, on.header, on.body, off.status, off.header, off.body)
		}
	}
}

// totpRow returns what the totp table holds for a user: whether a secret
// and a pending secret are stored, or "none".
func totpRow(t *testing.T, ts *testServer, id int64) string {
	t.Helper()
	rec, err := ts.db.totpOf(t.Context(), id)
	if err != nil {
		return "none"
	}
	return fmt.Sprintf("secret=%v pending=%v", rec.Secret != "", rec.PendingSecret != "")
}

// Every bad request to the TOTP routes gets its JSON error and changes
// nothing: no secret pending or enabled that was not, no codes replaced.
func TestTOTPBadRequests(t *testing.T) {
	ts := newTestServer(t)
	id, token := ts.newUser(t, "muthoni")
	otherID, other := ts.newUser(t, "gitau")
	enrol, confirm, codes := totpPath(id), totpPath(id)+"/confirm", totpPath(id)+"/recovery-codes"
	type step struct {
		method, path, token, body string
		status                    int
		message                   string
	}
	run := func(what string, steps []step, wantRow string) {
		t.Helper()
		for _, s := range steps {
			res := ts.call(t, s.method, s.path, s.token, s.body)
			wantError(t, what+": "+s.method+" "+s.path+" "+s.body, res, s.status, s.message)
		}
		if got := totpRow(t, ts, id); got != wantRow {
			t.Errorf("%s: totp row %s, want %s", what, got, wantRow)
		}
	}
	run("off", []step{
		{"POST", enrol, token, `{}`, 400, "field current_password is required"},
		{"POST", enrol, token, `{"current_password": 5}`, 400, "field current_password must be a string"},
		{"POST", enrol, token, `{"current_password": "wrong-password"}`, 400, "field current_password is wrong"},
		{"POST", enrol, token, `{"current_password": "` + strings.Repeat("x", 5000) + `"}`, 400, "field current_password is wrong"},
		{"POST", enrol, token, `not json`, 400, ""},
		{"POST", enrol, other, `{"current_password": "gitau-password"}`, 404, ""},
		{"POST", totpPath(otherID), token, `{"current_password": "muthoni-password"}`, 404, ""},
		{"POST", confirm, token, `{"code": "123456"}`, 409, "no enrolment to confirm"},
		{"DELETE", enrol, token, `{"current_password": "muthoni-password", "code": "123456"}`, 409, "TOTP is off"},
		{"POST", codes, token, `{"code": "123456"}`, 409, "TOTP is off"},
	}, "none")

	// Enrolled twice: the newer secret replaces the first, whose code no
	// longer confirms.
	first := enrolTOTP(t, ts, id, token, "muthoni-password")
	second := enrolTOTP(t, ts, id, token, "muthoni-password")
	now := ts.clock.Now()
	wrong := "000000"
	if totpCode(second, now) == wrong {
		wrong = "111111"
	}
	run("pending", []step{
		{"POST", confirm, token, `{}`, 400, "field code is required"},
		{"POST", confirm, token, `{"code": ""}`, 400, "field code is required"},
		{"POST", confirm, token, `{"code": "garbage"}`, 400, "field code is wrong"},
		{"POST", confirm, token, `{"code": "` + strings.Repeat("1", 40) + `"}`, 400, "field code is wrong"},
		{"POST", confirm, token, `{"code": "` + wrong + `"}`, 400, "field code is wrong"},
		{"POST", confirm, token, `{"code": "` + totpCode(first, now) + `"}`, 400, "field code is wrong"},
		{"POST", confirm, other, `{"code": "` + totpCode(second, now) + `"}`, 404, ""},
	}, "secret=false pending=true")
	wantTOTPEnabled(t, ts, id, token, false)
	res := ts.call(t, "POST", confirm, token, `{"code": "`+totpCode(second, now)+`"}`)
	wantStatus(t, "confirm with the newer secret's code", res, http.StatusOK)
	ts.clock.Advance(totpPeriod * time.Second)
	code := totpCode(second, ts.clock.Now())
	if code == wrong {
		wrong = "222222"
	}
	run("on", []step{
		{"POST", enrol, token, `{"current_password": "muthoni-password"}`, 409, "TOTP is on already"},
		{"POST", confirm, token, `{"code": "` + code + `"}`, 409, "TOTP is on already"},
		{"DELETE", enrol, token, `{"code": "` + code + `"}`, 400, "field current_password is required"},
		{"DELETE", enrol, token, `{"current_password": "muthoni-password"}`, 400, "field code is required"},
		{"DELETE", enrol, token, `{"current_password": "wrong-password", "code": "` + code + `"}`, 400, "field current_password is wrong"},
		{"DELETE", enrol, token, `{"current_password": "muthoni-password", "code": "` + wrong + `"}`, 400, "field code is wrong"},
		{"DELETE", enrol, token, `{"current_password": "muthoni-password", "code": "abcd-efgh-ijkl-mnop"}`, 400, "field code is wrong"},
		{"POST", codes, token, `{}`, 400, "field code is required"},
		{"POST", codes, token, `{"code": "` + wrong + `"}`, 400, "field code is wrong"},
		{"POST", codes, other, `{"code": "` + code + `"}`, 404, ""},
	}, "secret=true pending=false")
	wantTOTPEnabled(t, ts, id, token, true)
	if n := ts.count(t, "totp_recovery_codes"); n != recoveryCodeCount {
		t.Errorf("%d recovery codes stored, want %d", n, recoveryCodeCount)
	}
}

// New recovery codes replace the old ones, which stop working.
func TestTOTPNewRecoveryCodes(t *testing.T) {
	ts := newTestServer(t)
	id, token := ts.newUser(t, "muthoni")
	secret, old := turnTOTPOn(t, ts, id, token, "muthoni-password")
	res := ts.call(t, "POST", totpPath(id)+"/recovery-codes", token, fmt.Sprintf(`{"code": %q}`, totpCode(secret, ts.clock.Now())))
	wantStatus(t, "POST /totp/recovery-codes", res, http.StatusOK)
	fresh := res.object(t)["recovery_codes"].([]any)
	if len(fresh) != recoveryCodeCount || fresh[0] == old[0] {
		t.Fatalf("new recovery codes %v", fresh)
	}
	wantOTPRequired(t, "an old recovery code", loginWith(t, ts, "muthoni", "muthoni-password", withOTP(old[0])), "wrong")
	wantStatus(t, "a new recovery code", loginWith(t, ts, "muthoni", "muthoni-password", withOTP(fresh[0].(string))), http.StatusOK)
}

// Turning TOTP off checks the password and the code as one check: the
// right password does not clear what wrong codes count, and the 11th try
// is locked out even with both right.
func TestTOTPDisableWrongCodesLockOut(t *testing.T) {
	ts := newTestServer(t)
	id, token := ts.newUser(t, "muthoni")
	_, codes := turnTOTPOn(t, ts, id, token, "muthoni-password")
	for i := range defaultThrottleLimit {
		res := ts.call(t, "DELETE", totpPath(id), token, `{"current_password": "muthoni-password", "code": "aaaa-bbbb-cccc-dddd"}`)
		wantError(t, fmt.Sprintf("DELETE /totp with a wrong code, %d", i+1), res, http.StatusBadRequest, "field code is wrong")
	}
	res := ts.call(t, "DELETE", totpPath(id), token, fmt.Sprintf(`{"current_password": "muthoni-password", "code": %q}`, codes[0]))
	wantError(t, "DELETE /totp with both right after 10 wrong codes", res, http.StatusTooManyRequests, "")
	wantTOTPEnabled(t, ts, id, token, true)
}

// The same code sent in many logins at once gets in once: the step is
// recorded by the statement that checks it was not used.
func TestTOTPCodeOnceUnderConcurrency(t *testing.T) {
	ts := newTestServer(t)
	id, token := ts.newUser(t, "muthoni")
	secret, _ := turnTOTPOn(t, ts, id, token, "muthoni-password")
	code := totpCode(secret, ts.clock.Now())
	const n = 8 // below the throttle's limit, so that every one is checked
	statuses := make(chan int, n)
	var wg sync.WaitGroup
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res, err := ts.do("POST", "/api/tokens", "", basic("muthoni", "muthoni-password"), withOTP(code))
			if err != nil {
				t.Error(err)
				return
			}
			statuses <- res.status
		}()
	}
	wg.Wait()
	close(statuses)
	got := map[int]int{}
	for s := range statuses {
		got[s]++
	}
	if got[http.StatusOK] != 1 || got[http.StatusUnauthorized] != n-1 {
		t.Errorf("%d logins at once with one code: %v, want one 200 and %d 401", n, got, n-1)
	}
}
