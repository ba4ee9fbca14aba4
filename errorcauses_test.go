package main

import (
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"os"
	"slices"
	"strings"
	"testing"
)

// Each operation's 400 in openapi.json lists only the causes that can
// happen on it: its description says them in words, and its examples,
// one per cause, show a real message of each. These tests drive every
// operation with bad requests, sort the messages its handler answers into
// causes, and hold the document to them both ways: every cause the
// handler produces is documented, and every documented cause is one the
// handler produced here.

// badRequest400 is one request that its operation must answer with 400.
type badRequest400 struct {
	op, method, path, body string
	auth                   func(*http.Request)
}

// causeOf sorts a 400's message into the cause the document names it by:
// "json" for a body that is not one JSON object of strings, "taken" for a
// username or email in use, "query" for revoke's query, "verified" for a
// code asked for an email verified already, "otp" for a step that wants
// a code in X-OTP and found none, and otherwise the field or query
// parameter the message names.
func causeOf(message string) string {
	switch {
	case strings.HasPrefix(message, "request body"), strings.HasSuffix(message, " must be a string"):
		return "json"
	case strings.Contains(message, " is already "):
		return "taken"
	case strings.HasPrefix(message, "the query may be"):
		return "query"
	case strings.HasPrefix(message, "your email is verified already"):
		return "verified"
	case strings.HasPrefix(message, "this account has two-step login on"):
		return "otp"
	case strings.HasPrefix(message, "field "):
		return strings.Fields(message)[1]
	}
	if name, _, ok := strings.Cut(message, " must be a positive integer"); ok {
		return name
	}
	return message // no cause the document knows: the test says so
}

// causePhrase is what an operation's 400 description says for a cause.
func causePhrase(cause string) string {
	switch cause {
	case "json":
		return "JSON"
	case "taken":
		return "already taken"
	case "query":
		return "`others=true`"
	case "verified":
		return "verified already"
	case "otp":
		return "`X-OTP`"
	}
	return "`" + cause + "`"
}

// fixture400 is what the bad requests need: muthoni, who holds token and
// wrote the post postID, and gitau, who has verified the email, turned
// TOTP on, holds gitauToken and was mailed the reset code resetToken.
type fixture400 struct {
	token, gitauToken, resetToken string
	muthoniID, postID, gitauID    int64
}

// requests400 collects bad requests.
type requests400 []badRequest400

// add adds a request of op for each body.
func (rs *requests400) add(op, method, path string, auth func(*http.Request), bodies ...string) {
	for _, body := range bodies {
		*rs = append(*rs, badRequest400{op: op, method: method, path: path, body: body, auth: auth})
	}
}

// badRequests400 are the bad requests of every operation that has a 400.
func badRequests400(f fixture400) []badRequest400 {
	var rs requests400
	accountRequests400(&rs, f)
	contentRequests400(&rs, f)
	mailAndCodeRequests400(&rs, f)
	return rs
}

// accountRequests400: logging in and out, users, TOTP. A current_password
// or code too long to be right is wrong without a hash or a look, and
// without counting against the throttle.
func accountRequests400(rs *requests400, f fixture400) {
	b := bearer(f.token)
	user := fmt.Sprintf("/api/users/%d", f.muthoniID)
	fresh := func(field, value string) string { // a new user, one field bad
		u := map[string]string{"username": "wanjiru", "email": "wanjiru@example.com", "password": "wanjiru-password"}
		u[field] = value
		data, _ := json.Marshal(u)
		return string(data)
	}
	tooLongPassword := `"` + strings.Repeat("p", 5000) + `"`
	tooLongCode := `"` + strings.Repeat("1", 40) + `"`
	rs.add("createToken", "POST", "/api/tokens", basic("muthoni", "muthoni-password"),
		`{"name":`, `[]`, `{"name": 5}`, `{"name": ""}`, `{"scope": "admin"}`)
	rs.add("revokeTokens", "DELETE", "/api/tokens?others=yes", b, "")
	rs.add("revokeTokens", "DELETE", "/api/tokens?others=true&all=true", b, "")
	rs.add("createUser", "POST", "/api/users", nil, `{"username":`, `{"username": 5}`, fresh("username", "a b"),
		fresh("email", "nope"), fresh("password", "short"), fresh("about_me", "\u0001"),
		fresh("username", "muthoni"), fresh("email", "gitau@example.com"))
	rs.add("updateUser", "PUT", user, b, `{"username":`, `{"email": 5}`, `{"username": "a b"}`, `{"email": "nope"}`,
		`{"about_me": "\u0001"}`, `{"password": "short"}`, `{"password": "a-new-password"}`,
		`{"password": "a-new-password", "current_password": "not-the-password"}`,
		`{"username": "gitau"}`, `{"email": "gitau@example.com"}`)
	rs.add("deleteUser", "DELETE", user, b, `{"current_password":`, `{}`, `{"current_password": `+tooLongPassword+`}`)
	// Muthoni has no TOTP: each of these fails its checks before that matters.
	rs.add("enrolTOTP", "POST", user+"/totp", b, `{"current_password":`, `{}`, `{"current_password": `+tooLongPassword+`}`)
	rs.add("confirmTOTP", "POST", user+"/totp/confirm", b, `{"code":`, `{}`, `{"code": ""}`, `{"code": `+tooLongCode+`}`)
	rs.add("disableTOTP", "DELETE", user+"/totp", b, `{"code":`, `{"code": "123456"}`,
		`{"current_password": "x"}`, `{"current_password": "x", "code": `+tooLongCode+`}`)
	rs.add("replaceRecoveryCodes", "POST", user+"/totp/recovery-codes", b, `{"code":`, `{}`, `{"code": `+tooLongCode+`}`)
}

// contentRequests400: pages and posts.
func contentRequests400(rs *requests400, f fixture400) {
	b := bearer(f.token)
	user := fmt.Sprintf("/api/users/%d", f.muthoniID)
	for _, list := range []struct{ op, path string }{
		{"listUsers", "/api/users"}, {"listPosts", "/api/posts"},
		{"listUserPosts", user + "/my-posts"}, {"listUserEvents", user + "/events"},
	} {
		for _, query := range []string{"page=0", "per_page=x", "after=-1"} {
			rs.add(list.op, "GET", list.path+"?"+query, b, "")
		}
	}
	rs.add("createPost", "POST", "/api/posts", b, `{"title":`, `{"title": 5}`, `{"body": "b"}`, `{"title": "t"}`,
		`{"title": "`+strings.Repeat("t", 101)+`", "body": "b"}`, `{"title": "t", "body": " "}`)
	rs.add("updatePost", "PUT", fmt.Sprintf("/api/posts/%d", f.postID), b, `{"title":`, `{"title": ""}`, `{"body": "\u0000"}`)
	rs.add("createPostForUser", "POST", fmt.Sprintf("/api/posts/user/%d", f.muthoniID), b, `{"title":`, `{"body": "b"}`, `{"title": "t"}`)
}

// mailAndCodeRequests400: verification and reset codes, and gitau's
// second step: with TOTP on, the right password (or reset code) without a
// code in X-OTP, and with a wrong one.
func mailAndCodeRequests400(rs *requests400, f fixture400) {
	gitau := fmt.Sprintf("/api/users/%d", f.gitauID)
	// No code of gitau's: not six digits, and not one of the recovery
	// codes (80 random bits each).
	wrongCode := withHeader(otpHeader, "aaaa-aaaa-aaaa-aaaa")
	gitauWithWrongCode := func(r *http.Request) { bearer(f.gitauToken)(r); wrongCode(r) }
	wellFormedReset := formatTokenWith(resetTokenPrefix, make([]byte, 32))
	rs.add("sendEmailVerification", "POST", gitau+"/email-verification", bearer(f.gitauToken), "")
	rs.add("confirmEmailVerification", "POST", "/api/email-verification/confirm", nil, `{"token":`, `{}`, `{"token": "tapv_x"}`)
	gitauPassword := `{"current_password": "gitau-password"}`
	rs.add("deleteUser", "DELETE", gitau, bearer(f.gitauToken), gitauPassword)
	rs.add("deleteUser", "DELETE", gitau, gitauWithWrongCode, gitauPassword)
	rs.add("requestPasswordReset", "POST", "/api/password-reset", nil, `{"email":`, `{}`, `{"email": "nope"}`)
	reset := `{"token": "` + f.resetToken + `", "password": "a-new-password"}`
	rs.add("confirmPasswordReset", "POST", "/api/password-reset/confirm", nil, `{"token":`, `{}`,
		`{"token": "tapr_nope", "password": "a-new-password"}`,
		`{"token": "`+wellFormedReset+`", "password": "a-new-password"}`,
		`{"token": "`+wellFormedReset+`", "password": "short"}`, reset)
	rs.add("confirmPasswordReset", "POST", "/api/password-reset/confirm", wrongCode, reset)
}

// observed400s drives every bad request and returns, per operation, the
// messages answered for each cause. Each must be a 400 that changes
// nothing.
func observed400s(t *testing.T) map[string]map[string][]string {
	t.Helper()
	sink := startSMTPSink(t)
	ts := newMailTestServer(t, sink)
	var f fixture400
	f.gitauID, f.gitauToken = ts.newVerifiedUser(t, sink, "gitau", 1)
	turnTOTPOn(t, ts, f.gitauID, f.gitauToken, "gitau-password")
	ts.requestReset(t, "gitau@example.com")
	f.resetToken = sink.waitMailsAbout(t, resetMailSubject, 1)[0].token(t)
	f.muthoniID = ts.createUser(t, "muthoni", "muthoni-password")
	f.token = ts.login(t, "muthoni", "muthoni-password")
	f.postID = ts.createPost(t, f.token, "Habari", "The first post.")
	before := fmt.Sprint(ts.count(t, "users"), ts.count(t, "posts"), ts.count(t, "tokens"))

	observed := map[string]map[string][]string{}
	for _, r := range badRequests400(f) {
		var with []func(*http.Request)
		if r.auth != nil {
			with = append(with, r.auth)
		}
		what := fmt.Sprintf("%s (%s %s %s)", r.op, r.method, r.path, r.body)
		res := ts.callWith(t, r.method, r.path, r.body, with...)
		wantStatus(t, what, res, http.StatusBadRequest)
		message, _ := res.object(t)["message"].(string)
		cause := causeOf(message)
		if observed[r.op] == nil {
			observed[r.op] = map[string][]string{}
		}
		observed[r.op][cause] = append(observed[r.op][cause], message)
	}
	if after := fmt.Sprint(ts.count(t, "users"), ts.count(t, "posts"), ts.count(t, "tokens")); after != before {
		t.Errorf("users, posts, tokens = %s after the bad requests, want %s as before", after, before)
	}
	return observed
}

// documented400 is an operation's 400 as openapi.json says it.
type documented400 struct {
	description string
	examples    map[string]string // cause: message
}

// documented400s reads every operation's 400 from openapi.json, by
// operationId, its $ref to a shared response followed.
func documented400s(t *testing.T) map[string]documented400 {
	t.Helper()
	data, err := os.ReadFile("openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	type response struct {
		Ref         string `json:"$ref"`
		Description string
		Content     map[string]struct {
			Examples map[string]struct{ Value struct{ Message string } }
		}
	}
	var doc struct {
		Paths      map[string]map[string]json.RawMessage
		Components struct{ Responses map[string]response }
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	documented := map[string]documented400{}
	for _, item := range doc.Paths {
		for method, raw := range item {
			if !slices.Contains(openAPIMethods, method) {
				continue
			}
			var op struct {
				OperationID string
				Responses   map[string]response
			}
			if err := json.Unmarshal(raw, &op); err != nil {
				t.Fatal(err)
			}
			r, ok := op.Responses["400"]
			if !ok {
				continue
			}
			if name, isRef := strings.CutPrefix(r.Ref, "#/components/responses/"); isRef {
				r = doc.Components.Responses[name]
			}
			d := documented400{description: r.Description, examples: map[string]string{}}
			for cause, ex := range r.Content["application/json"].Examples {
				d.examples[cause] = ex.Value.Message
			}
			documented[op.OperationID] = d
		}
	}
	return documented
}

// TestDocumented400Causes holds each operation's documented 400 causes to
// the ones its handler produces.
func TestDocumented400Causes(t *testing.T) {
	observed := observed400s(t)
	documented := documented400s(t)
	if got, want := slices.Sorted(maps.Keys(observed)), slices.Sorted(maps.Keys(documented)); !slices.Equal(got, want) {
		t.Fatalf("operations driven to a 400 = %q, want those documenting one: %q\n"+
			"(a new operation with a 400: add its bad requests to badRequests400, and give it a 400 of its own that lists its causes)", got, want)
	}
	allCauses := map[string]bool{}
	for _, causes := range observed {
		for cause := range causes {
			allCauses[cause] = true
		}
	}
	for op, causes := range observed {
		doc := documented[op]
		got, want := slices.Sorted(maps.Keys(doc.examples)), slices.Sorted(maps.Keys(causes))
		if !slices.Equal(got, want) {
			t.Errorf("%s: the document's 400 examples name the causes %q; its handler produces %q", op, got, want)
		}
		for cause, message := range doc.examples {
			if messages := causes[cause]; len(messages) > 0 && !slices.Contains(messages, message) {
				t.Errorf("%s: example %q says %q; the handler says %q", op, cause, message, messages)
			}
		}
		for cause := range allCauses {
			says := strings.Contains(doc.description, causePhrase(cause))
			if can := len(causes[cause]) > 0; says != can {
				t.Errorf("%s: the 400 description mentions %s: %v, want %v (the handler produces that cause: %v):\n%s",
					op, causePhrase(cause), says, can, can, doc.description)
			}
		}
	}
}
