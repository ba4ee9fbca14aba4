package main

import (
	"context"
	"fmt"
	"net/http"

	"tokenapi/tools/client/api"
)

// The flow's steps with a token: read, list, revoke, and the 401 after.

func (f *flow) readUser(ctx context.Context, token string, other account) error {
	resp, err := f.c.GetUserWithResponse(ctx, other.id, bearer(token))
	if err != nil {
		return err
	}
	if resp.JSON200 == nil {
		return unexpected(fmt.Sprintf("GET /api/users/%d", other.id), resp.StatusCode(), http.StatusOK, resp.Body)
	}
	// Another user's email is not shown: only the user's own requests see it.
	if u := resp.JSON200; u.Id != other.id || u.Username != other.username || u.Email != nil {
		return fmt.Errorf("GET /api/users/%d answered user %d %q with email %v, want %q without an email", other.id, u.Id, u.Username, u.Email, other.username)
	}
	fmt.Fprintf(f.out, "read user %d with Bearer: %s\n", other.id, resp.JSON200.Username)
	return nil
}

// listSessions wants exactly the two sessions logged in, the laptop's
// marked current because its token makes the request.
func (f *flow) listSessions(ctx context.Context, laptop, phone *api.Token) error {
	resp, err := f.c.ListSessionsWithResponse(ctx, bearer(laptop.Token))
	if err != nil {
		return err
	}
	if resp.JSON200 == nil {
		return unexpected("GET /api/tokens", resp.StatusCode(), http.StatusOK, resp.Body)
	}
	current := map[api.Id]bool{}
	for _, s := range resp.JSON200.Items {
		current[s.Id] = s.Current
	}
	if len(current) != 2 || !current[laptop.Id] || current[phone.Id] {
		return fmt.Errorf("GET /api/tokens listed %v (id: current), want %d: true and %d: false", current, laptop.Id, phone.Id)
	}
	fmt.Fprintf(f.out, "listed %d sessions\n", len(resp.JSON200.Items))
	return nil
}

func (f *flow) revokeSession(ctx context.Context, token string, id api.Id) error {
	resp, err := f.c.RevokeSessionWithResponse(ctx, id, bearer(token))
	if err != nil {
		return err
	}
	if resp.StatusCode() != http.StatusNoContent {
		return unexpected(fmt.Sprintf("DELETE /api/tokens/%d", id), resp.StatusCode(), http.StatusNoContent, resp.Body)
	}
	fmt.Fprintf(f.out, "revoked session %d\n", id)
	return nil
}

func (f *flow) logOut(ctx context.Context, token string) error {
	resp, err := f.c.RevokeTokensWithResponse(ctx, nil, bearer(token))
	if err != nil {
		return err
	}
	if resp.StatusCode() != http.StatusNoContent {
		return unexpected("DELETE /api/tokens", resp.StatusCode(), http.StatusNoContent, resp.Body)
	}
	fmt.Fprintln(f.out, "logged out")
	return nil
}

// seeRevoked wants the revoked token refused, with the error body the
// document describes.
func (f *flow) seeRevoked(ctx context.Context, token string, other account) error {
	resp, err := f.c.GetUserWithResponse(ctx, other.id, bearer(token))
	if err != nil {
		return err
	}
	if resp.JSON401 == nil || resp.JSON401.Message == nil {
		return unexpected(fmt.Sprintf("GET /api/users/%d with the revoked token", other.id), resp.StatusCode(), http.StatusUnauthorized, resp.Body)
	}
	fmt.Fprintf(f.out, "the revoked token: 401, %s\n", *resp.JSON401.Message)
	return nil
}
