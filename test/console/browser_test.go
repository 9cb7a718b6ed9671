package console_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/tollgate-dev/tollgate/internal/testutil"
)

// browser is one headless Chromium for the whole suite; every test opens
// its own tab (its own sessionStorage, so it starts signed out) and every
// request a page makes is recorded, so the suite can check none left the
// gateway's origin.
type browser struct {
	ctx    context.Context
	origin string

	// idp is the identity provider's origin: single sign-on navigates the
	// tab there and back (a page never loads anything from it).
	idp string

	mu        sync.Mutex
	requests  []string // every URL a page asked for
	problems  []string // CSP violations, uncaught exceptions, console errors
	artifacts string
}

// chromiumPath finds Debian's chromium (make deps installs it).
func chromiumPath(t *testing.T) string {
	t.Helper()
	for _, p := range []string{os.Getenv("TOLLGATE_CHROMIUM"), "/usr/bin/chromium", "/usr/bin/chromium-browser"} {
		if p == "" {
			continue
		}
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	if p, err := exec.LookPath("chromium"); err == nil {
		return p
	}
	t.Fatal("chromium is not installed: run 'make deps' (it installs Debian's chromium package)")
	return ""
}

// newBrowser starts Chromium with the flags that work on this kind of
// machine (no sandbox as root, no GPU, no background traffic).
func newBrowser(t *testing.T, origin string) *browser {
	t.Helper()
	// The profile is removed by our cleanup, not t.TempDir's: Chromium's
	// helper processes may still write to it for a moment after the
	// browser is killed, and t.TempDir fails the test when RemoveAll does.
	profile, err := os.MkdirTemp("", "tollgate-chromium-")
	if err != nil {
		t.Fatal(err)
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromiumPath(t)),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.UserDataDir(profile),
		chromedp.WindowSize(1366, 900),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("disable-default-apps", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("lang", "en-US"),
		chromedp.Flag("metrics-recording-only", true),
		chromedp.Flag("password-store", "basic"),
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	if err := chromedp.Run(ctx); err != nil {
		cancel()
		cancelAlloc()
		_ = os.RemoveAll(profile)
		t.Fatalf("start chromium: %v", err)
	}
	t.Cleanup(func() {
		cancel()
		cancelAlloc()
		if err := testutil.Poll(context.Background(), 10*time.Second, func() error { return os.RemoveAll(profile) }); err != nil {
			t.Logf("chromium profile %s left behind: %v", profile, err)
		}
	})
	b := &browser{ctx: ctx, origin: origin}
	if dir := os.Getenv("TOLLGATE_ARTIFACTS"); dir != "" {
		b.artifacts = filepath.Join(dir, "console")
	} else {
		b.artifacts = t.ArtifactDir()
	}
	if err := os.MkdirAll(b.artifacts, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshots in %s", b.artifacts)
	return b
}

// tab opens a new tab, closed when the test ends.
func (b *browser) tab(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := chromedp.NewContext(b.ctx)
	t.Cleanup(cancel)
	chromedp.ListenTarget(ctx, func(ev any) {
		switch ev := ev.(type) {
		case *network.EventRequestWillBeSent:
			if b.fromIdP(ev.DocumentURL) || b.idp != "" && ev.Type == network.ResourceTypeDocument && strings.HasPrefix(ev.Request.URL, b.idp+"/") {
				break // the sign-in's navigation to the identity provider, and its page
			}
			b.mu.Lock()
			b.requests = append(b.requests, ev.Request.URL)
			b.mu.Unlock()
		case *runtime.EventExceptionThrown:
			b.problem(t, "uncaught exception: %s", ev.ExceptionDetails.Error())
		case *log.EventEntryAdded:
			if ev.Entry.Level == log.LevelError && !expectedError(ev.Entry.Text) && !b.fromIdP(ev.Entry.URL) {
				b.problem(t, "browser log: %s (%s)", ev.Entry.Text, ev.Entry.URL)
			}
		case *runtime.EventConsoleAPICalled:
			if ev.Type == runtime.APITypeError {
				var parts []string
				for _, a := range ev.Args {
					parts = append(parts, string(a.Value))
				}
				if text := strings.Join(parts, " "); !expectedError(text) {
					b.problem(t, "console.error: %s", text)
				}
			}
		}
	})
	// In front: a background tab gets no animation frames (the console
	// renders in them) and no screenshots.
	if err := chromedp.Run(ctx, network.Enable(), log.Enable(), runtime.Enable(), page.BringToFront()); err != nil {
		t.Fatal(err)
	}
	return ctx
}

// expectedError reports browser log lines that tests cause on purpose:
// the gateway's refusals of bad credentials and forbidden calls are HTTP
// errors the browser logs as failed loads.
func expectedError(text string) bool {
	return strings.Contains(text, "status of 401") || strings.Contains(text, "status of 403")
}

// fromIdP reports whether u is on the identity provider's origin.
func (b *browser) fromIdP(u string) bool {
	return b.idp != "" && strings.HasPrefix(u, b.idp+"/")
}

func (b *browser) problem(t *testing.T, format string, args ...any) {
	b.mu.Lock()
	defer b.mu.Unlock()
	msg := fmt.Sprintf(format, args...)
	b.problems = append(b.problems, msg)
	t.Log(msg)
}

// checkOrigin fails t for every request a page made outside the
// gateway's origin (blob: downloads and data: URLs stay in the page).
func (b *browser) checkOrigin(t *testing.T) {
	t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.requests) == 0 {
		t.Fatal("no request was recorded: network events are not arriving")
	}
	for _, u := range b.requests {
		if strings.HasPrefix(u, b.origin+"/") || strings.HasPrefix(u, "data:") || strings.HasPrefix(u, "blob:"+b.origin+"/") {
			continue
		}
		t.Errorf("a page requested %s, outside the gateway's origin %s", u, b.origin)
	}
	for _, p := range b.problems {
		t.Errorf("%s", p)
	}
	t.Logf("%d requests, all to %s", len(b.requests), b.origin)
}

// screenshot saves the tab's full page as name.png.
func (b *browser) screenshot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	var png []byte
	run(t, ctx, "screenshot "+name, page.BringToFront(), chromedp.FullScreenshot(&png, 100))
	if err := os.WriteFile(filepath.Join(b.artifacts, name+".png"), png, 0o644); err != nil {
		t.Fatal(err)
	}
}

// run runs actions in ctx with a deadline, failing t with what was being done.
func run(t *testing.T, ctx context.Context, what string, actions ...chromedp.Action) {
	t.Helper()
	tctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := chromedp.Run(tctx, actions...); err != nil {
		// What the page showed, for the failure message.
		dctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		var html, loc string
		_ = chromedp.Run(dctx, chromedp.Location(&loc), chromedp.OuterHTML("body", &html, chromedp.ByQuery))
		if errors.Is(err, context.DeadlineExceeded) {
			err = fmt.Errorf("timed out: %w", err)
		}
		t.Fatalf("%s: %v\nat %s, page: %.4000s", what, err, loc, html)
	}
}

// signIn opens the console in ctx and signs in with token.
func (b *browser) signIn(t *testing.T, ctx context.Context, token string) {
	t.Helper()
	run(t, ctx, "sign in",
		chromedp.Navigate(b.origin+"/ui/"),
		chromedp.WaitVisible("#token", chromedp.ByQuery),
		chromedp.SendKeys("#token", token, chromedp.ByQuery),
		chromedp.Click(`button[type=submit]`, chromedp.ByQuery),
		chromedp.WaitVisible("#caller", chromedp.ByQuery),
	)
}

// open goes to a console page (a path below /ui/) by the navigation, as a
// person would, or by URL when it has a query.
func open(t *testing.T, ctx context.Context, origin, page, waitFor string) {
	t.Helper()
	if strings.Contains(page, "?") {
		run(t, ctx, "open "+page, chromedp.Navigate(origin+"/ui/"+page), chromedp.WaitVisible(waitFor, chromedp.ByQuery))
		return
	}
	run(t, ctx, "open "+page,
		chromedp.Click(fmt.Sprintf(`nav a[href="/ui/%s"]`, page), chromedp.ByQuery),
		chromedp.WaitVisible(waitFor, chromedp.ByQuery),
	)
}

// evalJSON evaluates a JavaScript expression in the page into v.
func evalJSON(t *testing.T, ctx context.Context, expr string, v any) {
	t.Helper()
	var raw []byte
	run(t, ctx, "evaluate "+expr, chromedp.Evaluate(`JSON.stringify(`+expr+`)`, &raw))
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		t.Fatalf("evaluate %s: %v", expr, err)
	}
	if err := json.Unmarshal([]byte(s), v); err != nil {
		t.Fatalf("evaluate %s: %v (%s)", expr, err, s)
	}
}
