package ossecdb

import (
	"bufio"
	"context"
	"net"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestParseDSN(t *testing.T) {
	tests := []struct {
		dsn     string
		want    Config // Params compared via String
		str     string
		wantErr string
	}{
		{dsn: "mysql://ossec:s3cret@db.example.org:3306/ossec",
			want: Config{Dialect: MySQL, Host: "db.example.org", Port: 3306, User: "ossec", Password: "s3cret", Database: "ossec", ConnectTimeout: 5 * time.Second},
			str:  "mysql://ossec:xxxxx@db.example.org:3306/ossec"},
		{dsn: "mariadb://root@127.0.0.1/ossec?charset=utf8mb4",
			want: Config{Dialect: MySQL, Host: "127.0.0.1", Port: 3306, User: "root", Database: "ossec", ConnectTimeout: 5 * time.Second},
			str:  "mysql://root@127.0.0.1:3306/ossec?charset=utf8mb4"},
		{dsn: "mysql://ossec:p%40ss%3Aword@[2001:db8::5]:3307/ossec",
			want: Config{Dialect: MySQL, Host: "2001:db8::5", Port: 3307, User: "ossec", Password: "p@ss:word", Database: "ossec", ConnectTimeout: 5 * time.Second},
			str:  "mysql://ossec:xxxxx@[2001:db8::5]:3307/ossec"},
		{dsn: "mysql://ossec@localhost/ossec?socket=/run/mysqld/mysqld.sock&connect_timeout=2",
			want: Config{Dialect: MySQL, Host: "localhost", Port: 3306, User: "ossec", Database: "ossec", Socket: "/run/mysqld/mysqld.sock", ConnectTimeout: 2 * time.Second},
			str:  "mysql://ossec@localhost:3306/ossec?socket=%2Frun%2Fmysqld%2Fmysqld.sock"},
		{dsn: "postgres://postgres@127.0.0.1:5432/ossec?sslmode=disable",
			want: Config{Dialect: Postgres, Host: "127.0.0.1", Port: 5432, User: "postgres", Database: "ossec", ConnectTimeout: 5 * time.Second},
			str:  "postgres://postgres@127.0.0.1:5432/ossec?sslmode=disable"},
		{dsn: "postgresql://ossec:pw@db/ossec?password=other",
			want: Config{Dialect: Postgres, Host: "db", Port: 5432, User: "ossec", Password: "pw", Database: "ossec", ConnectTimeout: 5 * time.Second},
			str:  "postgres://ossec:xxxxx@db:5432/ossec?password=xxxxx"},
		{dsn: "mysql://u:pa ss@host/db", wantErr: `"mysql://u:xxxxx@host/db"`},
		{dsn: "postgres://u:p w@[::1/db", wantErr: `"postgres://u:xxxxx@[::1/db"`},
		{dsn: "ossec", wantErr: "no scheme"},
		{dsn: "ftp://u:pw@host/db", wantErr: `unknown scheme "ftp"`},
		{dsn: "mysql://u:pw@host:99999/db", wantErr: `port "99999"`},
		{dsn: "mysql://u:pw@host/", wantErr: `database name ""`},
		{dsn: "mysql://u:pw@host/a/b", wantErr: `database name "a/b"`},
		{dsn: "mysql://u:pw@host/db?connect_timeout=zero", wantErr: `connect_timeout "zero"`},
		{dsn: "mysql://u:pw@host/db?timeout=xyz", wantErr: "timeout"},
		{dsn: "mysql:u:pw@host/db", wantErr: "want"},
	}
	for _, tt := range tests {
		t.Run(tt.dsn, func(t *testing.T) {
			got, err := ParseDSN(tt.dsn)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("ParseDSN(%q) error = %v, want it to contain %s", tt.dsn, err, tt.wantErr)
				}
				if strings.Contains(err.Error(), "pw@") || strings.Contains(err.Error(), "pa ss") || strings.Contains(err.Error(), "p w") {
					t.Errorf("error leaks the password: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if s := got.String(); s != tt.str {
				t.Errorf("String() = %q, want %q", s, tt.str)
			}
			got.Params = nil
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("ParseDSN(%q) = %+v, want %+v", tt.dsn, got, tt.want)
			}
		})
	}
}

func TestRedactDSN(t *testing.T) {
	tests := []struct{ in, want string }{
		{"mysql://u:pw@h/db", "mysql://u:xxxxx@h/db"},
		{"mysql://u@h/db", "mysql://u@h/db"},
		{"mysql://u:p w@h/db", "mysql://u:xxxxx@h/db"},
		{"mysql://u:p@w@h/db", "mysql://u:xxxxx@h/db"},
		{"postgres://h/db?password=pw&sslmode=disable", "postgres://h/db?password=xxxxx&sslmode=disable"},
		{"postgres://h/db?password=p w%zz", "postgres://h/db?xxxxx"},
		{"no-scheme:pw@host", "no-scheme:xxxxx@host"},
	}
	for _, tt := range tests {
		if got := RedactDSN(tt.in); got != tt.want {
			t.Errorf("RedactDSN(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// TestConnectTimeout: a server that accepts and never speaks fails within
// the connect timeout, naming it.
func TestConnectTimeout(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		var held []net.Conn
		defer func() {
			for _, c := range held {
				c.Close()
			}
		}()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			held = append(held, c)
		}
	}()
	for _, scheme := range []string{"mysql", "postgres"} {
		t.Run(scheme, func(t *testing.T) {
			t.Parallel()
			start := time.Now()
			_, err := Open(context.Background(), scheme+"://u:pw@"+ln.Addr().String()+"/ossec?connect_timeout=1&sslmode=disable")
			if err == nil {
				t.Fatal("Open succeeded")
			}
			if took := time.Since(start); took > 3*time.Second {
				t.Errorf("took %v with a 1 s timeout", took)
			}
			if strings.Contains(err.Error(), "pw@") || strings.Contains(err.Error(), "\n") {
				t.Errorf("error %q", err)
			}
			t.Log(err)
		})
	}
}

func dsnSeeds(f *testing.F) {
	fh, err := os.Open("testdata/dsn.txt")
	if err != nil {
		f.Fatal(err)
	}
	defer fh.Close()
	sc := bufio.NewScanner(fh)
	for sc.Scan() {
		if l := sc.Text(); l != "" && !strings.HasPrefix(l, "#") {
			f.Add(l)
		}
	}
}

// FuzzParseDSN: no input panics, and no error or String() shows the
// password.
func FuzzParseDSN(f *testing.F) {
	dsnSeeds(f)
	f.Fuzz(func(t *testing.T, dsn string) {
		c, err := ParseDSN(dsn)
		if err != nil {
			return
		}
		if len(c.Password) >= 4 && strings.Contains(c.String(), c.Password) && !strings.Contains(redacted, c.Password) {
			t.Errorf("String() %q shows password %q", c.String(), c.Password)
		}
		again, err := ParseDSN(c.String())
		if err != nil {
			t.Fatalf("String() %q of %q does not parse: %v", c.String(), dsn, err)
		}
		if again.Dialect != c.Dialect || again.Host != c.Host || again.Port != c.Port || again.Database != c.Database || again.User != c.User {
			t.Errorf("round trip %q → %q: %+v vs %+v", dsn, c.String(), c, again)
		}
	})
}

// FuzzRedactDSN: the password of a DSN that parses never survives
// redaction.
func FuzzRedactDSN(f *testing.F) {
	dsnSeeds(f)
	f.Fuzz(func(t *testing.T, dsn string) {
		c, err := ParseDSN(dsn)
		r := RedactDSN(dsn)
		if err == nil && len(c.Password) >= 4 && strings.Contains(r, c.Password) && !strings.Contains(redacted, c.Password) {
			t.Errorf("RedactDSN(%q) = %q keeps the password", dsn, r)
		}
	})
}
