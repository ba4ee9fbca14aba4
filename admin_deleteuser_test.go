package main

import (
	"fmt"
	"net/http"
	"testing"
)

// An operator deletes a user who cannot do it themself: the user's tokens
// stop working on the running server, their posts are gone, another
// user's stay, and the command says what went with the account.
func TestAdminDeleteUser(t *testing.T) {
	t.Parallel()
	p, dir := startAdminServer(t)
	p.createUser(t, "amara", "amara-password")
	p.createUser(t, "kofi", "kofi-password")
	token, other := p.login(t, "amara", "amara-password"), p.login(t, "kofi", "kofi-password")
	p.createPost(t, token, "one", "a")
	p.createPost(t, token, "two", "b")
	kept := p.createPost(t, other, "kofi's", "c")
	wantWorks(t, p, token, "before the delete") // now in the server's cache

	if out := runOK(t, dir, "", "delete-user", "amara"); out != "deleted user amara (id 1) with 2 posts and 1 live session\n" {
		t.Errorf("delete-user amara printed %q", out)
	}
	waitRefused(t, p, token, "the deleted user's session")
	wantWorks(t, p, other, "kofi's session")
	wantStatus(t, "kofi's post", p.call(t, "GET", fmt.Sprintf("/api/posts/%d", kept), other, ""), http.StatusOK)
	res := p.call(t, "GET", "/api/posts", other, "")
	if got := len(res.object(t)["items"].([]any)); got != 1 {
		t.Errorf("posts after the delete = %d, want kofi's 1", got)
	}

	_, stderr, code := runProgram(t, dir, "", "-db", "tokenapi.db", "delete-user", "amara")
	if want := "tokenapi: no user named \"amara\"\n"; code != 1 || stderr != want {
		t.Errorf("delete-user amara again: exit code %d, stderr %q; want 1 and %q", code, stderr, want)
	}
	if out := runOK(t, dir, "", "delete-user", "-json", "kofi"); out != "{\n  \"id\": 2,\n  \"username\": \"kofi\",\n  \"posts\": 1,\n  \"sessions\": 1\n}\n" {
		t.Errorf("delete-user -json kofi printed %q", out)
	}
}

// With the server's mail settings, delete-user queues the mail a deletion
// sends to a verified address, and the running server sends it.
func TestAdminDeleteUserMail(t *testing.T) {
	t.Parallel()
	sink := startSMTPSink(t)
	dir := t.TempDir()
	mail := []string{"-smtp-url", sink.url(""), "-mail-from", "noreply@blog.example"}
	p := startProgram(t, dir, append([]string{"-addr", "127.0.0.1:0", "-db", "tokenapi.db"}, mail...), cheapPasswords)
	p.createUser(t, "amara", "amara-password")
	code := sink.waitMailsAbout(t, "Your email verification code", 1)[0].token(t)
	wantStatus(t, "confirm", p.call(t, "POST", "/api/email-verification/confirm", "", `{"token": "`+code+`"}`), http.StatusNoContent)

	runOK(t, dir, "", append(mail, "delete-user", "amara")...)
	mails := sink.waitMailsAbout(t, "Your account was deleted", 1)
	if mails[0].to != "amara@example.com" {
		t.Errorf("the deletion mail went to %q, want amara@example.com", mails[0].to)
	}
}
