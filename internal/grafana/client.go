package grafana

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// DefaultTimeout bounds each request to Grafana.
const DefaultTimeout = 30 * time.Second

// maxResponse caps how much of a Grafana answer is read.
const maxResponse = 1 << 20

// Client talks to Grafana's HTTP API with a service account token (or the
// basic-auth user in the URL).
type Client struct {
	base  *url.URL
	token string
	http  *http.Client
}

// NewClient returns a client for the Grafana at rawURL (e.g.
// http://grafana:3000, with a sub-path if Grafana is served under one).
// A nil hc means a client with DefaultTimeout.
func NewClient(rawURL, token string, hc *http.Client) (*Client, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, fmt.Errorf("grafana url %q: %w", redactURL(rawURL), err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Hostname() == "" {
		return nil, fmt.Errorf("grafana url %q: want http(s)://host[:port][/path]", redactURL(rawURL))
	}
	if token == "" && u.User == nil {
		return nil, errors.New("grafana: no token: pass --token (or GRAFANA_TOKEN) with a service account token")
	}
	if hc == nil {
		hc = &http.Client{Timeout: DefaultTimeout}
	}
	u.Path = strings.TrimSuffix(u.Path, "/")
	return &Client{base: u, token: token, http: hc}, nil
}

func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil || u.User == nil {
		return s
	}
	return u.Redacted()
}

// APIError is an error answer from Grafana: its status and its message.
type APIError struct {
	Method, Path string
	Status       int
	Message      string
}

func (e *APIError) Error() string {
	return fmt.Sprintf("grafana: %s %s: %d %s: %s", e.Method, e.Path, e.Status, http.StatusText(e.Status), e.Message)
}

// do sends a JSON request and decodes a JSON answer into out.
func (c *Client) do(ctx context.Context, method, p string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return fmt.Errorf("grafana: encode %s %s: %w", method, p, err)
		}
		body = bytes.NewReader(b)
	}
	u := *c.base
	u.Path += p
	req, err := http.NewRequestWithContext(ctx, method, u.String(), body)
	if err != nil {
		return fmt.Errorf("grafana: %s %s: %w", method, p, err)
	}
	req.Header.Set("Accept", "application/json")
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // url.Error repeats the URL, which may carry a password
		}
		return fmt.Errorf("grafana: %s %s%s: %w", method, c.base.Redacted(), p, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse))
	if err != nil {
		return fmt.Errorf("grafana: %s %s: read answer: %w", method, p, err)
	}
	if resp.StatusCode/100 != 2 {
		return &APIError{Method: method, Path: p, Status: resp.StatusCode, Message: message(data)}
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			return fmt.Errorf("grafana: %s %s: answer is not the JSON expected: %w", method, p, err)
		}
	}
	return nil
}

// message is Grafana's error message: the "message" of its JSON answer,
// else the start of the body as text.
func message(data []byte) string {
	var m struct {
		Message string `json:"message"`
		Status  string `json:"status"`
	}
	if json.Unmarshal(data, &m) == nil && m.Message != "" {
		if m.Status != "" {
			return m.Message + " (" + m.Status + ")"
		}
		return m.Message
	}
	s := strings.TrimSpace(string(data))
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return ' '
		}
		return r
	}, s)
	if s == "" {
		return "(empty answer)"
	}
	return s
}

// Folder is a Grafana folder.
type Folder struct {
	UID   string `json:"uid"`
	Title string `json:"title"`
}

// EnsureFolder returns the uid of the folder titled title, creating it if
// there is none.
func (c *Client) EnsureFolder(ctx context.Context, title string) (string, error) {
	var folders []Folder
	if err := c.do(ctx, http.MethodGet, "/api/folders", nil, &folders); err != nil {
		return "", err
	}
	for _, f := range folders {
		if f.Title == title {
			return f.UID, nil
		}
	}
	var f Folder
	if err := c.do(ctx, http.MethodPost, "/api/folders", map[string]string{"title": title}, &f); err != nil {
		return "", err
	}
	if f.UID == "" {
		return "", fmt.Errorf("grafana: POST /api/folders: no uid in the answer for folder %q", title)
	}
	return f.UID, nil
}

// Pushed is Grafana's answer to a dashboard upload.
type Pushed struct {
	UID     string `json:"uid"`
	URL     string `json:"url"`
	Status  string `json:"status"`
	Version int    `json:"version"`
}

// PushDashboard uploads d into the folder folderUID ("" for General),
// replacing the dashboard with the same uid (POST /api/dashboards/db with
// overwrite).
func (c *Client) PushDashboard(ctx context.Context, d Dashboard, folderUID, message string) (Pushed, error) {
	d.ID = nil
	body := struct {
		Dashboard Dashboard `json:"dashboard"`
		FolderUID string    `json:"folderUid,omitempty"`
		Overwrite bool      `json:"overwrite"`
		Message   string    `json:"message,omitempty"`
	}{d, folderUID, true, message}
	var p Pushed
	if err := c.do(ctx, http.MethodPost, "/api/dashboards/db", body, &p); err != nil {
		return Pushed{}, err
	}
	return p, nil
}

// URL returns the absolute address of a path Grafana answered (Pushed.URL).
func (c *Client) URL(p string) string {
	u := *c.base
	u.User = nil
	u.Path = ""
	if !strings.HasPrefix(p, "/") {
		p = "/" + p
	}
	// Grafana's answer already includes its sub-path.
	return strings.TrimSuffix(u.String(), "/") + p
}
