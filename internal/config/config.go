// Package config holds Rampart's policy file: one strict TOML file with
// exported defaults, validated up front. Unknown keys are errors, so a typo
// never silently falls back to a default.
//
// It must not open stores, databases or the network: it only reads and checks
// the file.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/BurntSushi/toml"

	"github.com/rampart-ids/rampart/internal/ipclass"
)

// DefaultPath is where Rampart looks for its config file when --config is
// not given. A missing file there means "all defaults".
const DefaultPath = "/etc/rampart/rampart.toml"

// Config is the parsed, validated policy file.
type Config struct {
	// LocalNetworks are the networks whose sources are "local" (scope
	// local) rather than "internet". Default: ipclass.DefaultLocalNetworks.
	LocalNetworks []netip.Prefix
	// Allowlist holds addresses and networks that are never blocked, on
	// top of the local networks (monitoring hosts, partners, management).
	Allowlist []netip.Prefix
	// ManagementNetworks are the networks the operator manages this host
	// from. Unlike the allowlist they are not cut out of block lists: the
	// lockout guard refuses a list that covers them (--force overrides).
	ManagementNetworks []netip.Prefix
	// Store is the embedded store's path; empty means the default location.
	Store string
	// GeoIPASN, GeoIPCountry and GeoIPCity are MaxMind-format database
	// files (GeoLite2, DB-IP lite, IPinfo lite) for "top --by asn|country"
	// and "ip"; empty: not configured. Absolute paths, because a service's
	// working directory is not the operator's.
	GeoIPASN     string
	GeoIPCountry string
	GeoIPCity    string
	// OssecDir is OSSEC's installation directory: ossec.conf (block
	// durations) is OssecDir/etc/ossec.conf, the rules files (rule names)
	// OssecDir/rules/*.xml. Default DefaultOssecDir.
	OssecDir string
	// Abuse is the [abuse] table: who abuse reports come from, how they
	// are mailed, and what is redacted from them (see abuse.go).
	Abuse Abuse
}

// DefaultOssecDir is where OSSEC installs itself.
const DefaultOssecDir = "/var/ossec"

// OssecConf is the path of OSSEC's main configuration file.
func (c Config) OssecConf() string { return filepath.Join(c.OssecDir, "etc", "ossec.conf") }

// OssecRules is the directory of OSSEC's rules files (local_rules.xml too).
func (c Config) OssecRules() string { return filepath.Join(c.OssecDir, "rules") }

// file is the TOML shape of Config.
type file struct {
	LocalNetworks      []string  `toml:"local_networks"`
	Allowlist          []string  `toml:"allowlist"`
	ManagementNetworks []string  `toml:"management_networks"`
	Store              string    `toml:"store"`
	GeoIPASN           string    `toml:"geoip_asn"`
	GeoIPCountry       string    `toml:"geoip_country"`
	GeoIPCity          string    `toml:"geoip_city"`
	OssecDir           string    `toml:"ossec_dir"`
	Abuse              abuseFile `toml:"abuse"`
}

// Defaults returns the configuration used when no file exists.
func Defaults() Config {
	return Config{LocalNetworks: ipclass.DefaultLocalNetworks(), OssecDir: DefaultOssecDir, Abuse: DefaultAbuse()}
}

// Load reads and validates the file at path. If path is DefaultPath and the
// file does not exist, Load returns Defaults; a missing file named
// explicitly is an error.
func Load(path string) (Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) && path == DefaultPath {
			return Defaults(), nil
		}
		return Config{}, fmt.Errorf("read config: %w", err)
	}
	return Parse(path, data)
}

// Parse validates a config file's contents; name is used in errors.
func Parse(name string, data []byte) (Config, error) {
	var f file
	md, err := toml.NewDecoder(bytes.NewReader(data)).Decode(&f)
	if err != nil {
		return Config{}, fmt.Errorf("config %s: %w", name, err)
	}
	if und := md.Undecoded(); len(und) > 0 {
		keys := make([]string, len(und))
		for i, k := range und {
			keys[i] = k.String()
		}
		return Config{}, fmt.Errorf("config %s: unknown key(s): %s", name, strings.Join(keys, ", "))
	}
	c := Defaults()
	if md.IsDefined("local_networks") {
		if c.LocalNetworks, err = parsePrefixes(name, "local_networks", f.LocalNetworks); err != nil {
			return Config{}, err
		}
	}
	if c.Allowlist, err = parsePrefixes(name, "allowlist", f.Allowlist); err != nil {
		return Config{}, err
	}
	if c.ManagementNetworks, err = parsePrefixes(name, "management_networks", f.ManagementNetworks); err != nil {
		return Config{}, err
	}
	c.Store = f.Store
	for _, g := range []struct {
		key  string
		val  string
		dest *string
	}{
		{"geoip_asn", f.GeoIPASN, &c.GeoIPASN},
		{"geoip_country", f.GeoIPCountry, &c.GeoIPCountry},
		{"geoip_city", f.GeoIPCity, &c.GeoIPCity},
	} {
		if err := checkDBPath(g.val); err != nil {
			return Config{}, fmt.Errorf("config %s: %s %q: %w", name, g.key, g.val, err)
		}
		*g.dest = g.val
	}
	if md.IsDefined("ossec_dir") {
		if f.OssecDir == "" {
			return Config{}, fmt.Errorf("config %s: ossec_dir: empty (the default is %s)", name, DefaultOssecDir)
		}
		if err := checkDBPath(f.OssecDir); err != nil {
			return Config{}, fmt.Errorf("config %s: ossec_dir %q: %w", name, f.OssecDir, err)
		}
		c.OssecDir = filepath.Clean(f.OssecDir)
	}
	if c.Abuse, err = parseAbuse(name, md, f.Abuse); err != nil {
		return Config{}, err
	}
	return c, nil
}

// checkDBPath accepts an empty path (not configured) or an absolute one; the
// file itself is opened, and checked, by whoever uses it.
func checkDBPath(p string) error {
	switch {
	case p == "":
		return nil
	case strings.ContainsFunc(p, func(r rune) bool { return r < 0x20 || r == 0x7f }):
		return errors.New("path contains a control character")
	case !filepath.IsAbs(p):
		return errors.New("path is not absolute")
	}
	return nil
}

// Marshal writes c as a TOML config file with comments.
func Marshal(c Config) []byte {
	var b bytes.Buffer
	b.WriteString("# Rampart configuration (TOML). Unknown keys are errors.\n\n")
	b.WriteString("# Networks whose sources count as local (--scope local) rather than internet.\n")
	b.WriteString("local_networks = [\n")
	for _, p := range c.LocalNetworks {
		fmt.Fprintf(&b, "  %q,\n", p.String())
	}
	b.WriteString("]\n\n")
	b.WriteString("# Addresses and networks never blocked, besides the local networks.\n")
	b.WriteString("allowlist = " + inlineList(c.Allowlist) + "\n\n")
	b.WriteString("# Networks this host is managed from: enforce apply refuses a block list that\n")
	b.WriteString("# covers them (--force overrides).\n")
	b.WriteString("management_networks = " + inlineList(c.ManagementNetworks) + "\n\n")
	b.WriteString("# Path of the embedded alert store; empty: /var/lib/rampart/rampart.db as root,\n")
	b.WriteString("# else $XDG_DATA_HOME/rampart/rampart.db.\n")
	fmt.Fprintf(&b, "store = %q\n", c.Store)
	b.WriteString("\n# MaxMind-format databases (.mmdb) for \"top --by asn|country\" and \"ip\":\n")
	b.WriteString("# GeoLite2-ASN, DB-IP ASN lite or IPinfo lite (which also gives countries);\n")
	b.WriteString("# GeoLite2-Country or DB-IP country lite; GeoLite2-City or DB-IP city lite.\n")
	b.WriteString("# Absolute paths; empty: not configured.\n")
	fmt.Fprintf(&b, "geoip_asn = %q\n", c.GeoIPASN)
	fmt.Fprintf(&b, "geoip_country = %q\n", c.GeoIPCountry)
	fmt.Fprintf(&b, "geoip_city = %q\n", c.GeoIPCity)
	b.WriteString("\n# OSSEC's installation directory: block durations from etc/ossec.conf,\n")
	b.WriteString("# rule names from rules/*.xml.\n")
	fmt.Fprintf(&b, "ossec_dir = %q\n", c.OssecDir)
	// Tables come after every top-level key: TOML puts a key written
	// after a table header into that table.
	marshalAbuse(&b, c.Abuse)
	return b.Bytes()
}

// parsePrefixes reads a list of networks; an error names the key and index.
func parsePrefixes(file, key string, list []string) ([]netip.Prefix, error) {
	out := make([]netip.Prefix, 0, len(list))
	for i, s := range list {
		p, err := ipclass.ParsePrefix(s)
		if err != nil {
			return nil, fmt.Errorf("config %s: %s[%d]: %w", file, key, i, err)
		}
		out = append(out, p)
	}
	return out, nil
}

// inlineList writes networks as a one-line TOML array.
func inlineList(list []netip.Prefix) string {
	var b strings.Builder
	b.WriteByte('[')
	for i, p := range list {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(strconv.Quote(p.String()))
	}
	b.WriteByte(']')
	return b.String()
}
