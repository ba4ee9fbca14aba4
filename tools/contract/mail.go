package main

import (
	"fmt"
	"time"
)

// The mail traffic: password reset, on the main run's server, which sends
// its mail to the run's SMTP sink. The main traffic signed gitau up, with
// gitau@example.com.
func mailTraffic(r *runner, sink *smtpSink) {
	const request, confirm = "/api/password-reset", "/api/password-reset/confirm"
	const requestOp, confirmOp = "POST " + request, "POST " + confirm
	resetOf := func(email string) option { return jsonBody(fmt.Sprintf(`{"email": %q}`, email)) }

	r.expect(202, requestOp, request, resetOf("gitau@example.com"))
	r.expect(429, requestOp, request, resetOf("gitau@example.com")) // one a minute for an email
	r.expect(202, requestOp, request, resetOf("nobody@example.com"))
	r.expect(400, requestOp, request, resetOf("nope"))
	r.expect(413, requestOp, request, jsonBody(oversized(accountBodyCap)))
	r.expect(415, requestOp, request, body("text/plain", "gitau@example.com"))

	code := sink.waitCode(resetCodePrefix, "gitau@example.com", 1, 30*time.Second)
	if code == "" {
		r.fail("no mail with a reset code reached the SMTP sink within 30s")
		return
	}
	newPassword := func(token string) option {
		return jsonBody(fmt.Sprintf(`{"token": %q, "password": "gitau-new-password"}`, token))
	}
	r.expect(400, confirmOp, confirm, newPassword("tapr_short"))
	r.expect(413, confirmOp, confirm, jsonBody(oversized(accountBodyCap)))
	r.expect(415, confirmOp, confirm, body("text/plain", code))
	r.expect(204, confirmOp, confirm, newPassword(code))
	for range 10 { // ten wrong codes an hour from one address; a used one is wrong
		r.expect(400, confirmOp, confirm, newPassword(code))
	}
	r.expect(429, confirmOp, confirm, newPassword(code))

	// Ten requests an hour from one address: two were counted above.
	for i := range 8 {
		r.expect(202, requestOp, request, resetOf(fmt.Sprintf("someone%d@example.com", i)))
	}
	r.expect(429, requestOp, request, resetOf("one-more@example.com"))
}

// mailNotConfiguredTraffic is the 501 of the mail routes, on a server
// started without -smtp-url. Sent straight to the server: Prism's proxy
// answers an upstream 501 with a mock of its own (its way of serving
// operations not built yet), so through it the 501 never comes back.
func mailNotConfiguredTraffic(r *runner) {
	r.expectDirect(501, "POST", "/api/password-reset", jsonBody(`{"email": "gitau@example.com"}`))
	r.expectDirect(501, "POST", "/api/password-reset/confirm", jsonBody(`{"token": "x", "password": "y"}`))
	r.expectDirect(501, "POST", "/api/email-verification/confirm", jsonBody(`{"token": "x"}`))
}
