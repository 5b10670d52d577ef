package ossecdb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
)

// Dialect is the SQL engine a database runs on. The zero Dialect is unknown.
type Dialect uint8

const (
	MySQL    Dialect = iota + 1 // MySQL or MariaDB
	Postgres                    // PostgreSQL
)

func (d Dialect) String() string {
	switch d {
	case MySQL:
		return "mysql"
	case Postgres:
		return "postgres"
	}
	return "unknown"
}

// DefaultConnectTimeout bounds connecting and the first ping, so a wrong
// host or a firewall that drops packets fails in seconds, not minutes.
const DefaultConnectTimeout = 5 * time.Second

// Config is a parsed DSN.
type Config struct {
	Dialect  Dialect
	Host     string // name or address, without port ("localhost" if absent); unused with Socket
	Port     int
	User     string
	Password string
	Database string
	// Socket is a MySQL unix socket path (DSN parameter "socket"), used
	// instead of Host and Port, as ossec-dbd's <socket> does.
	Socket string
	// Params are the remaining DSN parameters, passed to the driver.
	Params url.Values
	// ConnectTimeout bounds the connection and first ping (DSN parameter
	// "connect_timeout" in seconds; default DefaultConnectTimeout).
	ConnectTimeout time.Duration
}

// redacted is what a password is replaced with wherever a DSN is printed.
const redacted = "xxxxx"

// ParseDSN parses "mysql://user:pass@host:port/db?params" (also mariadb://)
// and "postgres://..." or "postgresql://...". Errors quote the DSN with its
// password replaced by "xxxxx".
func ParseDSN(dsn string) (Config, error) {
	fail := func(reason string) (Config, error) {
		return Config{}, fmt.Errorf("parse database DSN %q: %s", RedactDSN(dsn), reason)
	}
	u, err := url.Parse(dsn)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // url.Error repeats the unredacted input
		}
		return fail(strings.ReplaceAll(err.Error(), dsn, RedactDSN(dsn)))
	}
	var c Config
	switch strings.ToLower(u.Scheme) {
	case "mysql", "mariadb":
		c.Dialect, c.Port = MySQL, 3306
	case "postgres", "postgresql":
		c.Dialect, c.Port = Postgres, 5432
	case "":
		return fail(`no scheme: want mysql://, mariadb://, postgres:// or postgresql://`)
	default:
		return fail(fmt.Sprintf("unknown scheme %q: want mysql, mariadb, postgres or postgresql", u.Scheme))
	}
	if u.Opaque != "" {
		return fail(`want "scheme://user:pass@host:port/db"`)
	}
	c.Host = u.Hostname()
	if strings.Contains(c.Host, ":") {
		if _, err := netip.ParseAddr(c.Host); err != nil {
			return fail(fmt.Sprintf("host %q: not an IPv6 address", c.Host))
		}
	}
	if p := u.Port(); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > 65535 {
			return fail(fmt.Sprintf("port %q: want 1 to 65535", p))
		}
		c.Port = n
	}
	if u.User != nil {
		c.User = u.User.Username()
		c.Password, _ = u.User.Password()
	}
	c.Database = strings.TrimPrefix(u.Path, "/")
	if c.Database == "" || strings.Contains(c.Database, "/") {
		return fail(fmt.Sprintf("database name %q: want one path element, e.g. /ossec", c.Database))
	}
	c.Params = u.Query()
	c.ConnectTimeout = DefaultConnectTimeout
	if v := c.Params.Get("connect_timeout"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return fail(fmt.Sprintf("connect_timeout %q: want whole seconds > 0", v))
		}
		c.ConnectTimeout = time.Duration(n) * time.Second
		c.Params.Del("connect_timeout")
	}
	if c.Dialect == MySQL {
		if s := c.Params.Get("socket"); s != "" {
			c.Socket = s
			c.Params.Del("socket")
		}
	}
	if c.Host == "" {
		c.Host = "localhost"
	}
	if _, err := c.connector(); err != nil {
		return fail(c.scrub(err.Error()))
	}
	return c, nil
}

// String returns the DSN with the password replaced by "xxxxx".
func (c Config) String() string {
	u := url.URL{Scheme: c.Dialect.String(), Path: "/" + c.Database}
	u.Host = c.address()
	switch {
	case c.Password != "":
		u.User = url.UserPassword(c.User, redacted)
	case c.User != "":
		u.User = url.User(c.User)
	}
	q := url.Values{}
	for k, v := range c.Params {
		q[k] = v
	}
	if c.Socket != "" {
		q.Set("socket", c.Socket)
	}
	if q.Has("password") {
		q.Set("password", redacted)
	}
	u.RawQuery = q.Encode()
	return u.String()
}

func (c Config) address() string {
	return net.JoinHostPort(c.Host, strconv.Itoa(c.Port))
}

// where names the server and database for messages: no password, no
// parameters.
func (c Config) where() string {
	addr := c.address()
	if c.Socket != "" {
		addr = c.Socket
	}
	s := fmt.Sprintf("%s database %q on %s", c.Dialect, c.Database, addr)
	if c.User != "" {
		s += fmt.Sprintf(" as user %q", c.User)
	}
	return s
}

// scrub removes the password from driver text, which may echo it.
func (c Config) scrub(s string) string {
	if c.Password != "" {
		s = strings.ReplaceAll(s, c.Password, redacted)
	}
	if p := c.Params.Get("password"); p != "" {
		s = strings.ReplaceAll(s, p, redacted)
	}
	return s
}

// connector builds the driver's connector without connecting.
func (c Config) connector() (func() *sql.DB, error) {
	switch c.Dialect {
	case MySQL:
		// The driver parses its own parameters; feed it only those.
		mc := mysql.NewConfig()
		if len(c.Params) > 0 {
			var err error
			mc, err = mysql.ParseDSN("/?" + c.Params.Encode())
			if err != nil {
				return nil, err
			}
		}
		mc.User, mc.Passwd, mc.DBName = c.User, c.Password, c.Database
		mc.Net, mc.Addr = "tcp", c.address()
		if c.Socket != "" {
			mc.Net, mc.Addr = "unix", c.Socket
		}
		mc.Timeout = c.ConnectTimeout
		// The driver's default logger writes to stderr on its own; the
		// errors reach the caller anyway.
		mc.Logger = &mysql.NopLogger{}
		conn, err := mysql.NewConnector(mc)
		if err != nil {
			return nil, err
		}
		return func() *sql.DB { return sql.OpenDB(conn) }, nil
	case Postgres:
		u := url.URL{Scheme: "postgres", Host: c.address(), Path: "/" + c.Database, RawQuery: c.Params.Encode()}
		if c.User != "" {
			u.User = url.User(c.User)
		}
		pc, err := pgx.ParseConfig(u.String())
		if err != nil {
			return nil, err
		}
		if c.Password != "" {
			pc.Password = c.Password
		}
		pc.ConnectTimeout = c.ConnectTimeout
		return func() *sql.DB { return stdlib.OpenDB(*pc) }, nil
	}
	return nil, fmt.Errorf("unknown dialect %d", c.Dialect)
}

// OpenSQL connects to the database and pings it within ConnectTimeout. An
// unreachable server or refused login is one line naming the dialect,
// database, address and user, never the password.
func (c Config) OpenSQL(ctx context.Context) (*sql.DB, error) {
	open, err := c.connector()
	if err != nil {
		return nil, fmt.Errorf("open %s: %s", c.where(), c.scrub(err.Error()))
	}
	db := open()
	pctx, cancel := context.WithTimeout(ctx, c.ConnectTimeout)
	defer cancel()
	if err := db.PingContext(pctx); err != nil {
		db.Close()
		if ctx.Err() == nil && pctx.Err() != nil {
			err = fmt.Errorf("no answer within %s: %w", c.ConnectTimeout, err)
		}
		return nil, &ConnectError{Where: c.where(), Err: err, scrub: c.scrub}
	}
	return db, nil
}

// ConnectError is a failure to reach or log in to the database.
type ConnectError struct {
	Where string // dialect, database, address and user
	Err   error
	scrub func(string) string
}

func (e *ConnectError) Error() string {
	msg := e.Err.Error()
	if e.scrub != nil {
		msg = e.scrub(msg)
	}
	// Drivers may report several attempts on several lines; a CLI prints
	// one.
	msg = strings.Join(strings.Fields(msg), " ")
	return "connect to " + e.Where + ": " + msg
}

func (e *ConnectError) Unwrap() error { return e.Err }

// RedactDSN returns dsn with its password replaced by "xxxxx", even when dsn
// does not parse. Anything that might be a password is hidden: when in doubt
// it hides more.
func RedactDSN(dsn string) string {
	if u, err := url.Parse(dsn); err == nil && u.Opaque == "" {
		if u.User != nil {
			if _, ok := u.User.Password(); ok {
				u.User = url.UserPassword(u.User.Username(), redacted)
			}
		}
		if strings.Contains(strings.ToLower(u.RawQuery), "password") {
			q, err := url.ParseQuery(u.RawQuery)
			if err != nil {
				u.RawQuery = redacted // cannot tell where the password ends
			} else {
				if q.Has("password") {
					q.Set("password", redacted)
				}
				u.RawQuery = q.Encode()
			}
		}
		return u.String()
	}
	// Unparsable: the user info is everything before the last "@" after
	// the scheme, and the password everything after its first ":".
	rest, scheme := dsn, ""
	if i := strings.Index(dsn, "://"); i >= 0 {
		scheme, rest = dsn[:i+3], dsn[i+3:]
	}
	at := strings.LastIndex(rest, "@")
	if at < 0 {
		if strings.Contains(rest, "password") {
			return scheme + redacted
		}
		return dsn
	}
	user := rest[:at]
	if i := strings.Index(user, ":"); i >= 0 {
		user = user[:i] + ":" + redacted
	}
	return scheme + user + rest[at:]
}
