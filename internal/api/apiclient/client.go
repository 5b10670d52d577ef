// Package apiclient is the admin side's HTTP client for the server API
// (docs/api.md): the token, decisions and agents commands use it. Agents and
// sensors have their own loops in internal/agent and internal/sensor.
//
// It must not import the server.
package apiclient

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/rampart-ids/rampart/internal/api"
)

// Client calls the API with a bearer token.
type Client struct {
	Base  string
	Token string
	HTTP  *http.Client
}

// New returns a client with a 30 s timeout.
func New(base, token string) (*Client, error) {
	if base == "" {
		return nil, errors.New("no server: give --server URL (or RAMPART_SERVER)")
	}
	if token == "" {
		return nil, errors.New("no token: give --token TOKEN (or RAMPART_TOKEN)")
	}
	return &Client{Base: strings.TrimRight(base, "/"), Token: token, HTTP: &http.Client{Timeout: 30 * time.Second}}, nil
}

// StatusError is an API error answer.
type StatusError struct {
	Status int
	Msg    string
}

func (e *StatusError) Error() string { return fmt.Sprintf("server: %s (HTTP %d)", e.Msg, e.Status) }

// Do sends in (JSON, when not nil) and decodes the answer into out (when
// not nil).
func (c *Client) Do(ctx context.Context, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.Base+path, body)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+c.Token)
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.HTTP.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode >= 300 {
		var e api.Error
		if json.Unmarshal(data, &e) != nil || e.Error == "" {
			e.Error = strings.TrimSpace(string(data))
		}
		return &StatusError{Status: resp.StatusCode, Msg: e.Error}
	}
	if out != nil && len(data) > 0 {
		if err := json.Unmarshal(data, out); err != nil {
			return fmt.Errorf("server answer: %w", err)
		}
	}
	return nil
}
