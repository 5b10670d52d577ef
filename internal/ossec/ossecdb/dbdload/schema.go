package dbdload

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/rampart-ids/rampart/internal/ossec/ossecdb"
)

// Dialect is the SQL engine (ossecdb.MySQL or ossecdb.Postgres).
type Dialect = ossecdb.Dialect

// The dialects, repeated here for callers that only load.
const (
	MySQL    = ossecdb.MySQL
	Postgres = ossecdb.Postgres
)

// Version is the ossec-dbd writer whose tables and spellings to reproduce
// (ossec-formats.md §2, §3.1).
type Version int

const (
	// V28: OSSEC up to 2.8.3. alert + data, integer IPv4 columns (0 for
	// none, unparsable or IPv6), no level column: level and description
	// go to signature.
	V28 Version = iota + 1
	// V29: 2.9.x. Text IPs, '(null)' for none; MySQL src_ip/dst_ip NOT
	// NULL; location stored raw.
	V29
	// V3x: 3.x and 4.x. As 2.9, but PostgreSQL spells none 'NULL' and
	// locations are sanitised.
	V3x
	// VMaster: master after 4.2.0. SQL NULL for missing IPs, '' for a
	// missing user.
	VMaster
	// VHybrid: pre-2.9 patched builds: the 2.9+ alert columns (level,
	// user, full_log, is_hidden, tld) but integer IPs, as
	// convert-db-ipv6.sql expects (ossec-formats.md §2.2).
	VHybrid
)

func (v Version) String() string {
	switch v {
	case V28:
		return "2.8"
	case V29:
		return "2.9"
	case V3x:
		return "3.x"
	case VMaster:
		return "master"
	case VHybrid:
		return "hybrid"
	}
	return fmt.Sprintf("Version(%d)", int(v))
}

func (v Version) valid() bool { return v >= V28 && v <= VHybrid }

// textIPs: the writer stores addresses as text.
func (v Version) textIPs() bool { return v == V29 || v == V3x || v == VMaster }

// CreateSchema creates ossec-dbd's tables for the dialect and version with
// the column types, nullability, keys and indexes of ossec-formats.md §2:
// server, location, signature, category, signature_category_mapping,
// agent, alert, and data (2.8, and PostgreSQL where dbd's schema keeps it
// unused). Like OSSEC's own files, the 2.8 and PostgreSQL schemas fail on
// existing tables; MySQL 2.9+ uses IF NOT EXISTS.
func CreateSchema(ctx context.Context, db *sql.DB, d Dialect, v Version) error {
	if !v.valid() {
		return fmt.Errorf("create ossec-dbd schema: unknown version %d", int(v))
	}
	var stmts []string
	switch d {
	case MySQL:
		stmts = mysqlSchema(v)
	case Postgres:
		stmts = postgresSchema(v)
	default:
		return fmt.Errorf("create ossec-dbd schema: unknown dialect %v", d)
	}
	for _, s := range stmts {
		if _, err := db.ExecContext(ctx, s); err != nil {
			name := s
			if i := strings.Index(s, "("); i > 0 {
				name = strings.TrimSpace(s[:i])
			}
			return fmt.Errorf("create ossec-dbd %s %s schema: %s: %w", d, v, name, err)
		}
	}
	return nil
}

func mysqlSchema(v Version) []string {
	create := "CREATE TABLE IF NOT EXISTS "
	small := "INT UNSIGNED" // lookup ids
	info := "TEXT"
	agentIP := "VARCHAR(46)"
	if v == V28 || v == VHybrid {
		create = "CREATE TABLE "
	}
	if v == V28 {
		small, info, agentIP = "SMALLINT UNSIGNED", "VARCHAR(128)", "INT UNSIGNED"
	}
	s := []string{
		create + `category (
			cat_id ` + small + ` NOT NULL AUTO_INCREMENT,
			cat_name VARCHAR(32) NOT NULL UNIQUE,
			PRIMARY KEY (cat_id),
			INDEX (cat_name))`,
		create + `signature (
			id ` + small + ` NOT NULL AUTO_INCREMENT,
			rule_id MEDIUMINT UNSIGNED NOT NULL UNIQUE,
			level TINYINT UNSIGNED,
			description VARCHAR(255) NOT NULL,
			PRIMARY KEY (id),
			INDEX (level),
			INDEX (rule_id))`,
		create + `signature_category_mapping (
			id ` + small + ` NOT NULL AUTO_INCREMENT,
			rule_id MEDIUMINT UNSIGNED NOT NULL,
			cat_id SMALLINT UNSIGNED NOT NULL,
			PRIMARY KEY (id, rule_id, cat_id))`,
		create + `server (
			id SMALLINT UNSIGNED NOT NULL AUTO_INCREMENT,
			last_contact INT UNSIGNED NOT NULL,
			version VARCHAR(32) NOT NULL,
			hostname VARCHAR(64) NOT NULL UNIQUE,
			information ` + info + ` NOT NULL,
			PRIMARY KEY (id))`,
		create + `agent (
			id SMALLINT UNSIGNED NOT NULL AUTO_INCREMENT,
			server_id SMALLINT UNSIGNED NOT NULL,
			last_contact INT UNSIGNED NOT NULL,
			ip_address ` + agentIP + ` NOT NULL,
			version VARCHAR(32) NOT NULL,
			name VARCHAR(64) NOT NULL,
			information TEXT NOT NULL,
			PRIMARY KEY (id, server_id))`,
		create + `location (
			id SMALLINT UNSIGNED NOT NULL AUTO_INCREMENT,
			server_id SMALLINT UNSIGNED NOT NULL,
			name VARCHAR(128) NOT NULL,
			PRIMARY KEY (id, server_id))`,
	}
	if v == V28 {
		return append(s,
			create+`alert (
			id INT UNSIGNED NOT NULL,
			server_id SMALLINT UNSIGNED NOT NULL,
			rule_id MEDIUMINT UNSIGNED NOT NULL,
			timestamp INT UNSIGNED NOT NULL,
			location_id SMALLINT UNSIGNED NOT NULL,
			src_ip INT UNSIGNED,
			dst_ip INT UNSIGNED,
			src_port SMALLINT UNSIGNED,
			dst_port SMALLINT UNSIGNED,
			alertid TINYTEXT,
			PRIMARY KEY (id, server_id),
			INDEX time (timestamp),
			INDEX (rule_id),
			INDEX (src_ip))`,
			create+"data (\n"+`
			id INT UNSIGNED NOT NULL,
			server_id SMALLINT UNSIGNED NOT NULL,
			user TEXT NOT NULL,
			full_log TEXT NOT NULL,
			timestamp TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
			PRIMARY KEY (id, server_id),
			INDEX time (timestamp))`)
	}
	ip := "VARCHAR(46)"
	switch v {
	case V29:
		ip = "VARCHAR(46) NOT NULL" // reverted in 3.0 (d6f8a3da)
	case VHybrid:
		ip = "INT UNSIGNED"
	}
	return append(s, create+`alert (
			id INT UNSIGNED NOT NULL AUTO_INCREMENT,
			server_id SMALLINT UNSIGNED NOT NULL,
			rule_id MEDIUMINT UNSIGNED NOT NULL,
			level TINYINT UNSIGNED,
			timestamp INT UNSIGNED NOT NULL,
			location_id SMALLINT UNSIGNED NOT NULL,
			src_ip `+ip+`,
			dst_ip `+ip+`,
			src_port SMALLINT UNSIGNED,
			dst_port SMALLINT UNSIGNED,
			alertid VARCHAR(30) DEFAULT NULL,
			user TEXT NOT NULL,
			full_log TEXT NOT NULL,
			is_hidden TINYINT NOT NULL DEFAULT 0,
			tld VARCHAR(5) NOT NULL DEFAULT '',
			PRIMARY KEY (id, server_id),
			INDEX (level),
			INDEX time (timestamp),
			INDEX (rule_id),
			INDEX (src_ip),
			INDEX (alertid),
			INDEX (tld))`)
}

func postgresSchema(v Version) []string {
	s := []string{
		`CREATE TABLE category (
			cat_id SERIAL NOT NULL,
			cat_name VARCHAR(32) NOT NULL UNIQUE,
			PRIMARY KEY (cat_id))`,
		`CREATE INDEX cat_name ON category (cat_name)`,
		`CREATE TABLE signature (
			id SERIAL NOT NULL,
			rule_id INT8 NOT NULL UNIQUE,
			level INT4,
			description VARCHAR(255) NOT NULL,
			PRIMARY KEY (id))`,
		`CREATE INDEX signature_level ON signature (level)`,
		`CREATE INDEX signature_rule_id ON signature (rule_id)`,
		`CREATE TABLE signature_category_mapping (
			id SERIAL NOT NULL,
			rule_id INT8 NOT NULL,
			cat_id INT4 NOT NULL,
			PRIMARY KEY (id, rule_id, cat_id))`,
		`CREATE TABLE server (
			id SERIAL NOT NULL,
			last_contact INT8 NOT NULL,
			version VARCHAR(32) NOT NULL,
			hostname VARCHAR(64) NOT NULL UNIQUE,
			information TEXT NOT NULL,
			PRIMARY KEY (id))`,
		`CREATE TABLE agent (
			id SERIAL NOT NULL,
			server_id INT8 NOT NULL,
			last_contact INT8 NOT NULL,
			ip_address VARCHAR(46) NOT NULL,
			version VARCHAR(32) NOT NULL,
			name VARCHAR(64) NOT NULL,
			information TEXT NOT NULL,
			PRIMARY KEY (id, server_id))`,
		`CREATE TABLE location (
			id SERIAL NOT NULL,
			server_id INT8 NOT NULL,
			name VARCHAR(128) NOT NULL,
			PRIMARY KEY (id, server_id))`,
		// 2.9+ keeps data although nothing writes it (issue #1213).
		`CREATE TABLE data (
			id INT8 NOT NULL,
			server_id INT4 NOT NULL,
			"user" TEXT NOT NULL,
			full_log TEXT NOT NULL,
			PRIMARY KEY (id, server_id))`,
	}
	if v == V28 {
		return append(s,
			`CREATE TABLE alert (
			id INT8 NOT NULL,
			server_id INT4 NOT NULL,
			rule_id INT8 NOT NULL,
			timestamp INT8 NOT NULL,
			location_id INT4 NOT NULL,
			src_ip INT8,
			dst_ip INT8,
			src_port INT4,
			dst_port INT4,
			alertid TEXT DEFAULT NULL,
			PRIMARY KEY (id, server_id))`,
			`CREATE INDEX alert_time ON alert (timestamp)`,
			`CREATE INDEX alert_rule_id ON alert (rule_id)`,
			`CREATE INDEX alert_src_ip ON alert (src_ip)`)
	}
	ip := "VARCHAR(46)"
	if v == VHybrid {
		ip = "INT8"
	}
	return append(s,
		`CREATE TABLE alert (
			id BIGSERIAL NOT NULL,
			server_id INT4 NOT NULL,
			rule_id INT8 NOT NULL,
			level INT2,
			timestamp INT8 NOT NULL,
			location_id INT4 NOT NULL,
			src_ip `+ip+`,
			dst_ip `+ip+`,
			src_port INT4,
			dst_port INT4,
			alertid TEXT DEFAULT NULL,
			"user" TEXT,
			full_log TEXT NOT NULL,
			is_hidden INT2 NOT NULL DEFAULT 0,
			tld VARCHAR(32) NOT NULL DEFAULT '',
			PRIMARY KEY (id, server_id))`,
		`CREATE INDEX alert_level ON alert (level)`,
		`CREATE INDEX alert_time ON alert (timestamp)`,
		`CREATE INDEX alert_rule_id ON alert (rule_id)`,
		`CREATE INDEX alert_src_ip ON alert (src_ip)`,
		`CREATE INDEX alert_alertid ON alert (alertid)`,
		`CREATE INDEX alert_tld ON alert (tld)`)
}
