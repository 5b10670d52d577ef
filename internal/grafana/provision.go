package grafana

import (
	"bytes"
	"encoding/json"
	"fmt"
	"path"
	"strconv"
	"strings"
)

// MySQLSource is where the MySQL data source connects: the ossec-dbd
// database. The password is never written: Grafana reads it from the
// environment variable PasswordEnv when it loads the file.
type MySQLSource struct {
	Host     string // host:port
	Database string
	User     string
}

// PasswordEnv is the environment variable of the Grafana process that
// holds the ossec-dbd database password.
const PasswordEnv = "RAMPART_OSSEC_DB_PASSWORD"

// Placeholders of the MySQL data source when the operator names no database.
const (
	PlaceholderHost     = "localhost:3306"
	PlaceholderDatabase = "ossec"
	PlaceholderUser     = "grafana"
)

// Provisioning is what "rampart grafana export" writes.
type Provisioning struct {
	Options
	MySQLSource MySQLSource
	// PrometheusURL is where Grafana reaches the Prometheus that scrapes
	// Rampart.
	PrometheusURL string
	// DashboardsPath is the directory Grafana reads the dashboards'
	// JSON from: where DashboardDir ends up on Grafana's host.
	DashboardsPath string
}

// Paths of the files, relative to the export directory (Grafana's
// provisioning directory layout).
const (
	DatasourcesFile = "datasources/rampart.yaml"
	ProviderFile    = "dashboards/rampart.yaml"
	DashboardDir    = "dashboards/rampart"
)

// Files returns the provisioning files by path relative to the export
// directory: the data sources, the dashboard provider, and one JSON file
// per dashboard.
func (p Provisioning) Files() (map[string][]byte, error) {
	files := map[string][]byte{
		DatasourcesFile: p.datasources(),
		ProviderFile:    p.provider(),
	}
	for _, d := range Dashboards(p.Options) {
		b, err := MarshalDashboard(d)
		if err != nil {
			return nil, err
		}
		files[path.Join(DashboardDir, d.UID+".json")] = b
	}
	return files, nil
}

// MarshalDashboard returns a dashboard's JSON, indented, with a final
// newline.
func MarshalDashboard(d Dashboard) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(d); err != nil {
		return nil, fmt.Errorf("encode dashboard %q: %w", d.Title, err)
	}
	return b.Bytes(), nil
}

// yamlString quotes s for YAML: a JSON string is a valid double-quoted YAML
// scalar. A "$" is doubled because Grafana expands $NAME in provisioning
// files.
func yamlString(s string) string {
	b, _ := json.Marshal(strings.ReplaceAll(s, "$", "$$"))
	return string(b)
}

func (p Provisioning) datasources() []byte {
	m := p.MySQLSource
	if m.Host == "" {
		m.Host = PlaceholderHost
	}
	if m.Database == "" {
		m.Database = PlaceholderDatabase
	}
	if m.User == "" {
		m.User = PlaceholderUser
	}
	prom := p.PrometheusURL
	if prom == "" {
		prom = "http://localhost:9090"
	}
	my, pr := p.mysql(), p.prometheus()
	var b strings.Builder
	b.WriteString(`# Grafana data sources for Rampart, written by "rampart grafana export".
# Copy this file to Grafana's provisioning/datasources directory.
#
# The MySQL data source reads the ossec-dbd database. Give Grafana a user that
# can only read it, e.g.
#   CREATE USER 'grafana'@'grafana-host' IDENTIFIED BY '...';
#   GRANT SELECT ON ossec.* TO 'grafana'@'grafana-host';
# and set its password in the environment of the Grafana server as
# ` + PasswordEnv + ` (never in this file).
apiVersion: 1
datasources:
  - name: ` + yamlString(my.Name) + `
    type: mysql
    uid: ` + yamlString(my.UID) + `
    access: proxy
    url: ` + yamlString(m.Host) + `
    user: ` + yamlString(m.User) + `
    jsonData:
      database: ` + yamlString(m.Database) + `
      maxOpenConns: 5
      maxIdleConns: 2
      connMaxLifetime: 14400
    secureJsonData:
      password: "$` + PasswordEnv + `"
    editable: false
  - name: ` + yamlString(pr.Name) + `
    type: prometheus
    uid: ` + yamlString(pr.UID) + `
    access: proxy
    url: ` + yamlString(prom) + `
    jsonData:
      timeInterval: "15s"
    editable: false
`)
	return []byte(b.String())
}

func (p Provisioning) provider() []byte {
	dir := p.DashboardsPath
	if dir == "" {
		dir = "/etc/grafana/provisioning/" + DashboardDir
	}
	return []byte(`# Grafana dashboard provider for Rampart, written by "rampart grafana export".
# Copy this file to Grafana's provisioning/dashboards directory and the JSON
# files to the path below.
apiVersion: 1
providers:
  - name: "rampart"
    folder: "Rampart"
    type: file
    disableDeletion: false
    allowUiUpdates: false
    updateIntervalSeconds: ` + strconv.Itoa(60) + `
    options:
      path: ` + yamlString(dir) + `
      foldersFromFilesStructure: false
`)
}
