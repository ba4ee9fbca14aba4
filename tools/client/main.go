// Command client runs the Flask tutorial's flow against a tokenapi server
// with a Go client generated from the root openapi.json by oapi-codegen
// (package api, made by generate.sh and committed). It exits non-zero on
// the first answer the tutorial does not show:
//
//	go -C tools/client run . -url http://localhost:5000
//
// Its test builds the server from the repository root and runs the flow
// against it. CI also regenerates the client and fails if that changes it.
package main

//go:generate ./generate.sh

import (
	"context"
	"crypto/rand"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "client:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("client", flag.ContinueOnError)
	fs.SetOutput(stderr)
	url := fs.String("url", "http://localhost:5000", "the server's base URL")
	// A fresh suffix by default, so that the flow can run again against the
	// same database; -suffix= gives the tutorial's own names.
	suffix := fs.String("suffix", "_"+rand.Text()[:6], "added to the usernames")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if err := runTutorial(ctx, *url, *suffix, stdout); err != nil {
		return err
	}
	fmt.Fprintln(stdout, "the tutorial's flow: every answer as expected")
	return nil
}
