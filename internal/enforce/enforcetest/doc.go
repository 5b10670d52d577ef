// Package enforcetest holds what the tests of the enforce back ends share:
// Conformance, one scenario every firewall back end must pass against real
// traffic in a netns lab, the probes it is built from, and the deterministic
// 100,000-entry sets the benchmarks load.
//
// It is for tests only (internal/archtest enforces that): production code
// must not import it. It holds no back-end-specific checks (golden dumps,
// rule counts, leftovers); those stay in each back end's tests, run through
// Conformance's extra hook.
package enforcetest
