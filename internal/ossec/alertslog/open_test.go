package alertslog

import (
	"compress/gzip"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

func readTestdata(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func writeGzip(t testing.TB, path string, data []byte) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	zw := gzip.NewWriter(f)
	if _, err := zw.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestOpenGzip(t *testing.T) {
	data := readTestdata(t, "reference.log")
	dir := t.TempDir()
	plain := filepath.Join(dir, "ossec-alerts-14.log")
	gz := filepath.Join(dir, "ossec-alerts-14.log.gz")
	// Gzip under a plain name: the magic bytes decide.
	disguised := filepath.Join(dir, "renamed.log")
	if err := os.WriteFile(plain, data, 0o644); err != nil {
		t.Fatal(err)
	}
	writeGzip(t, gz, data)
	writeGzip(t, disguised, data)

	want := readAll(t, data, "x", Options{})
	for _, path := range []string{plain, gz, disguised} {
		for _, start := range []int64{0, want.Alerts[1].Offset} {
			r, c, err := Open(path, Options{StartOffset: start})
			if err != nil {
				t.Fatal(err)
			}
			var ids []string
			for r.Next() {
				ids = append(ids, r.Alert().ID.String())
			}
			if err := c.Close(); err != nil {
				t.Error(err)
			}
			var wantIDs []string
			for _, a := range want.Alerts {
				if a.Offset > start {
					wantIDs = append(wantIDs, a.ID)
				}
			}
			if r.Err() != nil || !slices.Equal(ids, wantIDs) || r.Offset() != int64(len(data)) {
				t.Errorf("%s from %d: %v err %v offset %d; want %v", filepath.Base(path), start, ids, r.Err(), r.Offset(), wantIDs)
			}
		}
	}
	if _, _, err := Open(filepath.Join(dir, "missing.log"), Options{}); err == nil {
		t.Error("Open of a missing file succeeded")
	}
}

func TestOpenCorruptGzip(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "ossec-alerts-01.log.gz")
	writeGzip(t, path, readTestdata(t, "reference.log"))
	b, _ := os.ReadFile(path)
	if err := os.WriteFile(path, b[:len(b)/2], 0o644); err != nil {
		t.Fatal(err)
	}
	r, c, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for r.Next() {
	}
	if r.Err() == nil {
		t.Error("truncated gzip read without error")
	}
}

func TestTree(t *testing.T) {
	root := t.TempDir()
	mk := func(rel string, gz bool) string {
		p := filepath.Join(root, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if gz {
			writeGzip(t, p, []byte("x"))
		} else if err := os.WriteFile(p, []byte(rel), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	want := []string{
		mk("2022/Dec/ossec-alerts-31.log.gz", true),
		mk("2023/Jan/ossec-alerts-01.log.gz", true),
		mk("2023/Jan/ossec-alerts-02.log.gz", true),
		mk("2023/Feb/ossec-alerts-09.log", false),
		mk("2023/Feb/ossec-alerts-10.log", false), // both forms: compression in progress
		mk("2023/Oct/ossec-alerts-05.log", false),
		mk("2023/Nov/ossec-alerts-14.log", false),
	}
	mk("2023/Feb/ossec-alerts-10.log.gz", true)
	mk("2023/Jan/ossec-alerts-01.log.sum", false)
	mk("2023/Jan/ossec-alerts-01.json", false)
	mk("2023/Jan/ossec-alerts-01.json.gz", true)
	mk("2023/Jan/notes.txt", false)
	mk("2023/Foo/ossec-alerts-01.log", false)
	mk("abcd/Jan/ossec-alerts-01.log", false)
	mk("2023/Jan/ossec-alerts-32.log", false)

	// alerts.log hard-linked to the current day file: not listed twice.
	live := filepath.Join(root, "alerts.log")
	if err := os.Link(want[len(want)-1], live); err != nil {
		t.Fatal(err)
	}
	got, err := Tree(root)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, want) {
		t.Errorf("Tree =\n%q\nwant\n%q", got, want)
	}

	// A separate alerts.log (a copy, not a link) is listed last.
	if err := os.Remove(live); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(live, []byte("copy"), 0o644); err != nil {
		t.Fatal(err)
	}
	got, err = Tree(root)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, append(slices.Clone(want), live)) {
		t.Errorf("Tree with unlinked alerts.log = %q", got)
	}

	if _, err := Tree(filepath.Join(root, "nope")); err == nil {
		t.Error("Tree of a missing directory succeeded")
	}
}
