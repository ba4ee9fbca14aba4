package main

import (
	"os"
	"testing"
)

// The test binary is also the program: started with childEnv=1 it runs as
// main does, so that tests can start it, signal it, kill it and read its
// exit code and stderr like those of the real binary (see startProgram).
const (
	childEnv = "TOKENAPI_TEST_CHILD"
	// childIterationsEnv sets the PBKDF2 cost of a program, for tests that
	// create many users (see cheapPasswords).
	childIterationsEnv = "TOKENAPI_PASSWORD_ITERATIONS"
)

func TestMain(m *testing.M) {
	if os.Getenv(childEnv) == "1" {
		main()
		os.Exit(0)
	}
	code := m.Run()
	ownCluster.stop()
	os.Exit(code)
}
