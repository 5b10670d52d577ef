// Package testenv gives tests the real engines this machine runs: a fresh,
// empty MariaDB or PostgreSQL database per test, dropped when the test ends,
// and a check for root.
//
// It is imported by tests only. It must not be imported by production code,
// must not leave databases behind, and must never skip silently in CI: when
// CI=true an unavailable engine fails the test, because a skipped integration
// test there hides a broken build.
package testenv
