package main

import (
	"context"
	"fmt"
	"io"
	"net/http"

	"tokenapi/tools/client/api"
)

// The tutorial's flow, step by step, through the client that oapi-codegen
// made from openapi.json: every request is built and every answer decoded
// by generated code, so a document the generator misreads fails here.

// flow holds what the steps share.
type flow struct {
	c      *api.ClientWithResponses
	out    io.Writer
	suffix string // added to usernames, so that the flow can run again on one database
}

// account is a user the flow signed up, with the password it chose.
type account struct {
	id       api.Id
	username string
	password string
}

// runTutorial runs the flow against the server at baseURL: sign up two
// users, fail to log in without credentials, log in twice with Basic, read
// the other user with Bearer, list the sessions, revoke one by id and then
// the current one, and see the revoked token answered with 401. It returns
// the first answer that is not the one the tutorial shows.
func runTutorial(ctx context.Context, baseURL, suffix string, out io.Writer) error {
	c, err := api.NewClientWithResponses(baseURL)
	if err != nil {
		return err
	}
	f := &flow{c: c, out: out, suffix: suffix}
	muthoni, err := f.signUp(ctx, "muthoni")
	if err != nil {
		return err
	}
	gitau, err := f.signUp(ctx, "gitau")
	if err != nil {
		return err
	}
	if err := f.loginWithoutCredentials(ctx); err != nil {
		return err
	}
	laptop, err := f.login(ctx, muthoni, "laptop")
	if err != nil {
		return err
	}
	phone, err := f.login(ctx, muthoni, "phone")
	if err != nil {
		return err
	}
	if err := f.readUser(ctx, laptop.Token, gitau); err != nil {
		return err
	}
	if err := f.listSessions(ctx, laptop, phone); err != nil {
		return err
	}
	if err := f.revokeSession(ctx, laptop.Token, phone.Id); err != nil {
		return err
	}
	if err := f.logOut(ctx, laptop.Token); err != nil {
		return err
	}
	return f.seeRevoked(ctx, laptop.Token, gitau)
}

// bearer and basic put credentials on a generated request.
func bearer(token string) api.RequestEditorFn {
	return func(_ context.Context, req *http.Request) error {
		req.Header.Set("Authorization", "Bearer "+token)
		return nil
	}
}

func basic(a account) api.RequestEditorFn {
	return func(_ context.Context, req *http.Request) error {
		req.SetBasicAuth(a.username, a.password)
		return nil
	}
}

// unexpected describes an answer the flow did not want.
func unexpected(step string, got int, want int, body []byte) error {
	return fmt.Errorf("%s = %d, want %d: %s", step, got, want, body)
}

func (f *flow) signUp(ctx context.Context, name string) (account, error) {
	a := account{username: name + f.suffix, password: name + "-correct-horse"}
	password := a.password
	resp, err := f.c.CreateUserWithResponse(ctx, api.NewUser{
		Username: a.username, Email: a.username + "@example.com", Password: &password,
	})
	if err != nil {
		return a, err
	}
	if resp.JSON201 == nil {
		return a, unexpected("POST /api/users "+a.username, resp.StatusCode(), http.StatusCreated, resp.Body)
	}
	if resp.JSON201.Username != a.username || resp.JSON201.Email == nil {
		return a, fmt.Errorf("POST /api/users %s answered user %q with email %v, want its own, with its email", a.username, resp.JSON201.Username, resp.JSON201.Email)
	}
	a.id = resp.JSON201.Id
	fmt.Fprintf(f.out, "signed up %s: user %d\n", a.username, a.id)
	return a, nil
}

func (f *flow) loginWithoutCredentials(ctx context.Context) error {
	resp, err := f.c.CreateTokenWithResponse(ctx, nil, api.TokenRequest{})
	if err != nil {
		return err
	}
	if resp.JSON401 == nil {
		return unexpected("POST /api/tokens without credentials", resp.StatusCode(), http.StatusUnauthorized, resp.Body)
	}
	fmt.Fprintf(f.out, "no credentials: 401, WWW-Authenticate %s\n", resp.HTTPResponse.Header.Get("WWW-Authenticate"))
	return nil
}

func (f *flow) login(ctx context.Context, a account, device string) (*api.Token, error) {
	resp, err := f.c.CreateTokenWithResponse(ctx, nil, api.TokenRequest{Name: &device}, basic(a))
	if err != nil {
		return nil, err
	}
	if resp.JSON200 == nil {
		return nil, unexpected("POST /api/tokens as "+a.username, resp.StatusCode(), http.StatusOK, resp.Body)
	}
	if resp.JSON200.Token == "" || resp.JSON200.Scope != api.Write {
		return nil, fmt.Errorf("POST /api/tokens as %s answered scope %q and a token of %d characters, want a write token", a.username, resp.JSON200.Scope, len(resp.JSON200.Token))
	}
	fmt.Fprintf(f.out, "logged in %s with Basic: session %d (%s)\n", a.username, resp.JSON200.Id, device)
	return resp.JSON200, nil
}
