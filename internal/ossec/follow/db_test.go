package follow

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/rampart-ids/rampart/internal/ossec"
	"github.com/rampart-ids/rampart/internal/ossec/ossecdb"
	"github.com/rampart-ids/rampart/internal/ossec/ossecdb/dbdload"
	"github.com/rampart-ids/rampart/internal/ossec/ossecdb/ossecdbtest"
)

// fakeDB is an alert table: rows of each server have ids 1, 2, 3...
type fakeDB struct {
	mu    sync.Mutex
	rows  map[int][]ossec.Alert
	fails int // how many of the next queries fail
}

func (d *fakeDB) add(server int, as ...ossec.Alert) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.rows == nil {
		d.rows = map[int][]ossec.Alert{}
	}
	d.rows[server] = append(d.rows[server], as...)
}

func (d *fakeDB) Alerts(_ context.Context, after map[int]int64) dbRows {
	d.mu.Lock()
	defer d.mu.Unlock()
	r := &fakeRows{}
	if d.fails > 0 {
		d.fails--
		r.err = errors.New("connection refused")
		return r
	}
	for _, s := range slices.Sorted(maps.Keys(d.rows)) {
		for i, a := range d.rows[s] {
			if id := int64(i + 1); id > after[s] {
				r.list = append(r.list, fakeRow{s, id, a})
			}
		}
	}
	return r
}

type fakeRow struct {
	server int
	id     int64
	a      ossec.Alert
}

type fakeRows struct {
	list []fakeRow
	i    int
	err  error
}

func (r *fakeRows) Next() bool {
	if r.err != nil || r.i >= len(r.list) {
		return false
	}
	r.i++
	return true
}
func (r *fakeRows) Alert() *ossec.Alert { return &r.list[r.i-1].a }
func (r *fakeRows) Err() error          { return r.err }
func (r *fakeRows) Close() error        { return nil }
func (r *fakeRows) Position() (int, int64) {
	if r.i == 0 {
		return 0, 0
	}
	return r.list[r.i-1].server, r.list[r.i-1].id
}

type dbCollector struct {
	mu   sync.Mutex
	ids  []string
	pos  []map[int]int64
	stop int
}

func (c *dbCollector) fn(a *ossec.Alert, pos map[int]int64) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.stop > 0 && len(c.ids)+1 == c.stop {
		return errStop
	}
	c.ids = append(c.ids, a.ID.String())
	c.pos = append(c.pos, maps.Clone(pos))
	return nil
}

func TestDBFollower(t *testing.T) {
	tests := []struct {
		name  string
		opts  DBOptions
		fails int
		want  []string
	}{
		{"from start", DBOptions{FromStart: true}, 0, []string{"1700000000.0", "1700000001.1", "1700000100.100", "1700000002.2", "1700000101.101"}},
		{"from the end", DBOptions{}, 0, []string{"1700000002.2", "1700000101.101"}},
		{"resume", DBOptions{Start: map[int]int64{1: 1, 2: 1}}, 0, []string{"1700000001.1", "1700000002.2", "1700000101.101"}},
		{"database down for a while", DBOptions{FromStart: true}, 3, []string{"1700000000.0", "1700000001.1", "1700000100.100", "1700000002.2", "1700000101.101"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				db := &fakeDB{fails: tt.fails}
				db.add(1, genAlerts(0, 2)...)
				db.add(2, genAlerts(100, 1)...)
				var logs bytes.Buffer
				tt.opts.Poll = time.Second
				tt.opts.Logger = slog.New(slog.NewTextHandler(&logs, nil))
				c := &dbCollector{}
				ctx, cancel := context.WithCancel(t.Context())
				done := make(chan error, 1)
				go func() { done <- newDB(db, tt.opts).Run(ctx, c.fn) }()
				time.Sleep(time.Duration(tt.fails)*time.Second + 500*time.Millisecond)
				db.add(1, genAlerts(2, 1)...)
				db.add(2, genAlerts(101, 1)...)
				time.Sleep(3 * time.Second)
				cancel()
				if err := <-done; err != nil {
					t.Fatal(err)
				}
				if diff := cmp.Diff(tt.want, c.ids); diff != "" {
					t.Fatalf("delivered (-want +got):\n%s", diff)
				}
				if last := c.pos[len(c.pos)-1]; !maps.Equal(last, map[int]int64{1: 3, 2: 2}) {
					t.Errorf("last position %v", last)
				}
				if tt.fails > 0 && (strings.Count(logs.String(), "retrying") != 1 || !strings.Contains(logs.String(), "works again")) {
					t.Errorf("log:\n%s", logs.String())
				}
			})
		})
	}
}

func TestDBFollowerCallbackError(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		db := &fakeDB{}
		db.add(1, genAlerts(0, 5)...)
		c := &dbCollector{stop: 3}
		err := newDB(db, DBOptions{FromStart: true}).Run(t.Context(), c.fn)
		if !errors.Is(err, errStop) || len(c.ids) != 2 || c.pos[1][1] != 2 {
			t.Fatalf("Run = %v after %v at %v; want errStop after two", err, c.ids, c.pos)
		}
	})
}

// TestDBFollowerEngines follows a real ossec-dbd table, stops, and resumes
// from the stored positions while rows keep coming.
func TestDBFollowerEngines(t *testing.T) {
	for _, tc := range []struct {
		name string
		d    ossecdb.Dialect
		v    dbdload.Version
	}{{"mysql", ossecdb.MySQL, dbdload.V3x}, {"postgres", ossecdb.Postgres, dbdload.VMaster}} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx := t.Context()
			dsn, sdb := ossecdbtest.Schema(t, tc.d, tc.v)
			web1 := dbdload.NewLoader(sdb, tc.d, tc.v, "web1")
			web2 := dbdload.NewLoader(sdb, tc.d, tc.v, "web2")
			load := func(l *dbdload.Loader, as []ossec.Alert) {
				t.Helper()
				if err := l.Load(ctx, as); err != nil {
					t.Fatal(err)
				}
			}
			load(web1, genAlerts(0, 5))
			load(web2, genAlerts(100, 3))
			db, err := ossecdb.Open(ctx, dsn)
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()

			// follow runs a follower until it has delivered n alerts.
			follow := func(opts DBOptions, n int, during func()) ([]string, map[int]int64) {
				t.Helper()
				opts.Poll = 20 * time.Millisecond
				var ids []string
				var last map[int]int64
				ctx, cancel := context.WithCancel(ctx)
				defer cancel()
				reached := make(chan struct{})
				done := make(chan error, 1)
				go func() {
					done <- DB(db, opts).Run(ctx, func(a *ossec.Alert, pos map[int]int64) error {
						ids = append(ids, a.ID.String())
						last = maps.Clone(pos)
						if len(ids) == n {
							close(reached)
						}
						return nil
					})
				}()
				if during != nil {
					during()
				}
				select {
				case <-reached:
				case err := <-done:
					t.Fatalf("Run ended early: %v after %v", err, ids)
				case <-time.After(30 * time.Second):
					cancel()
					<-done
					t.Fatalf("timed out with %v", ids)
				}
				cancel()
				if err := <-done; err != nil {
					t.Fatal(err)
				}
				return ids, last
			}
			first, pos := follow(DBOptions{FromStart: true}, 10, func() { load(web1, genAlerts(5, 2)) })
			load(web2, genAlerts(103, 2))
			rest, _ := follow(DBOptions{Start: pos}, 2, nil)

			// Ids are distinct across servers here, so the order of
			// servers does not matter.
			want := idsOf(append(genAlerts(0, 7), genAlerts(100, 5)...))
			got := append(first, rest...)
			slices.Sort(got)
			slices.Sort(want)
			if diff := cmp.Diff(want, got); diff != "" {
				t.Fatalf("delivered over a restart (-want +got):\n%s", diff)
			}
		})
	}
}
