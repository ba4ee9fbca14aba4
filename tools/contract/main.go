// Command contract holds tokenapi to its OpenAPI document with real
// traffic. It starts the built server and Stoplight Prism's validating
// proxy in front of it, sends requests through Prism that reach every
// operation of the document and every status each lists, and fails when
// Prism finds a response that departs from the document, when a request
// does not get the status it was sent for, or when a documented answer
// was never reached (but those it excuses, each with its reason).
//
// Given -examples, it then runs every executable script there with
// TOKENAPI_URL pointing at Prism, on a fresh database, so the examples'
// traffic is held to the document too.
//
// It is a module of its own (standard library only), like tools/loadtest,
// and run from the repository root by .ci/openapi-check:
//
//	go -C tools/contract run . -binary /abs/tokenapi -spec /abs/openapi.json [-examples /abs/examples]
package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"time"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintf(os.Stderr, "contract: %v\n", err)
		os.Exit(1)
	}
}

type options struct {
	binary, spec, examples, prism string
	burst                         int
	verbose                       bool
}

func run(args []string) error {
	var o options
	fs := flag.NewFlagSet("contract", flag.ContinueOnError)
	fs.StringVar(&o.binary, "binary", "", "the tokenapi binary to hold to the document (required)")
	fs.StringVar(&o.spec, "spec", "openapi.json", "the OpenAPI document")
	fs.StringVar(&o.examples, "examples", "", "a folder of example scripts to run through Prism as well, if it exists")
	fs.StringVar(&o.prism, "prism", "npx --yes @stoplight/prism-cli@5.16.0", "the command that runs Prism")
	fs.IntVar(&o.burst, "burst", 24, "sign-ups sent at once to bring about a 503")
	fs.BoolVar(&o.verbose, "v", false, "print every request and its status")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if o.binary == "" {
		return errors.New("-binary is required")
	}
	for _, p := range []*string{&o.binary, &o.spec} {
		abs, err := filepath.Abs(*p)
		if err != nil {
			return err
		}
		*p = abs
	}
	dir, err := os.MkdirTemp("", "contract")
	if err != nil {
		return err
	}
	if err := contract(o, dir); err != nil {
		return fmt.Errorf("%w (the logs are kept in %s)", err, dir)
	}
	return os.RemoveAll(dir)
}

// contract is the whole run; dir holds its databases and logs.
func contract(o options, dir string) (err error) {
	documented, err := documentedAnswers(o.spec)
	if err != nil {
		return err
	}
	serverPort, err := freePort()
	if err != nil {
		return err
	}
	prismPort, err := freePort()
	if err != nil {
		return err
	}
	serverURL, prismURL := "http://127.0.0.1:"+serverPort, "http://127.0.0.1:"+prismPort
	serverLog := filepath.Join(dir, "server.log")

	// The server sits behind Prism on a fixed port, restarted there for
	// each part of the run; Prism does not mind.
	var server *process
	serve := func(db string, iterations int, args []string, env ...string) error {
		if server != nil {
			server.stop()
		}
		cmd := exec.Command(o.binary, append([]string{"-addr", "127.0.0.1:" + serverPort, "-db", filepath.Join(dir, db),
			"-password-iterations", fmt.Sprint(iterations)}, args...)...)
		cmd.Env = append(os.Environ(), env...)
		if server, err = start("tokenapi", cmd, serverLog); err != nil {
			return err
		}
		return server.waitReady(serverURL+"/healthz", 60*time.Second)
	}
	defer func() {
		if server != nil {
			server.stop()
		}
	}()
	// The main run's server sends its mail to a sink of the run's own.
	sink, err := startSMTPSink()
	if err != nil {
		return err
	}
	defer sink.close()
	mailArgs := []string{"-smtp-url", "smtp://" + sink.addr(), "-mail-from", "contract@example.com"}
	if err := serve("contract.db", 1000, mailArgs); err != nil {
		return withLog(err, serverLog)
	}

	prismLog := filepath.Join(dir, "prism.log")
	prismCmd := exec.Command("sh", "-c", fmt.Sprintf("exec %s proxy %s %s --errors=false --cors=false -h 127.0.0.1 -p %s",
		o.prism, shellQuote(o.spec), serverURL, prismPort))
	prism, err := start("prism", prismCmd, prismLog)
	if err != nil {
		return err
	}
	defer prism.stop()
	// The first npx run downloads Prism.
	if err := prism.waitReady(prismURL+"/healthz", 5*time.Minute); err != nil {
		return withLog(err, prismLog)
	}

	r := newRunner(prismURL, serverURL, o.verbose)
	excuses := excused(documented)
	contractTraffic(r)
	mailTraffic(r, sink)
	totpTraffic(r, o.binary)
	verificationTraffic(r, sink)
	databaseStalledTraffic(r, filepath.Join(dir, "contract.db-shm"))
	if err := serve("verified.db", 1000, append(mailArgs, "-require-verified-email")); err != nil {
		return withLog(err, serverLog)
	}
	requireVerifiedTraffic(r, sink)

	var exampleErrs []string
	if scripts := exampleScripts(o.examples); len(scripts) > 0 {
		if err := serve("examples.db", 1000, mailArgs); err != nil {
			return withLog(err, serverLog)
		}
		exampleErrs = runExamples(scripts, prismURL, o.binary, dir)
	}

	// Slow hashes, and few cores so the bound on waiting sign-ups is the
	// same on any machine.
	if err := serve("busy.db", 5_000_000, nil, "GOMAXPROCS=2"); err != nil {
		return withLog(err, serverLog)
	}
	mailNotConfiguredTraffic(r) // this server has no -smtp-url
	accounts := passwordBusyTraffic(r, o.burst)
	passwordChecksBusyTraffic(r, accounts)
	server.stop()
	server = nil
	prism.stop()

	return report(r, documented, excuses, exampleErrs, prismLog)
}
