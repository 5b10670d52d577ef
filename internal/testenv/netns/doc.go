// Package netns is a lab of Linux network namespaces for tests: a protected
// host (Front) and an attacker side (Client) joined by a veth pair, a TCP
// server in Front, and dials from chosen client source addresses, so that
// countermeasures can be checked against real traffic.
//
// It is imported by tests only. Traffic stays between the lab's two
// namespaces: nothing is routed to the host's own namespace or beyond, and
// the addresses used inside the lab are never destinations elsewhere. It needs
// root and the ip(8) command; without them New skips the test, or fails it
// when CI=true, because a skipped integration test in CI hides a broken build.
// It must not leave namespaces behind.
package netns
