// Package ossecconf reads the parts of OSSEC's ossec.conf that decide active
// response: the <command> and <active-response> blocks, execd's
// repeated_offenders ladder and the <global> settings that change what
// Rampart can read (white_list, jsonout_output, custom_alert_output).
//
// It follows OSSEC's own readers (src/config/active-response.c,
// src/os_execd/config.c, src/analysisd/rules.c) where they differ from a
// naive reading, and it is best effort: a malformed element is reported with
// file, line and the quoted line, and the rest of the file still loads.
//
// It is a pure parser over the standard library: it must not write to
// ossec.conf, run OSSEC's commands, or treat any address in the file as a
// destination.
package ossecconf
