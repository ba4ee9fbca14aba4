package main

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// takeAllSlots occupies every slot of h, the spare one too, until the
// function it returns frees them.
func takeAllSlots(h *hashSlots) (free func()) {
	for range cap(h.regular) {
		h.regular <- struct{}{}
	}
	if h.spare != nil {
		h.spare <- struct{}{}
	}
	return func() {
		for range cap(h.regular) {
			<-h.regular
		}
		if h.spare != nil {
			<-h.spare
		}
	}
}

// Hashes get every core while nothing else runs, and leave one core to the
// other requests while they come in.
func TestPasswordSpareSlot(t *testing.T) {
	h := newHashSlots(2)
	h.maxWait = 20 * time.Millisecond
	ctx := context.Background()

	first, err := h.acquire(ctx)
	if err != nil {
		t.Fatalf("first slot: %v", err)
	}
	second, err := h.acquire(ctx)
	if err != nil {
		t.Fatalf("second slot while nothing else runs: %v, want the spare slot", err)
	}
	second()

	h.noteOtherWork()
	if _, err := h.acquire(ctx); !errors.Is(err, errPasswordBusy) {
		t.Fatalf("second slot right after another request = %v, want errPasswordBusy", err)
	}
	// Once the other requests have stopped for a while, the spare slot opens
	// for a hash that is already waiting.
	h.maxWait = 10 * time.Second
	if err := returnsWithin(t, "acquire once quiet", func() error {
		release, err := h.acquire(ctx)
		if err == nil {
			release()
		}
		return err
	}); err != nil {
		t.Errorf("second slot once quiet = %v, want it", err)
	}
	first()

	if one := newHashSlots(1); one.spare != nil || cap(one.regular) != 1 {
		t.Errorf("on one core: %d slots and spare %v, want 1 and none", cap(one.regular), one.spare)
	}
}

// Only requests with a bearer token close the spare slot: logins and
// sign-ups are the hashes themselves.
func TestShareCoresNotesTokenRequests(t *testing.T) {
	tests := []struct {
		authorization string
		closes        bool
	}{
		{"", false},
		{"Basic " + b64("muthoni:secret"), false},
		{"Bearer abc", true},
		{"bearer abc", true},
	}
	for _, tc := range tests {
		h := newHashSlots(2)
		handler := h.shareCores(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
		req := httptest.NewRequest("GET", "/api/users", nil)
		if tc.authorization != "" {
			req.Header.Set("Authorization", tc.authorization)
		}
		handler.ServeHTTP(httptest.NewRecorder(), req)
		if closed := !h.quiet(); closed != tc.closes {
			t.Errorf("after a request with Authorization %q: spare slot closed = %v, want %v", tc.authorization, closed, tc.closes)
		}
	}
}
