// Package rules reads OSSEC rules files (/var/ossec/rules/*.xml,
// local_rules.xml) to name rules: id, level, description and groups. OSSEC
// stopped filling ossec-dbd's signature table in 2.9, so these files are
// where a rule's name comes from.
//
// A rules file is several top-level <group> elements, possibly with <var>
// definitions, and not one well-formed document. Reading is best effort: a
// malformed element is reported with file, line and the quoted line, and the
// rest still loads.
//
// It is a pure parser over the standard library: it must not evaluate rules
// (match, regex, frequency) or write to the rules directory.
package rules
