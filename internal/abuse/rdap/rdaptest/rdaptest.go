// Package rdaptest is a loopback RDAP service for tests: IANA-style
// bootstrap files (RFC 9224) at <URL>/bootstrap/ that point at five fake
// registries on the same server (<URL>/arin/, /ripe/, /apnic/, /lacnic/,
// /afrinic/), which answer from the recorded-format files in
// internal/abuse/rdap/testdata/rir. It is for tests only (internal/archtest
// checks that) and listens on 127.0.0.1 only.
//
// The address plan (documentation ranges):
//
//	192.0.2.0/26        ARIN, abuse contact nested in the registrant
//	192.0.2.64/26       RIPE
//	192.0.2.128/26      APNIC, IRT object, no registrant
//	192.0.2.192/26      LACNIC, abuse role shared with the technical contact
//	198.51.100.0/26     AFRINIC
//	198.51.100.64/26    ARIN in the bootstrap data, redirected to RIPE
//	198.51.100.128/26   ARIN reassignment without an abuse contact
//	198.51.100.192/26   APNIC and LACNIC redirecting to each other forever
//	203.0.113.0/26      APNIC: 404
//	203.0.113.64/26     LACNIC: 429 with Retry-After
//	203.0.113.128/26    AFRINIC: an HTML page
//	203.0.113.192/27    RIPE: never answers (until the client gives up)
//	203.0.113.224/27    ARIN: an endless answer
//	2001:db8:1000::/36  RIPE
//
// Other addresses of 192.0.0.0/8, 198.51.0.0/16 and 203.0.0.0/8 reach
// their registry and get a 404; the rest of the address space is in no
// registry's bootstrap entry.
package rdaptest

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// registries are the fake registries, in bootstrap order.
func registries() []string { return []string{"arin", "ripe", "apnic", "lacnic", "afrinic"} }

type kind int

const (
	answer kind = iota
	redirect
	loop
	notFound
	rateLimited
	html
	slow
	endless
)

type route struct {
	prefix netip.Prefix
	rir    string // the registry the bootstrap data names
	kind   kind
	file   string // answer and notFound
	to     string // redirect: the registry that answers
}

func routes() []route {
	p := netip.MustParsePrefix
	return []route{
		{prefix: p("192.0.2.0/26"), rir: "arin", file: "arin.json"},
		{prefix: p("192.0.2.64/26"), rir: "ripe", file: "ripe.json"},
		{prefix: p("192.0.2.128/26"), rir: "apnic", file: "apnic.json"},
		{prefix: p("192.0.2.192/26"), rir: "lacnic", file: "lacnic.json"},
		{prefix: p("198.51.100.0/26"), rir: "afrinic", file: "afrinic.json"},
		{prefix: p("198.51.100.64/26"), rir: "arin", kind: redirect, to: "ripe", file: "ripe-transfer.json"},
		{prefix: p("198.51.100.128/26"), rir: "arin", file: "arin-noabuse.json"},
		{prefix: p("198.51.100.192/26"), rir: "apnic", kind: loop},
		{prefix: p("203.0.113.0/26"), rir: "apnic", kind: notFound, file: "apnic-404.json"},
		{prefix: p("203.0.113.64/26"), rir: "lacnic", kind: rateLimited},
		{prefix: p("203.0.113.128/26"), rir: "afrinic", kind: html},
		{prefix: p("203.0.113.192/27"), rir: "ripe", kind: slow},
		{prefix: p("203.0.113.224/27"), rir: "arin", kind: endless},
		{prefix: p("2001:db8:1000::/36"), rir: "ripe", file: "ripe-v6.json"},
	}
}

// bootstrapEntries are the prefixes each registry has in the bootstrap
// data besides its routes.
func bootstrapEntries() map[string][]string {
	return map[string][]string{
		"arin":    {"192.0.0.0/8"},
		"ripe":    {"198.51.0.0/16", "2001:db8::/32"},
		"apnic":   {"203.0.0.0/8"},
		"lacnic":  {},
		"afrinic": {},
	}
}

// Server is a running fake RDAP service.
type Server struct {
	// URL is the server's root, http://127.0.0.1:port.
	URL string

	srv     *httptest.Server
	dir     string
	done    chan struct{}
	close   sync.Once
	queries atomic.Int64
	boots   atomic.Int64
	down    atomic.Bool
}

// Start starts a server; Close stops it.
func Start() *Server {
	_, self, _, _ := runtime.Caller(0)
	s := &Server{
		dir:  filepath.Join(filepath.Dir(self), "..", "testdata", "rir"),
		done: make(chan struct{}),
	}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	s.URL = s.srv.URL
	return s
}

// BootstrapURL is the base URL of the bootstrap files.
func (s *Server) BootstrapURL() string { return s.URL + "/bootstrap/" }

// Queries is the number of RDAP queries (redirects included) served.
func (s *Server) Queries() int64 { return s.queries.Load() }

// BootstrapFetches is the number of bootstrap files served.
func (s *Server) BootstrapFetches() int64 { return s.boots.Load() }

// SetBootstrapDown makes the bootstrap files answer 503 (down) or not.
func (s *Server) SetBootstrapDown(down bool) { s.down.Store(down) }

// Close stops the server, ending the answers that never come.
func (s *Server) Close() {
	s.close.Do(func() {
		close(s.done)
		s.srv.Close()
	})
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet {
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	parts := strings.SplitN(strings.TrimPrefix(r.URL.Path, "/"), "/", 3)
	switch {
	case len(parts) == 2 && parts[0] == "bootstrap":
		s.serveBootstrap(w, parts[1])
	case len(parts) == 3 && parts[1] == "ip" && isRegistry(parts[0]):
		s.queries.Add(1)
		s.serveIP(w, r, parts[0], parts[2])
	default:
		http.NotFound(w, r)
	}
}

func isRegistry(name string) bool {
	for _, r := range registries() {
		if r == name {
			return true
		}
	}
	return false
}

func (s *Server) serveBootstrap(w http.ResponseWriter, file string) {
	s.boots.Add(1)
	if s.down.Load() {
		http.Error(w, "bootstrap service down", http.StatusServiceUnavailable)
		return
	}
	var v6 bool
	switch file {
	case "ipv4.json":
	case "ipv6.json":
		v6 = true
	default:
		http.Error(w, "no such file", http.StatusNotFound)
		return
	}
	extra := bootstrapEntries()
	var services []string
	for _, rir := range registries() {
		var prefixes []string
		for _, rt := range routes() {
			if rt.rir == rir && rt.prefix.Addr().Is6() == v6 {
				prefixes = append(prefixes, fmt.Sprintf("%q", rt.prefix))
			}
		}
		for _, e := range extra[rir] {
			if strings.Contains(e, ":") == v6 {
				prefixes = append(prefixes, fmt.Sprintf("%q", e))
			}
		}
		if len(prefixes) == 0 {
			continue
		}
		services = append(services, fmt.Sprintf("    [[%s], [%q]]", strings.Join(prefixes, ", "), s.URL+"/"+rir+"/"))
	}
	w.Header().Set("Content-Type", "application/json")
	fmt.Fprintf(w, "{\n  \"description\": \"RDAP bootstrap file for IPv%s address allocations (rampart test server)\",\n"+
		"  \"publication\": \"2025-01-07T22:00:02Z\",\n  \"services\": [\n%s\n  ],\n  \"version\": \"1.0\"\n}\n",
		map[bool]string{false: "4", true: "6"}[v6], strings.Join(services, ",\n"))
}

func (s *Server) serveIP(w http.ResponseWriter, r *http.Request, rir, query string) {
	addr, err := netip.ParseAddr(query)
	if err != nil {
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprint(w, `{"errorCode":400,"title":"Bad Request","description":["Invalid IP address."]}`)
		return
	}
	var rt *route
	for _, c := range routes() {
		if c.prefix.Contains(addr.Unmap()) {
			rt = &c
			break
		}
	}
	switch {
	case rt == nil, rt.kind == loop && rir != "apnic" && rir != "lacnic",
		rt.kind != loop && rt.rir != rir && !(rt.kind == redirect && rt.to == rir):
		s.file(w, http.StatusNotFound, "apnic-404.json")
		return
	}
	switch rt.kind {
	case answer:
		s.file(w, http.StatusOK, rt.file)
	case redirect:
		if rir == rt.rir {
			http.Redirect(w, r, "/"+rt.to+"/ip/"+query, http.StatusMovedPermanently)
			return
		}
		s.file(w, http.StatusOK, rt.file)
	case loop:
		next := map[string]string{"apnic": "lacnic", "lacnic": "apnic"}[rir]
		http.Redirect(w, r, "/"+next+"/ip/"+query, http.StatusFound)
	case notFound:
		s.file(w, http.StatusNotFound, rt.file)
	case rateLimited:
		w.Header().Set("Content-Type", "application/rdap+json")
		w.Header().Set("Retry-After", "60")
		w.WriteHeader(http.StatusTooManyRequests)
		fmt.Fprint(w, `{"errorCode":429,"title":"Too Many Requests","description":["Query limit exceeded, try again later."]}`)
	case html:
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprint(w, "<!DOCTYPE html>\n<html><head><title>Service temporarily unavailable</title></head>\n"+
			"<body><h1>Maintenance</h1><p>The RDAP service is down for maintenance.</p></body></html>\n")
	case slow:
		select {
		case <-r.Context().Done():
		case <-s.done:
		case <-time.After(time.Minute):
		}
	case endless:
		w.Header().Set("Content-Type", "application/rdap+json")
		fmt.Fprint(w, `{"objectClassName":"ip network","remarks":[{"description":["`)
		chunk := []byte(strings.Repeat("x", 64<<10))
		for {
			if _, err := w.Write(chunk); err != nil {
				return
			}
			select {
			case <-r.Context().Done():
				return
			case <-s.done:
				return
			default:
			}
		}
	}
}

func (s *Server) file(w http.ResponseWriter, status int, name string) {
	b, err := os.ReadFile(filepath.Join(s.dir, name))
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/rdap+json")
	w.WriteHeader(status)
	w.Write(b)
}
