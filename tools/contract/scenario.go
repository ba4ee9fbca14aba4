package main

import (
	"fmt"
	"strings"
)

// The contract traffic: requests that reach every operation of the
// document and every status it lists for it, but those excused below.
// Each request names the operation it is for, and wants one status.

// excused returns the documented answers no traffic of a contract run can
// bring about, each with the reason.
func excused(documented []answer) map[answer]string {
	excuses := map[answer]string{}
	for _, a := range documented {
		if a.status == 500 {
			excuses[a] = "no request should bring about a 500"
		}
		if a.status == 501 {
			excuses[a] = "Prism mocks an upstream 501 rather than pass it on; mailNotConfiguredTraffic sends it straight to the server"
		}
		if a.op == "POST /api/password-reset/confirm" && a.status == 503 {
			excuses[a] = "a reset code needs mail, and the busy run's server has none; its hashes wait as sign-up's do, whose 503 the run reaches"
		}
		if a == (answer{"DELETE /api/users/{id}/totp", 503}) {
			excuses[a] = "the same current_password check as POST /api/users/{id}/totp's 503, which the busy traffic reaches; this one needs TOTP on for the busy server's users too"
		}
	}
	return excuses
}

// The caps on request bodies.
const (
	accountBodyCap = 64 << 10
	postBodyCap    = 1 << 20
)

// oversized returns a JSON object over limit bytes. Not by one byte: Prism
// passes a JSON body on re-encoded, without the spaces.
func oversized(limit int) string {
	return `{"title":"` + strings.Repeat("a", limit+64) + `"}`
}

// contractTraffic is the main run, on a fresh database.
func contractTraffic(r *runner) {
	const users, posts, tokens = "/api/users", "/api/posts", "/api/tokens"

	// Sign-ups, and what a sign-up refuses.
	signUp := func(name, password string) {
		r.expect(201, "POST /api/users", users, jsonBody(fmt.Sprintf(
			`{"username": %q, "email": "%s@example.com", "password": %q, "about_me": "Tea farmer."}`, name, name, password)))
	}
	signUp("muthoni", "muthoni123")
	signUp("gitau", "gitau12345")
	signUp("amani", "amani12345")
	r.expect(400, "POST /api/users", users, jsonBody(`{"username": "Muthoni", "email": "m2@example.com", "password": "muthoni123"}`))
	r.expect(400, "POST /api/users", users, jsonBody(`{"username": "a b", "email": "ab@example.com", "password": "muthoni123"}`))
	r.expect(400, "POST /api/users", users, jsonBody(`{"username": 5}`))
	r.expect(413, "POST /api/users", users, jsonBody(oversized(accountBodyCap)))
	r.expect(415, "POST /api/users", users, body("text/plain", `{"username": "baraka"}`))

	// Logins: a named write token, plain ones, a read token, another user's.
	login := func(username, password string, options ...option) (token string, session int) {
		res := r.expect(200, "POST "+tokens, tokens, append([]option{basic(username, password)}, options...)...)
		token, _ = res.field("token").(string)
		id, _ := res.field("id").(float64)
		return token, int(id)
	}
	writer, _ := login("muthoni", "muthoni123", jsonBody(`{"name": "laptop"}`))
	_, endedByID := login("muthoni", "muthoni123", header("User-Agent", "TeaApp/2.1"))
	loggingOut, _ := login("muthoni", "muthoni123")
	reader, _ := login("muthoni", "muthoni123", jsonBody(`{"name": "dashboard", "scope": "read"}`))
	other, _ := login("gitau", "gitau12345")
	leaver, _ := login("amani", "amani12345") // before amani's lockout below; deletes the account at the end
	r.expect(400, "POST "+tokens, tokens, basic("muthoni", "muthoni123"), jsonBody(`{"scope": "admin"}`))
	r.expect(401, "POST "+tokens, tokens)
	r.expect(413, "POST "+tokens, tokens, basic("muthoni", "muthoni123"), jsonBody(oversized(accountBodyCap)))
	r.expect(415, "POST "+tokens, tokens, basic("muthoni", "muthoni123"), body("text/plain", "laptop"))
	for range 10 { // the limit for one account from one address
		r.expect(401, "POST "+tokens, tokens, basic("amani", "wrong-password"))
	}
	r.expect(429, "POST "+tokens, tokens, basic("amani", "amani12345"))

	// Sessions.
	r.expect(200, "GET "+tokens, tokens, bearer(writer))
	r.expect(200, "GET "+tokens, tokens, bearer(reader))
	r.expect(401, "GET "+tokens, tokens)
	r.expect(401, "GET "+tokens, tokens, bearer("tapi_000000000000000000000000000000000000000000000000000"))
	session := fmt.Sprintf("/api/tokens/%d", endedByID)
	r.expect(403, "DELETE /api/tokens/{id}", session, bearer(reader))
	r.expect(401, "DELETE /api/tokens/{id}", session)
	r.expect(204, "DELETE /api/tokens/{id}", session, bearer(writer))
	r.expect(404, "DELETE /api/tokens/{id}", session, bearer(writer))
	r.expect(400, "DELETE "+tokens, tokens+"?x=1", bearer(writer))
	r.expect(403, "DELETE "+tokens, tokens+"?others=true", bearer(reader))
	r.expect(401, "DELETE "+tokens, tokens)
	r.expect(204, "DELETE "+tokens, tokens, bearer(loggingOut))
	r.expect(401, "DELETE "+tokens, tokens, bearer(loggingOut))

	// Users.
	r.expect(200, "GET "+users, users, bearer(writer))
	r.expect(200, "GET "+users, users+"?page=2&per_page=1", bearer(reader))
	r.expect(200, "GET "+users, users+"?page=2&per_page=1&after=1", bearer(reader))
	r.expect(200, "GET "+users, users+"?per_page=500", bearer(writer))
	r.expect(400, "GET "+users, users+"?page=0", bearer(writer))
	r.expect(401, "GET "+users, users)
	r.expect(200, "GET /api/users/{id}", "/api/users/1", bearer(writer))
	r.expect(200, "GET /api/users/{id}", "/api/users/2", bearer(reader))
	r.expect(404, "GET /api/users/{id}", "/api/users/999", bearer(writer))
	r.expect(404, "GET /api/users/{id}", "/api/users/abc", bearer(writer))
	r.expect(401, "GET /api/users/{id}", "/api/users/1")
	const events = "GET /api/users/{id}/events" // the caller's own security log
	r.expect(200, events, "/api/users/1/events", bearer(writer))
	r.expect(200, events, "/api/users/1/events?page=2&per_page=2&after=3", bearer(reader))
	r.expect(400, events, "/api/users/1/events?per_page=0", bearer(writer))
	r.expect(401, events, "/api/users/1/events")
	r.expect(404, events, "/api/users/2/events", bearer(writer))
	const me = "/api/users/1"
	r.expect(200, "PUT /api/users/{id}", me, bearer(writer), jsonBody(`{"about_me": "Grows tea in Kiambu."}`))
	r.expect(200, "PUT /api/users/{id}", me, bearer(writer), jsonBody(`{"about_me": ""}`))
	r.expect(400, "PUT /api/users/{id}", me, bearer(writer), jsonBody(`{"email": "nope"}`))
	r.expect(400, "PUT /api/users/{id}", me, bearer(writer), jsonBody(`{"username": "gitau"}`))
	r.expect(400, "PUT /api/users/{id}", me, bearer(writer), jsonBody(`{"password": "new-password"}`))
	r.expect(401, "PUT /api/users/{id}", me, jsonBody(`{"about_me": "x"}`))
	r.expect(403, "PUT /api/users/{id}", "/api/users/2", bearer(writer), jsonBody(`{"about_me": "x"}`))
	r.expect(403, "PUT /api/users/{id}", me, bearer(reader), jsonBody(`{"about_me": "x"}`))
	r.expect(404, "PUT /api/users/{id}", "/api/users/abc", bearer(writer), jsonBody(`{"about_me": "x"}`))
	r.expect(413, "PUT /api/users/{id}", me, bearer(writer), jsonBody(oversized(accountBodyCap)))
	r.expect(415, "PUT /api/users/{id}", me, bearer(writer), body("", `{"about_me": "x"}`))
	wrongCurrent := jsonBody(`{"password": "new-password", "current_password": "wrong-password"}`)
	for range 10 { // the limit for current_password
		r.expect(400, "PUT /api/users/{id}", "/api/users/2", bearer(other), wrongCurrent)
	}
	r.expect(429, "PUT /api/users/{id}", "/api/users/2", bearer(other), wrongCurrent)

	// Posts.
	post := jsonBody(`{"title": "Tea", "body": "About tea.\nAnd more."}`)
	r.expect(201, "POST "+posts, posts, bearer(writer), post)                             // 1
	r.expect(201, "POST "+posts, posts, bearer(other), post)                              // 2, gitau's
	r.expect(201, "POST /api/posts/user/{id}", "/api/posts/user/1", bearer(writer), post) // 3
	r.expect(400, "POST "+posts, posts, bearer(writer), jsonBody(`{"title": "Tea"}`))
	r.expect(400, "POST "+posts, posts, bearer(writer), jsonBody(`{"title": "   ", "body": "x"}`))
	r.expect(401, "POST "+posts, posts, post)
	r.expect(403, "POST "+posts, posts, bearer(reader), post)
	r.expect(413, "POST "+posts, posts, bearer(writer), jsonBody(oversized(postBodyCap)))
	r.expect(415, "POST "+posts, posts, bearer(writer), body("application/json; charset=latin1", `{"title": "t", "body": "b"}`))
	r.expect(400, "POST /api/posts/user/{id}", "/api/posts/user/1", bearer(writer), jsonBody(`{"body": "b"}`))
	r.expect(401, "POST /api/posts/user/{id}", "/api/posts/user/1", post)
	r.expect(403, "POST /api/posts/user/{id}", "/api/posts/user/2", bearer(writer), post)
	r.expect(404, "POST /api/posts/user/{id}", "/api/posts/user/abc", bearer(writer), post)
	r.expect(413, "POST /api/posts/user/{id}", "/api/posts/user/1", bearer(writer), jsonBody(oversized(postBodyCap)))
	r.expect(415, "POST /api/posts/user/{id}", "/api/posts/user/1", bearer(writer), body("text/plain", "x"))
	r.expect(200, "GET "+posts, posts, bearer(reader))
	r.expect(200, "GET "+posts, posts+"?page=2&per_page=2", bearer(writer))
	r.expect(200, "GET "+posts, posts+"?page=9", bearer(writer))
	r.expect(400, "GET "+posts, posts+"?page=abc", bearer(writer))
	r.expect(400, "GET "+posts, posts+"?page=2&after=abc", bearer(writer))
	r.expect(401, "GET "+posts, posts)
	r.expect(200, "GET /api/posts/{id}", "/api/posts/1", bearer(writer))
	r.expect(404, "GET /api/posts/{id}", "/api/posts/999", bearer(writer))
	r.expect(401, "GET /api/posts/{id}", "/api/posts/1")
	r.expect(200, "GET /api/users/{id}/my-posts", "/api/users/1/my-posts", bearer(writer))
	r.expect(200, "GET /api/users/{id}/my-posts", "/api/users/3/my-posts?per_page=1", bearer(writer))
	r.expect(400, "GET /api/users/{id}/my-posts", "/api/users/1/my-posts?per_page=x", bearer(writer))
	r.expect(404, "GET /api/users/{id}/my-posts", "/api/users/999/my-posts", bearer(writer))
	r.expect(401, "GET /api/users/{id}/my-posts", "/api/users/1/my-posts")
	r.expect(200, "PUT /api/posts/{id}", "/api/posts/1", bearer(writer), jsonBody(`{"title": "Green tea"}`))
	r.expect(400, "PUT /api/posts/{id}", "/api/posts/1", bearer(writer), jsonBody(`{"title": ""}`))
	r.expect(401, "PUT /api/posts/{id}", "/api/posts/1", post)
	r.expect(403, "PUT /api/posts/{id}", "/api/posts/2", bearer(writer), post)
	r.expect(404, "PUT /api/posts/{id}", "/api/posts/999", bearer(writer), post)
	r.expect(413, "PUT /api/posts/{id}", "/api/posts/1", bearer(writer), jsonBody(oversized(postBodyCap)))
	r.expect(415, "PUT /api/posts/{id}", "/api/posts/1", bearer(writer), body("text/plain", "x"))
	r.expect(204, "DELETE /api/posts/{id}", "/api/posts/3", bearer(writer))
	r.expect(404, "DELETE /api/posts/{id}", "/api/posts/3", bearer(writer))
	r.expect(403, "DELETE /api/posts/{id}", "/api/posts/2", bearer(writer))
	r.expect(401, "DELETE /api/posts/{id}", "/api/posts/1")

	// Deleting an account: amani's, locked out of logins above, with the
	// token from before the lockout.
	const leaving = "/api/users/3"
	r.expect(400, "DELETE /api/users/{id}", leaving, bearer(leaver), jsonBody(`{}`))
	r.expect(400, "DELETE /api/users/{id}", leaving, bearer(leaver), jsonBody(`{"current_password": "wrong-password"}`))
	r.expect(401, "DELETE /api/users/{id}", leaving, jsonBody(`{"current_password": "amani12345"}`))
	r.expect(403, "DELETE /api/users/{id}", me, bearer(leaver), jsonBody(`{"current_password": "amani12345"}`))
	r.expect(404, "DELETE /api/users/{id}", "/api/users/abc", bearer(leaver), jsonBody(`{"current_password": "amani12345"}`))
	r.expect(413, "DELETE /api/users/{id}", leaving, bearer(leaver), jsonBody(oversized(accountBodyCap)))
	r.expect(415, "DELETE /api/users/{id}", leaving, bearer(leaver), body("text/plain", "amani12345"))
	r.expect(429, "DELETE /api/users/{id}", "/api/users/2", bearer(other), jsonBody(`{"current_password": "gitau12345"}`))
	r.expect(204, "DELETE /api/users/{id}", leaving, bearer(leaver), jsonBody(`{"current_password": "amani12345"}`))
	r.expect(401, "GET /api/users/{id}", leaving, bearer(leaver))

	// The service.
	r.expect(200, "GET /healthz", "/healthz")
	r.expect(200, "GET /api/openapi.json", "/api/openapi.json")
	r.expect(200, "GET /docs", "/docs")

	// What Prism cannot carry: JSON it cannot parse (it never answers such
	// a request), and methods and paths the document has no operation for.
	r.expectDirect(400, "POST", users, jsonBody(`{"username": `))
	r.expectDirect(400, "POST", tokens, basic("muthoni", "muthoni123"), jsonBody(`{"name": "x",}`))
	r.expectDirect(400, "PUT", me, bearer(writer), jsonBody(`{"about_me": "x"} {}`))
	r.expectDirect(400, "POST", posts, bearer(writer), jsonBody(`{"title": "t", "body": "b"`))
	r.expectDirect(400, "PUT", "/api/posts/1", bearer(writer), jsonBody(`{"title": 'single quotes'}`))
	if res := r.expectDirect(405, "PATCH", "/api/posts/1", bearer(writer)); res.header.Get("Allow") == "" {
		r.fail("PATCH /api/posts/1 = 405 without Allow")
	}
	r.expectDirect(404, "GET", "/api/comments", bearer(writer))

	// Logging out everywhere, last: it ends every token above.
	r.expect(204, "DELETE "+tokens, tokens+"?others=true", bearer(writer))
	r.expect(401, "GET "+users, users, bearer(reader))
	r.expect(204, "DELETE "+tokens, tokens+"?all=true", bearer(writer))
	r.expect(401, "GET "+users, users, bearer(writer))
}
