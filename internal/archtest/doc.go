// Package archtest holds no code: its test checks that package dependencies
// follow the house rules (domain packages stay pure, readers never import the
// store, only internal/cli imports the CLI library).
package archtest
