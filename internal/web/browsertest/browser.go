// Package browsertest drives a headless Chromium for the web UI's tests:
// it starts the browser with --remote-debugging-pipe and speaks the Chrome
// DevTools Protocol over that pipe (NUL-terminated JSON messages on file
// descriptors 3 and 4), so it needs neither a WebSocket client nor a
// listening debug port. It knows the few commands the tests use:
// navigate, evaluate, click, read the DOM, take screenshots, and it
// records JavaScript dialogs, exceptions and console errors (a Content-
// Security-Policy violation is one), which a test of hostile input
// expects to stay empty.
//
// Tests only: it starts processes and trusts the pages it is pointed at
// to be the test's own loopback server.
package browsertest

import (
	"bufio"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// Find returns the Chromium binary: $RAMPART_CHROMIUM, else chromium,
// chromium-browser, google-chrome on $PATH.
func Find() (string, error) {
	if p := os.Getenv("RAMPART_CHROMIUM"); p != "" {
		return p, nil
	}
	for _, n := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(n); err == nil {
			return p, nil
		}
	}
	return "", errors.New("no chromium on $PATH (Debian: apt-get install chromium; or set RAMPART_CHROMIUM)")
}

// Browser is a running headless Chromium.
type Browser struct {
	cmd  *exec.Cmd
	w    *os.File // the browser's fd 3: commands
	r    *os.File // the browser's fd 4: answers and events
	done chan struct{}

	mu      sync.Mutex
	nextID  int64
	pending map[int64]chan message
	pages   map[string]*Page // by session id
	err     error
	stderr  *strings.Builder
}

type message struct {
	ID        int64           `json:"id,omitempty"`
	Method    string          `json:"method,omitempty"`
	SessionID string          `json:"sessionId,omitempty"`
	Params    json.RawMessage `json:"params,omitempty"`
	Result    json.RawMessage `json:"result,omitempty"`
	Error     *struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
	} `json:"error,omitempty"`
}

// Start runs Chromium headless with a fresh profile in dir.
func Start(path, dir string) (*Browser, error) {
	// Commands flow parent → browser on one pipe, answers back on the
	// other; ExtraFiles[0] and [1] are the child's fds 3 and 4.
	cmdR, cmdW, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	outR, outW, err := os.Pipe()
	if err != nil {
		cmdR.Close()
		cmdW.Close()
		return nil, err
	}
	args := []string{
		"--headless", "--remote-debugging-pipe", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
		"--no-first-run", "--no-default-browser-check", "--disable-extensions", "--disable-background-networking",
		"--disable-sync", "--disable-component-update", "--disable-default-apps", "--metrics-recording-only",
		"--mute-audio", "--hide-scrollbars", "--password-store=basic", "--use-mock-keychain",
		"--user-data-dir=" + filepath.Join(dir, "profile"), "about:blank",
	}
	cmd := exec.Command(path, args...)
	cmd.ExtraFiles = []*os.File{cmdR, outW}
	var stderr strings.Builder
	cmd.Stderr = &limitedWriter{b: &stderr, max: 64 << 10}
	cmd.Env = append(os.Environ(), "HOME="+dir)
	if err := cmd.Start(); err != nil {
		cmdR.Close()
		cmdW.Close()
		outR.Close()
		outW.Close()
		return nil, fmt.Errorf("start %s: %w", path, err)
	}
	cmdR.Close()
	outW.Close()
	b := &Browser{cmd: cmd, w: cmdW, r: outR, done: make(chan struct{}), pending: map[int64]chan message{},
		pages: map[string]*Page{}, stderr: &stderr}
	go b.read()
	return b, nil
}

type limitedWriter struct {
	mu  sync.Mutex
	b   *strings.Builder
	max int
}

func (l *limitedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.b.Len() < l.max {
		l.b.Write(p[:min(len(p), l.max-l.b.Len())])
	}
	return len(p), nil
}

// read dispatches the browser's messages until the pipe closes.
func (b *Browser) read() {
	defer close(b.done)
	br := bufio.NewReaderSize(b.r, 1<<20)
	for {
		raw, err := br.ReadBytes(0)
		if err != nil {
			b.mu.Lock()
			b.err = fmt.Errorf("browser pipe: %w", err)
			for id, ch := range b.pending {
				close(ch)
				delete(b.pending, id)
			}
			b.mu.Unlock()
			return
		}
		var m message
		if err := json.Unmarshal(raw[:len(raw)-1], &m); err != nil {
			continue
		}
		b.mu.Lock()
		if m.ID != 0 {
			if ch := b.pending[m.ID]; ch != nil {
				delete(b.pending, m.ID)
				ch <- m
			}
			b.mu.Unlock()
			continue
		}
		p := b.pages[m.SessionID]
		b.mu.Unlock()
		if p != nil {
			p.event(m)
		}
	}
}

// call sends a command (to a page's session when session is set) and
// decodes its result into out (when not nil).
func (b *Browser) call(ctx context.Context, session, method string, params, out any) error {
	b.mu.Lock()
	if b.err != nil {
		err := b.err
		b.mu.Unlock()
		return err
	}
	b.nextID++
	id := b.nextID
	ch := make(chan message, 1)
	b.pending[id] = ch
	b.mu.Unlock()
	req := map[string]any{"id": id, "method": method}
	if params != nil {
		req["params"] = params
	}
	if session != "" {
		req["sessionId"] = session
	}
	raw, err := json.Marshal(req)
	if err != nil {
		return err
	}
	if _, err := b.w.Write(append(raw, 0)); err != nil {
		return fmt.Errorf("%s: %w", method, err)
	}
	select {
	case m, ok := <-ch:
		if !ok {
			return fmt.Errorf("%s: browser gone (stderr: %s)", method, b.Stderr())
		}
		if m.Error != nil {
			return fmt.Errorf("%s: %s (%d)", method, m.Error.Message, m.Error.Code)
		}
		if out != nil {
			return json.Unmarshal(m.Result, out)
		}
		return nil
	case <-ctx.Done():
		b.mu.Lock()
		delete(b.pending, id)
		b.mu.Unlock()
		return fmt.Errorf("%s: %w", method, ctx.Err())
	}
}

// Stderr returns what the browser wrote to stderr (the first 64 KiB).
func (b *Browser) Stderr() string {
	if lw, ok := b.cmd.Stderr.(*limitedWriter); ok {
		lw.mu.Lock()
		defer lw.mu.Unlock()
	}
	return b.stderr.String()
}

// Close asks the browser to quit and waits for it, killing it after a
// few seconds.
func (b *Browser) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	_ = b.call(ctx, "", "Browser.close", nil, nil)
	b.w.Close()
	select {
	case <-b.done:
	case <-time.After(5 * time.Second):
		_ = b.cmd.Process.Kill()
	}
	err := b.cmd.Wait()
	b.r.Close()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return nil // killed or exited after Browser.close
	}
	return err
}

// Page is one tab.
type Page struct {
	b       *Browser
	session string
	target  string

	mu       sync.Mutex
	loads    []chan struct{}
	dialogs  []string
	problems []string
}

// NewPage opens a tab of width × height CSS pixels.
func (b *Browser) NewPage(ctx context.Context, width, height int) (*Page, error) {
	var t struct {
		TargetID string `json:"targetId"`
	}
	if err := b.call(ctx, "", "Target.createTarget", map[string]any{"url": "about:blank"}, &t); err != nil {
		return nil, err
	}
	var a struct {
		SessionID string `json:"sessionId"`
	}
	if err := b.call(ctx, "", "Target.attachToTarget", map[string]any{"targetId": t.TargetID, "flatten": true}, &a); err != nil {
		return nil, err
	}
	p := &Page{b: b, session: a.SessionID, target: t.TargetID}
	b.mu.Lock()
	b.pages[a.SessionID] = p
	b.mu.Unlock()
	for _, c := range []struct {
		method string
		params any
	}{
		{"Page.enable", nil},
		{"Runtime.enable", nil},
		{"Log.enable", nil},
		{"Emulation.setDeviceMetricsOverride", map[string]any{"width": width, "height": height, "deviceScaleFactor": 1, "mobile": false}},
	} {
		if err := p.call(ctx, c.method, c.params, nil); err != nil {
			return nil, err
		}
	}
	return p, nil
}

func (p *Page) call(ctx context.Context, method string, params, out any) error {
	return p.b.call(ctx, p.session, method, params, out)
}

// event records what the tests check: loads, dialogs, errors.
func (p *Page) event(m message) {
	switch m.Method {
	case "Page.loadEventFired":
		p.mu.Lock()
		for _, ch := range p.loads {
			close(ch)
		}
		p.loads = nil
		p.mu.Unlock()
	case "Page.javascriptDialogOpening":
		var d struct {
			Type    string `json:"type"`
			Message string `json:"message"`
		}
		_ = json.Unmarshal(m.Params, &d)
		p.mu.Lock()
		p.dialogs = append(p.dialogs, d.Type+": "+d.Message)
		p.mu.Unlock()
		// Dismiss it, or the page would hang.
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			_ = p.call(ctx, "Page.handleJavaScriptDialog", map[string]any{"accept": false}, nil)
		}()
	case "Runtime.exceptionThrown":
		var e struct {
			ExceptionDetails struct {
				Text string `json:"text"`
			} `json:"exceptionDetails"`
		}
		_ = json.Unmarshal(m.Params, &e)
		p.problem("exception: " + e.ExceptionDetails.Text)
	case "Runtime.consoleAPICalled":
		var c struct {
			Type string `json:"type"`
		}
		_ = json.Unmarshal(m.Params, &c)
		// Only a script can call the console: the UI has none.
		p.problem("console." + c.Type + " called")
	case "Log.entryAdded":
		var l struct {
			Entry struct {
				Level  string `json:"level"`
				Source string `json:"source"`
				Text   string `json:"text"`
				URL    string `json:"url"`
			} `json:"entry"`
		}
		_ = json.Unmarshal(m.Params, &l)
		if l.Entry.Level == "error" || l.Entry.Level == "warning" {
			p.problem(l.Entry.Source + " " + l.Entry.Level + ": " + l.Entry.Text + " " + l.Entry.URL)
		}
	}
}

func (p *Page) problem(s string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.problems = append(p.problems, s)
}

// Dialogs returns the JavaScript dialogs (alert, confirm, prompt) pages
// opened so far.
func (p *Page) Dialogs() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.dialogs...)
}

// Problems returns exceptions, console calls and the browser's error and
// warning log entries (CSP violations among them) so far.
func (p *Page) Problems() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.problems...)
}

// expectLoad returns a channel closed at the next load event.
func (p *Page) expectLoad() chan struct{} {
	ch := make(chan struct{})
	p.mu.Lock()
	p.loads = append(p.loads, ch)
	p.mu.Unlock()
	return ch
}

func (p *Page) waitLoad(ctx context.Context, ch chan struct{}, what string) error {
	select {
	case <-ch:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("%s: no load event: %w", what, ctx.Err())
	}
}

// Navigate loads url and waits for its load event.
func (p *Page) Navigate(ctx context.Context, url string) error {
	ch := p.expectLoad()
	var r struct {
		ErrorText string `json:"errorText"`
	}
	if err := p.call(ctx, "Page.navigate", map[string]any{"url": url}, &r); err != nil {
		return err
	}
	if r.ErrorText != "" {
		return fmt.Errorf("navigate %s: %s", url, r.ErrorText)
	}
	return p.waitLoad(ctx, ch, "navigate "+url)
}

// Eval evaluates a JavaScript expression in the page (DevTools code, not
// subject to the page's CSP) and decodes its value into out (when not nil).
func (p *Page) Eval(ctx context.Context, expr string, out any) error {
	var r struct {
		Result struct {
			Value json.RawMessage `json:"value"`
		} `json:"result"`
		ExceptionDetails *struct {
			Text      string `json:"text"`
			Exception struct {
				Description string `json:"description"`
			} `json:"exception"`
		} `json:"exceptionDetails"`
	}
	if err := p.call(ctx, "Runtime.evaluate", map[string]any{"expression": expr, "returnByValue": true, "awaitPromise": true}, &r); err != nil {
		return err
	}
	if r.ExceptionDetails != nil {
		return fmt.Errorf("evaluate %q: %s %s", expr, r.ExceptionDetails.Text, r.ExceptionDetails.Exception.Description)
	}
	if out != nil && len(r.Result.Value) > 0 {
		return json.Unmarshal(r.Result.Value, out)
	}
	return nil
}

// SetValue sets the value of the form field selector finds.
func (p *Page) SetValue(ctx context.Context, selector, value string) error {
	sel, _ := json.Marshal(selector)
	val, _ := json.Marshal(value)
	var ok bool
	if err := p.Eval(ctx, fmt.Sprintf(`(() => { const e = document.querySelector(%s); if (!e) return false; e.value = %s; return true })()`, sel, val), &ok); err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("no element %s", selector)
	}
	return nil
}

// Click clicks the element selector finds, as a user would (a submit
// button submits its form with all its fields), and waits for the page
// that loads.
func (p *Page) Click(ctx context.Context, selector string) error {
	sel, _ := json.Marshal(selector)
	ch := p.expectLoad()
	var ok bool
	if err := p.Eval(ctx, fmt.Sprintf(`(() => { const e = document.querySelector(%s); if (!e) return false; e.click(); return true })()`, sel), &ok); err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("no element %s", selector)
	}
	return p.waitLoad(ctx, ch, "click "+selector)
}

// HTML returns the document as the browser built it.
func (p *Page) HTML(ctx context.Context) (string, error) {
	var s string
	err := p.Eval(ctx, "document.documentElement.outerHTML", &s)
	return s, err
}

// Count returns how many elements selector finds.
func (p *Page) Count(ctx context.Context, selector string) (int, error) {
	sel, _ := json.Marshal(selector)
	var n int
	err := p.Eval(ctx, fmt.Sprintf("document.querySelectorAll(%s).length", sel), &n)
	return n, err
}

// Text returns the text content of the first element selector finds.
func (p *Page) Text(ctx context.Context, selector string) (string, error) {
	sel, _ := json.Marshal(selector)
	var s *string
	if err := p.Eval(ctx, fmt.Sprintf(`(() => { const e = document.querySelector(%s); return e ? e.textContent : null })()`, sel), &s); err != nil {
		return "", err
	}
	if s == nil {
		return "", fmt.Errorf("no element %s", selector)
	}
	return *s, nil
}

// URL returns the page's current address.
func (p *Page) URL(ctx context.Context) (string, error) {
	var s string
	err := p.Eval(ctx, "location.href", &s)
	return s, err
}

// Screenshot writes a PNG of the whole page (not only the viewport) to
// path.
func (p *Page) Screenshot(ctx context.Context, path string) error {
	var m struct {
		CSSContentSize struct {
			Width  float64 `json:"width"`
			Height float64 `json:"height"`
		} `json:"cssContentSize"`
	}
	if err := p.call(ctx, "Page.getLayoutMetrics", nil, &m); err != nil {
		return err
	}
	clip := map[string]any{"x": 0, "y": 0, "width": math.Ceil(m.CSSContentSize.Width), "height": math.Ceil(m.CSSContentSize.Height), "scale": 1}
	var r struct {
		Data string `json:"data"`
	}
	if err := p.call(ctx, "Page.captureScreenshot", map[string]any{"format": "png", "clip": clip, "captureBeyondViewport": true}, &r); err != nil {
		return err
	}
	png, err := base64.StdEncoding.DecodeString(r.Data)
	if err != nil {
		return err
	}
	return os.WriteFile(path, png, 0o644)
}
