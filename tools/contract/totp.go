package main

import (
	"fmt"
	"os/exec"
	"strings"
)

// totpTraffic reaches the TOTP routes and the login's second step, on the
// server that contractTraffic used, with users of its own: wanjiru turns
// TOTP on and uses it, baraka turns it on and off. The codes an
// authenticator app would show come from the binary's totp-code command
// (the server's clock is the real one).
func totpTraffic(r *runner, binary string) {
	const tokens = "/api/tokens"
	code := func(secret string, flags ...string) string {
		out, err := exec.Command(binary, append(append([]string{"totp-code"}, flags...), secret)...).Output()
		if err != nil {
			r.fail("tokenapi totp-code: %v", err)
		}
		return strings.TrimSpace(string(out))
	}
	signUp := func(name string) (path, token string) {
		res := r.expect(201, "POST /api/users", "/api/users", jsonBody(fmt.Sprintf(
			`{"username": %q, "email": "%s@example.com", "password": "%s-password"}`, name, name, name)))
		id, _ := res.field("id").(float64)
		token, _ = r.expect(200, "POST "+tokens, tokens, basic(name, name+"-password")).field("token").(string)
		return fmt.Sprintf("/api/users/%d/totp", int(id)), token
	}
	wanjiru, writer := signUp("wanjiru")
	baraka, other := signUp("baraka")
	reader, _ := r.expect(200, "POST "+tokens, tokens, basic("wanjiru", "wanjiru-password"), jsonBody(`{"scope": "read"}`)).field("token").(string)
	password := jsonBody(`{"current_password": "wanjiru-password"}`)
	const enrol, disable, confirm, replace = "POST /api/users/{id}/totp", "DELETE /api/users/{id}/totp",
		"POST /api/users/{id}/totp/confirm", "POST /api/users/{id}/totp/recovery-codes"

	// What every one of the four refuses alike.
	for _, op := range []string{enrol, disable, confirm, replace} {
		_, pattern, _ := strings.Cut(op, " ")
		path := strings.Replace(pattern, "/api/users/{id}/totp", wanjiru, 1)
		othersPath := strings.Replace(pattern, "/api/users/{id}/totp", baraka, 1)
		r.expect(401, op, path, password)
		r.expect(403, op, path, bearer(reader), password)
		r.expect(404, op, othersPath, bearer(writer), password)
		r.expect(400, op, path, bearer(writer), jsonBody(`{}`))
		r.expect(413, op, path, bearer(writer), jsonBody(oversized(accountBodyCap)))
		r.expect(415, op, path, bearer(writer), body("text/plain", "x"))
	}

	// On, with a code of the app's; then the login's second step.
	r.expect(409, confirm, wanjiru+"/confirm", bearer(writer), jsonBody(`{"code": "123456"}`))
	r.expect(409, disable, wanjiru, bearer(writer), jsonBody(`{"current_password": "wanjiru-password", "code": "123456"}`))
	r.expect(409, replace, wanjiru+"/recovery-codes", bearer(writer), jsonBody(`{"code": "123456"}`))
	secret, _ := r.expect(200, enrol, wanjiru, bearer(writer), password).field("secret").(string)
	res := r.expect(200, confirm, wanjiru+"/confirm", bearer(writer), jsonBody(fmt.Sprintf(`{"code": %q}`, code(secret))))
	recovery := recoveryCodes(res)
	r.expect(409, enrol, wanjiru, bearer(writer), password)
	r.expect(200, "GET /api/users/{id}", strings.TrimSuffix(wanjiru, "/totp"), bearer(writer))
	if res := r.expect(401, "POST "+tokens, tokens, basic("wanjiru", "wanjiru-password")); res.header.Get("X-OTP") != "required" {
		r.fail("a login without its code = 401 without X-OTP: required")
	}
	next := code(secret, "-next")
	r.expect(200, "POST "+tokens, tokens, basic("wanjiru", "wanjiru-password"), header("X-OTP", next))
	r.expect(401, "POST "+tokens, tokens, basic("wanjiru", "wanjiru-password"), header("X-OTP", next))
	r.expect(200, "POST "+tokens, tokens, basic("wanjiru", "wanjiru-password"), header("X-OTP", recovery[0]))
	res = r.expect(200, replace, wanjiru+"/recovery-codes", bearer(writer), jsonBody(fmt.Sprintf(`{"code": %q}`, recovery[1])))
	recovery = recoveryCodes(res)
	// 10 wrong codes lock the codes and the password of the account.
	for range 10 {
		r.expect(400, replace, wanjiru+"/recovery-codes", bearer(writer), jsonBody(`{"code": "aaaa-bbbb-cccc-dddd"}`))
	}
	r.expect(429, replace, wanjiru+"/recovery-codes", bearer(writer), jsonBody(fmt.Sprintf(`{"code": %q}`, recovery[0])))
	r.expect(429, disable, wanjiru, bearer(writer), jsonBody(fmt.Sprintf(`{"current_password": "wanjiru-password", "code": %q}`, recovery[0])))

	// Off again, then a pending enrolment that wrong codes lock.
	barakaPassword := jsonBody(`{"current_password": "baraka-password"}`)
	secret, _ = r.expect(200, enrol, baraka, bearer(other), barakaPassword).field("secret").(string)
	recovery = recoveryCodes(r.expect(200, confirm, baraka+"/confirm", bearer(other), jsonBody(fmt.Sprintf(`{"code": %q}`, code(secret)))))
	r.expect(204, disable, baraka, bearer(other), jsonBody(fmt.Sprintf(`{"current_password": "baraka-password", "code": %q}`, recovery[0])))
	r.expect(409, disable, baraka, bearer(other), jsonBody(fmt.Sprintf(`{"current_password": "baraka-password", "code": %q}`, recovery[1])))
	r.expect(200, enrol, baraka, bearer(other), barakaPassword)
	for range 10 {
		r.expect(400, confirm, baraka+"/confirm", bearer(other), jsonBody(`{"code": "garbage"}`))
	}
	r.expect(429, confirm, baraka+"/confirm", bearer(other), jsonBody(`{"code": "123456"}`))
	r.expect(429, enrol, baraka, bearer(other), barakaPassword)
}

// recoveryCodes reads the codes of a 200 that shows them.
func recoveryCodes(res reply) []string {
	var codes []string
	list, _ := res.field("recovery_codes").([]any)
	for _, c := range list {
		s, _ := c.(string)
		codes = append(codes, s)
	}
	for len(codes) < 2 {
		codes = append(codes, "")
	}
	return codes
}
