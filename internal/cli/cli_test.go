package cli

import (
	"bufio"
	"context"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/rampart-ids/rampart/internal/abuse/rdap/rdaptest"
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
		// UPDATE_SCRIPTS=1 rewrites the files a script compares with cmp.
		UpdateScripts: os.Getenv("UPDATE_SCRIPTS") != "",
		Setup: func(env *testscript.Env) error {
			// Keep the default store and config out of the user's home
			// (and, as root, out of /var/lib/rampart).
			env.Setenv("XDG_DATA_HOME", env.WorkDir+"/data")
			env.Setenv("HOME", env.WorkDir+"/home")
			env.Setenv("RAMPART_STORE", env.WorkDir+"/data/rampart/rampart.db")
			return startRegistries(env)
		},
	})
}

// startRegistries starts loopback registries for the abuse scripts: the
// fake RDAP service of rdaptest ($RDAP_BOOTSTRAP) and a whois server
// ($WHOIS_SERVER) answering a query for ADDR with the script's file
// whois/ADDR, or "no entries".
func startRegistries(env *testscript.Env) error {
	rd := rdaptest.Start()
	env.Defer(rd.Close)
	env.Setenv("RDAP_BOOTSTRAP", rd.BootstrapURL())
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	env.Defer(func() { ln.Close() })
	env.Setenv("WHOIS_SERVER", ln.Addr().String())
	dir := filepath.Join(env.WorkDir, "whois")
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer conn.Close()
				conn.SetDeadline(time.Now().Add(5 * time.Second))
				line, _ := bufio.NewReader(conn).ReadString('\n')
				fields := strings.Fields(line)
				answer := []byte("% No entries found for the selected source(s).\n")
				if len(fields) > 0 {
					if a, err := netip.ParseAddr(fields[len(fields)-1]); err == nil {
						if b, err := os.ReadFile(filepath.Join(dir, a.String())); err == nil {
							answer = b
						}
					}
				}
				conn.Write(answer)
			}()
		}
	}()
	return nil
}
