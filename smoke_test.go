package main

import "testing"

func TestSmoke(t *testing.T) {
	ts := newTestServer(t)
	id, token := ts.newUser(t, "muthoni")
	res := ts.call(t, "GET", "/api/users/1", token, "")
	wantStatus(t, "GET /api/users/1", res, 200)
	if got := int64(res.object(t)["id"].(float64)); got != id {
		t.Fatalf("id = %d, want %d", got, id)
	}
}
