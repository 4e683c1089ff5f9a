//go:build browser

// The console in a real browser: chromedp drives Debian's chromium
// (make console-test; .ci/run installs chromium). Without chromium it fails.

package sandbox_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	cdplog "github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/milligold/milligold-go/gen/middleware"
	"github.com/milligold/milligold-go/sandbox"
)

func chromium(t *testing.T) string {
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Fatal("chromium is missing: apt-get install chromium (the console's browser test needs it)")
	return ""
}

// artifacts is where screenshots go: $SANDBOX_ARTIFACTS, else .artifacts/console
// at the module root (ignored by git).
func artifacts(t *testing.T) string {
	dir := os.Getenv("SANDBOX_ARTIFACTS")
	if dir == "" {
		dir = filepath.Join("..", ".artifacts", "console")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestConsoleInBrowser(t *testing.T) {
	exe := chromium(t)
	c := newCtl(t, roomy()...)
	root := strings.TrimSuffix(c.sb.URL, sandbox.BasePath)
	dir := artifacts(t)

	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(exe),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 1000),
	)
	defer cancelAlloc()
	ctx, cancelCtx := chromedp.NewContext(alloc)
	defer cancelCtx()
	ctx, cancel := context.WithTimeout(ctx, 90*time.Second)
	defer cancel()

	var mu sync.Mutex
	var problems []string
	note := func(format string, args ...any) {
		mu.Lock()
		problems = append(problems, fmt.Sprintf(format, args...))
		mu.Unlock()
	}
	if err := chromedp.Listen(ctx, func(ev any) {
		switch ev := ev.(type) {
		case *runtime.EventConsoleAPICalled:
			if ev.Type == runtime.ConsoleAPICalledTypeError || ev.Type == runtime.ConsoleAPICalledTypeAssert {
				var args []string
				for _, a := range ev.Args {
					args = append(args, string(a.Value)+a.Description)
				}
				note("console.%s: %s", ev.Type, strings.Join(args, " "))
			}
		case *runtime.EventExceptionThrown:
			d := ev.ExceptionDetails
			desc := d.Text
			if d.Exception != nil {
				desc += " " + d.Exception.Description
			}
			note("exception: %s", desc)
		case *cdplog.EventEntryAdded:
			if ev.Entry.Level == cdplog.EntryLevelError {
				note("log: %s %s", ev.Entry.Text, ev.Entry.URL)
			}
		}
	}); err != nil {
		t.Fatalf("start chromium (%s): %v", exe, err)
	}
	shot := func(name string) chromedp.Action[chromedp.Void] {
		return func(ctx context.Context, tg *chromedp.Target) (chromedp.Void, error) {
			png, err := chromedp.CaptureScreenshot()(ctx, tg)
			if err != nil {
				return chromedp.Void{}, err
			}
			return chromedp.Void{}, os.WriteFile(filepath.Join(dir, name), png, 0o644)
		}
	}
	// small is the console's upper part at 3/4 scale: README's picture (docs/console.png).
	small := func(ctx context.Context, tg *chromedp.Target) (chromedp.Void, error) {
		r, err := cdp.Call(ctx, tg, page.CaptureScreenshot, page.CaptureScreenshotParams{
			Clip: &page.Viewport{X: 0, Y: 0, Width: 1280, Height: 580, Scale: 0.75},
		})
		if err != nil {
			return chromedp.Void{}, err
		}
		return chromedp.Void{}, os.WriteFile(filepath.Join(dir, "console-small.png"), r.Data, 0o644)
	}
	do := func(step string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(ctx, actions...); err != nil {
			chromedp.Do(ctx, shot("failed.png"))
			t.Fatalf("%s: %v (screenshot in %s)", step, err, dir)
		}
	}
	eval := func(step, js string, out any) {
		t.Helper()
		v, err := chromedp.Run(ctx, chromedp.Evaluate[json.RawMessage](js))
		if err == nil {
			err = json.Unmarshal(v, out)
		}
		if err != nil {
			t.Fatalf("%s: %v", step, err)
		}
	}
	poll := func(js string, d time.Duration) chromedp.Action[chromedp.Void] {
		return chromedp.Poll[chromedp.Void](js, chromedp.WithPollingTimeout(d))
	}

	// The page loads, the reference lists every operation of the spec and
	// the journal's stream is live.
	do("open the console",
		chromedp.Navigate(root+sandbox.ControlPrefix+"#token="+c.sb.ControlToken),
		chromedp.WaitVisible(chromedp.CSS(`#reference [data-section-id]`)),
		poll(`document.querySelector('#stream-state').textContent === '(live)'`, 30*time.Second),
	)
	var sections []string
	eval("read the reference", `Array.from(document.querySelectorAll('#reference [data-section-id]')).map(e => e.getAttribute('data-section-id'))`, &sections)
	for _, op := range middleware.Operations {
		found := false
		for _, s := range sections {
			found = found || strings.HasSuffix(s, "operation/"+op.ID)
		}
		if !found {
			t.Errorf("the reference has no section for %s; sections: %q", op.ID, sections)
		}
	}
	var text string
	eval("read a curl example", `document.querySelector('#reference').innerText`, &text)
	if !strings.Contains(text, "curl -sS '"+c.sb.URL+"/gold/rate'") {
		t.Errorf("the reference shows no curl example against %s", c.sb.URL)
	}
	var hash string
	eval("read the URL", `location.hash`, &hash)
	if hash != "" {
		t.Errorf("the control token stays in the URL: %d characters of fragment", len(hash))
	}

	// A request from a plain HTTP client shows within a second, with its status.
	tok := c.token()
	if res, _ := c.goldRate(tok); res.StatusCode != 200 {
		t.Fatalf("gold rate = %d", res.StatusCode)
	}
	sent := time.Now()
	do("the gold rate call in the journal", poll(`document.querySelector('#journal tr[data-operation="getGoldRate"][data-status="200"]') !== null`, 5*time.Second))
	if took := time.Since(sent); took > time.Second {
		t.Errorf("the call showed in the journal after %v; want within a second", took)
	}

	// A 400 shows its validation reason in the detail pane.
	if res, _ := c.do("GET", c.sb.URL+"/user/info/123", "", "Bearer "+tok); res.StatusCode != 400 {
		t.Fatalf("bad mobile number = %d", res.StatusCode)
	}
	do("open the 400",
		chromedp.WaitVisible(chromedp.CSS(`#journal tr[data-status="400"]`)),
		chromedp.Click(chromedp.CSS(`#journal tr[data-status="400"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#detail .reason`)),
		shot("console.png"),
		small,
	)
	detail, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`#detail`)))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(detail, "path parameter mobileNumber") || !strings.Contains(detail, "Bearer [redacted]") {
		t.Errorf("detail pane of the 400 = %q; want the validation reason and the redacted token", detail)
	}
	if strings.Contains(detail, tok) {
		t.Error("the detail pane shows the access token")
	}

	// Advancing the clock an hour from the console expires the token.
	do("advance the clock",
		chromedp.Click(chromedp.CSS(`#advance-hour`)),
		poll(`document.querySelector('#status').textContent.startsWith('clock moved')`, 10*time.Second),
	)
	if res, body := c.goldRate(tok); res.StatusCode != 401 {
		t.Fatalf("the old token after +1 h from the console = %d %s; want 401", res.StatusCode, body)
	}
	do("the 401 in the journal",
		chromedp.WaitVisible(chromedp.CSS(`#journal tr[data-status="401"]`)),
		chromedp.Click(chromedp.CSS(`#journal tr[data-status="401"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#detail .reason`)),
		shot("console-401.png"),
	)

	// A fault from the console's form.
	do("add a fault",
		chromedp.SetValue(chromedp.CSS(`#fault-operation`), "getGoldRate"),
		chromedp.SetValue(chromedp.CSS(`#fault-kind`), "500"),
		chromedp.Click(chromedp.CSS(`#fault-form button`)),
		poll(`document.querySelectorAll('#faults li').length === 1`, 10*time.Second),
	)
	if res, _ := c.goldRate(c.token()); res.StatusCode != 500 {
		t.Errorf("gold rate after a 500 fault from the console = %d", res.StatusCode)
	}
	do("the 500 in the journal", chromedp.WaitVisible(chromedp.CSS(`#journal tr[data-status="500"]`)))

	mu.Lock()
	defer mu.Unlock()
	for _, p := range problems {
		t.Errorf("browser: %s", p)
	}
}
