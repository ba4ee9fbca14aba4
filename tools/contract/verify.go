package main

import (
	"fmt"
	"time"
)

// verificationTraffic is email verification on the main run's server,
// after mailTraffic: gitau (whose password the reset changed, and whose
// sessions all ended) asks for a new code and confirms it.
func verificationTraffic(r *runner, sink *smtpSink) {
	const confirm, resend = "/api/email-verification/confirm", "/api/users/2/email-verification"
	const confirmOp, resendOp = "POST " + confirm, "POST /api/users/{id}/email-verification"
	login := func(username, password string, options ...option) string {
		res := r.expect(200, "POST /api/tokens", "/api/tokens", append([]option{basic(username, password)}, options...)...)
		token, _ := res.field("token").(string)
		return token
	}
	writer := login("gitau", "gitau-new-password")
	reader := login("gitau", "gitau-new-password", jsonBody(`{"scope": "read"}`))
	codeOf := func(code string) option { return jsonBody(fmt.Sprintf(`{"token": %q}`, code)) }

	r.expect(200, "GET /api/users/{id}", "/api/users/2", bearer(writer)) // email_verified: false
	r.expect(202, resendOp, resend, bearer(writer))                      // a sign-up counts toward the address's limit only
	r.expect(429, resendOp, resend, bearer(writer))                      // one a minute for an account
	r.expect(401, resendOp, resend)
	r.expect(403, resendOp, "/api/users/1/email-verification", bearer(writer))
	r.expect(403, resendOp, resend, bearer(reader))
	r.expect(404, resendOp, "/api/users/abc/email-verification", bearer(writer))

	code := sink.waitCode(verifyCodePrefix, "gitau@example.com", 2, 30*time.Second) // the sign-up's, then the new one
	if code == "" {
		r.fail("no second mail with a verification code for gitau reached the SMTP sink within 30s")
		return
	}
	r.expect(400, confirmOp, confirm, codeOf("tapv_short"))
	r.expect(413, confirmOp, confirm, jsonBody(oversized(accountBodyCap)))
	r.expect(415, confirmOp, confirm, body("text/plain", code))
	r.expect(204, confirmOp, confirm, codeOf(code))
	r.expect(200, "GET /api/users/{id}", "/api/users/2", bearer(writer)) // email_verified: true
	r.expect(400, resendOp, resend, bearer(writer))                      // verified already
	for range 10 {                                                       // ten wrong codes an hour from one address; a used one is wrong
		r.expect(400, confirmOp, confirm, codeOf(code))
	}
	r.expect(429, confirmOp, confirm, codeOf(code))
}

// requireVerifiedTraffic is a login refused for an unverified email, on a
// server started with -require-verified-email, and the same login once
// the email is verified. Its user has a name of its own: the sink keeps
// the mails of every part of the run, and a code is found by address.
func requireVerifiedTraffic(r *runner, sink *smtpSink) {
	r.expect(201, "POST /api/users", "/api/users", jsonBody(`{"username": "zawadi", "email": "zawadi@example.com", "password": "zawadi12345"}`))
	r.expect(401, "POST /api/tokens", "/api/tokens", basic("zawadi", "wrong-password"))
	r.expect(403, "POST /api/tokens", "/api/tokens", basic("zawadi", "zawadi12345")) // mails a new code
	code := sink.waitCode(verifyCodePrefix, "zawadi@example.com", 2, 30*time.Second)
	if code == "" {
		r.fail("no second mail with a verification code for zawadi reached the SMTP sink within 30s")
		return
	}
	r.expect(204, "POST /api/email-verification/confirm", "/api/email-verification/confirm", jsonBody(fmt.Sprintf(`{"token": %q}`, code)))
	r.expect(200, "POST /api/tokens", "/api/tokens", basic("zawadi", "zawadi12345"))
}
