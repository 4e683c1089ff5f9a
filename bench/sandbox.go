package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"

	"github.com/milligold/milligold-go/sandbox"
)

// startSandbox serves the sandbox as `milligold sandbox` does (request
// validation, JWT check, rate-limit accounting, its text request log through
// the same buffered writer, here into /dev/null) on a fresh loopback port, and
// gets a token for the default partner. Only the limit is raised, to more
// than wrk can send in its one-second window, so it never trips. The targets
// are GET /gold/rate with the token and POST /auth/token with the partner's
// form.
//
// With control, it is `milligold sandbox --control`: the control API, the
// request journal at its default size and the console, with one console
// open (its journal event stream read and dropped, as a browser tab
// showing the console does).
func startSandbox(ctx context.Context, control bool) (rate, token Target, err error) {
	logFile, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		return Target{}, Target{}, err
	}
	logger, requestLog := sandbox.NewTextLog(logFile)
	cfg := sandbox.Default()
	cfg.RateLimit.Requests = 1 << 20
	cfg.RateLimit.WindowSeconds = 1
	cfg.Logger = logger
	closeLog := func() { requestLog.Close(); logFile.Close() }
	var h *sandbox.Sandbox
	if control {
		h, err = sandbox.NewWithControl(cfg, sandbox.ControlOptions{})
	} else {
		h, err = sandbox.New(cfg)
	}
	if err != nil {
		closeLog()
		return Target{}, Target{}, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		closeLog()
		return Target{}, Target{}, err
	}
	sctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- sandbox.Serve(sctx, ln, h, sandbox.ServeOptions{Logger: logger}) }()
	stop := func() { cancel(); <-done; closeLog() }
	if control {
		stopConsole, err := openConsole(sctx, "http://"+ln.Addr().String(), h.Control().Token())
		if err != nil {
			stop()
			return Target{}, Target{}, err
		}
		stop = func() { stopConsole(); h.Control().CloseStreams(); cancel(); <-done; closeLog() }
	}

	base := "http://" + ln.Addr().String() + sandbox.BasePath
	tok, err := fetchToken(ctx, base, sandbox.DefaultPartnerID, sandbox.DefaultPartnerSecret)
	if err != nil {
		stop()
		return Target{}, Target{}, err
	}
	name := "sandbox GET"
	if control {
		name = "sandbox --control GET"
	}
	rate = Target{Name: name, URL: base + "/gold/rate", Header: "Authorization: Bearer " + tok, Stop: stop, Histogram: true}
	token = Target{Name: "sandbox POST", URL: base + "/auth/token", Method: http.MethodPost,
		Body:        url.Values{"partnerId": {sandbox.DefaultPartnerID}, "partnerSecret": {sandbox.DefaultPartnerSecret}}.Encode(),
		ContentType: "application/x-www-form-urlencoded"}
	return rate, token, nil
}

// fetchToken asks base's createAccessToken for a token. Errors never carry
// the secret or the token.
func fetchToken(ctx context.Context, base, id, secret string) (string, error) {
	form := url.Values{"partnerId": {id}, "partnerSecret": {secret}}.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/auth/token", strings.NewReader(form))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", fmt.Errorf("token request: %w", err)
	}
	defer resp.Body.Close()
	var body struct {
		Data struct {
			AccessToken string `json:"accessToken"`
		} `json:"data"`
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("token request: %s", resp.Status)
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil || body.Data.AccessToken == "" {
		return "", fmt.Errorf("token request: no accessToken in the answer (%v)", err)
	}
	return body.Data.AccessToken, nil
}

// openConsole reads the journal's event stream (what the console shows) and
// drops it, until the returned stop is called.
func openConsole(ctx context.Context, origin, controlToken string) (stop func(), err error) {
	ctx, cancel := context.WithCancel(ctx)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, origin+sandbox.ControlPrefix+"api/journal/stream", nil)
	if err != nil {
		cancel()
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+controlToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		cancel()
		return nil, fmt.Errorf("console stream: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		resp.Body.Close()
		cancel()
		return nil, fmt.Errorf("console stream: %s", resp.Status)
	}
	done := make(chan struct{})
	go func() { io.Copy(io.Discard, resp.Body); resp.Body.Close(); close(done) }()
	return func() { cancel(); <-done }, nil
}
