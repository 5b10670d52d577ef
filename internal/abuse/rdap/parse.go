package rdap

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"net/url"
	"slices"
	"strings"

	"github.com/openrdap/rdap"
	"go4.org/netipx"

	"github.com/rampart-ids/rampart/internal/abuse"
)

// Bounds on the entity tree of one answer: real answers nest three levels
// and hold a dozen entities.
const (
	maxEntityDepth = 8
	maxEntities    = 500
)

// Parse reads an RDAP answer (the body of <server>/ip/<addr>) into the
// contact for addr. server is the URL that gave the answer; Fetched is left
// zero. An ip network without an abuse entity gives a Contact without
// Emails, not an error; an answer that is not an ip network object, or
// whose network does not contain addr, is an error.
func Parse(addr netip.Addr, body []byte, server string) (con abuse.Contact, err error) {
	addr = addr.Unmap()
	trimmed := bytes.TrimSpace(body)
	if len(trimmed) == 0 {
		return abuse.Contact{}, errors.New("empty answer")
	}
	if trimmed[0] != '{' {
		return abuse.Contact{}, fmt.Errorf("answer is not JSON (starts with %s)", quoteShort(string(trimmed)))
	}
	// The decoder is a third-party walk over hostile input; a panic there
	// must not take the program down.
	defer func() {
		if r := recover(); r != nil {
			con, err = abuse.Contact{}, fmt.Errorf("answer cannot be decoded: %v", r)
		}
	}()
	obj, err := rdap.NewDecoder(trimmed).Decode()
	if err != nil {
		return abuse.Contact{}, fmt.Errorf("answer is not RDAP JSON: %w", err)
	}
	var n *rdap.IPNetwork
	switch o := obj.(type) {
	case *rdap.IPNetwork:
		n = o
	case *rdap.Error:
		code := "?"
		if o.ErrorCode != nil {
			code = fmt.Sprint(*o.ErrorCode)
		}
		return abuse.Contact{}, fmt.Errorf("error answer %s: %s", code, quoteShort(strings.Join(append([]string{o.Title}, o.Description...), " ")))
	default:
		return abuse.Contact{}, fmt.Errorf("answer is an RDAP %s object, not an ip network", strings.TrimPrefix(fmt.Sprintf("%T", obj), "*rdap."))
	}
	rng, err := networkRange(n, addr)
	if err != nil {
		return abuse.Contact{}, err
	}
	con = abuse.Contact{
		Addr:     addr,
		Range:    rng,
		NetName:  abuse.CleanField(n.Name),
		Country:  abuse.CountryCode(n.Country),
		Registry: registryName(n.Port43, server),
		Source:   "rdap",
		Server:   server,
	}
	if con.NetName == "" {
		con.NetName = abuse.CleanField(n.Handle)
	}
	emails, org := walkEntities(n.Entities)
	con.Org = org
	if con.Org == "" {
		con.Org = remarkDescription(n.Remarks)
	}
	if !abuse.OtherRegistry(con.NetName) {
		for _, e := range emails {
			if !abuse.PlaceholderEmail(e) {
				con.Emails = append(con.Emails, e)
			}
		}
	}
	return con, nil
}

// networkRange returns the prefixes covering the network: its start and end
// addresses, else its cidr0_cidrs (the RDAP CIDR extension). The network
// must contain addr.
func networkRange(n *rdap.IPNetwork, addr netip.Addr) ([]netip.Prefix, error) {
	var set netipx.IPSetBuilder
	var what string
	start, okS := parseBound(n.StartAddress, false)
	end, okE := parseBound(n.EndAddress, true)
	switch {
	case okS && okE:
		r := netipx.IPRangeFrom(start, end)
		what = fmt.Sprintf("%s - %s", start, end)
		if !r.IsValid() {
			return nil, fmt.Errorf("network range %s is not a range", quoteShort(what))
		}
		set.AddRange(r)
	case n.StartAddress != "" || n.EndAddress != "":
		return nil, fmt.Errorf("network range %s - %s is not a range", quoteShort(n.StartAddress), quoteShort(n.EndAddress))
	default:
		ps, err := cidr0(n)
		if err != nil {
			return nil, err
		}
		if len(ps) == 0 {
			// No range at all: the answer covers the address only.
			return nil, nil
		}
		for _, p := range ps {
			set.AddPrefix(p)
		}
		what = fmt.Sprint(ps)
	}
	s, err := set.IPSet()
	if err != nil {
		return nil, fmt.Errorf("network range %s: %w", what, err)
	}
	if !s.Contains(addr) {
		return nil, fmt.Errorf("network %s does not contain %s", what, addr)
	}
	return s.Prefixes(), nil
}

// parseBound reads a start or end address; a prefix (some servers wrote
// startAddress as a CIDR) stands for its first or last address.
func parseBound(s string, last bool) (netip.Addr, bool) {
	s = strings.TrimSpace(s)
	if s == "" {
		return netip.Addr{}, false
	}
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return netip.Addr{}, false
		}
		p = p.Masked()
		if last {
			return netipx.PrefixLastIP(p).Unmap(), true
		}
		return p.Addr().Unmap(), true
	}
	a, err := netip.ParseAddr(s)
	if err != nil || a.Zone() != "" {
		return netip.Addr{}, false
	}
	return a.Unmap(), true
}

// cidr0 reads the cidr0_cidrs member:
// [{"v4prefix": "192.0.2.0", "length": 24}, {"v6prefix": ..., "length": ...}].
func cidr0(n *rdap.IPNetwork) ([]netip.Prefix, error) {
	if n.DecodeData == nil {
		return nil, nil
	}
	raw := n.DecodeData.Value("cidr0_cidrs")
	if raw == nil {
		return nil, nil
	}
	list, ok := raw.([]any)
	if !ok {
		return nil, errors.New("cidr0_cidrs is not an array")
	}
	var ps []netip.Prefix
	for _, item := range list {
		m, ok := item.(map[string]any)
		if !ok {
			return nil, errors.New("cidr0_cidrs holds a non-object")
		}
		a, _ := m["v4prefix"].(string)
		if a == "" {
			a, _ = m["v6prefix"].(string)
		}
		l, ok := m["length"].(float64)
		if !ok || l != float64(int(l)) {
			return nil, fmt.Errorf("cidr0_cidrs entry %s has no integer length", quoteShort(a))
		}
		addr, err := netip.ParseAddr(a)
		if err != nil {
			return nil, fmt.Errorf("cidr0_cidrs entry %s/%v: %w", quoteShort(a), l, err)
		}
		p, err := addr.Unmap().Prefix(int(l))
		if err != nil {
			return nil, fmt.Errorf("cidr0_cidrs entry %s/%v: %w", quoteShort(a), l, err)
		}
		ps = append(ps, p)
	}
	return ps, nil
}

// walkEntities returns the e-mail addresses of the abuse entities and the
// name of the registrant, searching the entity tree breadth first: ARIN
// nests the abuse contact inside the registrant's entities, others list it
// beside the network, and a closer one comes first.
func walkEntities(top []rdap.Entity) (emails []string, org string) {
	type item struct {
		e     *rdap.Entity
		depth int
	}
	var queue []item
	for i := range top {
		queue = append(queue, item{&top[i], 1})
	}
	seen := 0
	for len(queue) > 0 && seen < maxEntities {
		it := queue[0]
		queue = queue[1:]
		seen++
		e := it.e
		if hasRole(e, "abuse") {
			for _, m := range entityEmails(e) {
				if !slices.Contains(emails, m) {
					emails = append(emails, m)
				}
			}
		}
		if org == "" && hasRole(e, "registrant") {
			if v := vcard(e); v != nil {
				org = abuse.CleanField(v.Name())
				if org == "" {
					org = abuse.CleanField(v.Org())
				}
			}
		}
		if it.depth < maxEntityDepth {
			for i := range e.Entities {
				queue = append(queue, item{&e.Entities[i], it.depth + 1})
			}
		}
	}
	return emails, org
}

func hasRole(e *rdap.Entity, role string) bool {
	for _, r := range e.Roles {
		if strings.EqualFold(strings.TrimSpace(r), role) {
			return true
		}
	}
	return false
}

// vcard returns the entity's jCard. The library drops a whole jCard for one
// malformed property; then the properties that are well formed are read
// again, since the e-mail is often among them.
func vcard(e *rdap.Entity) *rdap.VCard {
	if e.VCard != nil || e.DecodeData == nil {
		return e.VCard
	}
	raw := e.DecodeData.Value("vcardArray")
	if raw == nil {
		return nil
	}
	b, err := json.Marshal(raw)
	if err != nil {
		return nil
	}
	v, err := rdap.NewVCardWithOptions(b, rdap.VCardOptions{IgnoreInvalidProperties: true})
	if err != nil {
		return nil
	}
	return v
}

// entityEmails returns the entity's jCard e-mail addresses, lower-cased.
func entityEmails(e *rdap.Entity) []string {
	v := vcard(e)
	if v == nil {
		return nil
	}
	var out []string
	for _, p := range v.Get("email") {
		for _, s := range p.Values() {
			if m, ok := abuse.NormalEmail(s); ok && !slices.Contains(out, m) {
				out = append(out, m)
			}
		}
	}
	return out
}

// remarkDescription returns the first line of a remark titled
// "description" (APNIC and RIPE carry descr: lines there), for networks
// without a registrant.
func remarkDescription(rs []rdap.Remark) string {
	for _, r := range rs {
		if strings.EqualFold(r.Title, "description") && len(r.Description) > 0 {
			return abuse.CleanField(r.Description[0])
		}
	}
	return ""
}

// registryName names the registry from the answer's port43 (the whois
// server of the same registry), else from the host of the URL that
// answered; an unknown host is given as is.
func registryName(port43, server string) string {
	for _, h := range []string{port43, hostOf(server)} {
		if r := abuse.RegistryOf(h); r != "" {
			return r
		}
	}
	if h := abuse.CleanField(port43); h != "" {
		return h
	}
	return hostOf(server)
}

func hostOf(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return ""
	}
	return u.Hostname()
}

// quoteShort quotes s, cut to 100 bytes, for error messages.
func quoteShort(s string) string {
	if len(s) > 100 {
		return fmt.Sprintf("%q...", s[:100])
	}
	return fmt.Sprintf("%q", s)
}

// errorTitle returns the title of an RDAP error answer, "" for anything
// else.
func errorTitle(body []byte) string {
	var e struct {
		Title       string   `json:"title"`
		Description []string `json:"description"`
	}
	if json.Unmarshal(body, &e) != nil {
		return ""
	}
	return abuse.CleanField(strings.Join(append([]string{e.Title}, e.Description...), " "))
}
