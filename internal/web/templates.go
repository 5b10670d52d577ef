package web

import (
	"embed"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/rampart-ids/rampart/internal/analytics/cadence"
)

//go:embed templates/*.html static/*
var files embed.FS

// parsePages parses each page template together with the layout and the
// shared partials, one set per page, so that each page defines its own
// "content".
func parsePages() (map[string]*template.Template, error) {
	base, err := template.New("base").Funcs(funcs).ParseFS(files, "templates/layout.html", "templates/partials.html")
	if err != nil {
		return nil, fmt.Errorf("web: parse layout: %w", err)
	}
	names, err := fs.Glob(files, "templates/*.html")
	if err != nil {
		return nil, err
	}
	pages := map[string]*template.Template{}
	for _, n := range names {
		name := strings.TrimSuffix(path.Base(n), ".html")
		if name == "layout" || name == "partials" {
			continue
		}
		t, err := base.Clone()
		if err != nil {
			return nil, err
		}
		if _, err := t.ParseFS(files, n); err != nil {
			return nil, fmt.Errorf("web: parse %s: %w", n, err)
		}
		pages[name] = t
	}
	return pages, nil
}

// staticTypes are the embedded files served and their types.
var staticTypes = map[string]string{
	"style.css":   "text/css; charset=utf-8",
	"favicon.svg": "image/svg+xml",
}

// static serves the embedded style sheet and icon.
func (u *ui) static(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("file")
	ctype, ok := staticTypes[name]
	if !ok {
		http.NotFound(w, r)
		return
	}
	b, err := files.ReadFile("static/" + name)
	if err != nil {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", ctype)
	w.Header().Set("Cache-Control", "max-age=3600")
	_, _ = w.Write(b)
}

var funcs = template.FuncMap{
	"num":      func(n any) string { return fmtInt(toInt64(n)) },
	"time":     fmtTime,
	"day":      func(t time.Time) string { return t.UTC().Format("2006-01-02") },
	"dur":      fmtDur,
	"f1":       func(f float64) string { return strconv.FormatFloat(f, 'f', 1, 64) },
	"sub":      func(a, b float64) float64 { return a - b },
	"level":    levelClass,
	"join":     strings.Join,
	"pct":      func(f float64) string { return strconv.FormatFloat(f*100, 'f', 0, 64) + "%" },
	"gaprange": gapRange,
	"active":   active,
	"args":     args,
}

// args builds a map from key, value pairs, to hand several values to a
// partial template.
func args(kv ...any) (map[string]any, error) {
	if len(kv)%2 != 0 {
		return nil, fmt.Errorf("args: odd number of arguments")
	}
	m := make(map[string]any, len(kv)/2)
	for i := 0; i < len(kv); i += 2 {
		k, ok := kv[i].(string)
		if !ok {
			return nil, fmt.Errorf("args: key %v is not a string", kv[i])
		}
		m[k] = kv[i+1]
	}
	return m, nil
}

func toInt64(n any) int64 {
	switch v := n.(type) {
	case int:
		return int64(v)
	case int64:
		return v
	case uint64:
		return int64(v)
	case int32:
		return int64(v)
	}
	return 0
}

func fmtTime(t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	return t.UTC().Format("2006-01-02 15:04:05 UTC")
}

// fmtDur writes a duration as people read ban lengths: 45s, 10m11s,
// 1h30m, 2d, 1d6h.
func fmtDur(d time.Duration) string {
	switch {
	case d == cadence.Permanent:
		return "permanent"
	case d <= 0:
		return "0s"
	}
	d = d.Round(time.Second)
	var b []byte
	for _, u := range []struct {
		d    time.Duration
		unit string
	}{{24 * time.Hour, "d"}, {time.Hour, "h"}, {time.Minute, "m"}, {time.Second, "s"}} {
		if n := d / u.d; n > 0 {
			b = strconv.AppendInt(b, int64(n), 10)
			b = append(b, u.unit...)
			d -= n * u.d
		}
	}
	return string(b)
}

func gapRange(lo, hi time.Duration) string {
	if hi == 0 {
		return "≥ " + fmtDur(lo)
	}
	return fmtDur(lo) + "–" + fmtDur(hi)
}

// levelClass colours a level: OSSEC's 0–16, high from 10.
func levelClass(level int) string {
	switch {
	case level >= 10:
		return "lvl-hi"
	case level >= 6:
		return "lvl-mid"
	default:
		return "lvl-lo"
	}
}
