package cli

import (
	"context"
	"os"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"
)

func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"rampart": func() {
			os.Exit(Main(context.Background(), os.Args[1:], Stdio{In: os.Stdin, Out: os.Stdout, Err: os.Stderr}))
		},
	})
}

// TestScripts runs the txtar scripts under testdata/script: each runs the
// real rampart entry point and checks stdout, stderr and the exit code.
func TestScripts(t *testing.T) {
	testscript.Run(t, testscript.Params{
		Dir: "testdata/script",
		Setup: func(env *testscript.Env) error {
			// Keep the default store and config out of the user's home.
			env.Setenv("XDG_DATA_HOME", env.WorkDir+"/data")
			env.Setenv("HOME", env.WorkDir+"/home")
			return nil
		},
	})
}
