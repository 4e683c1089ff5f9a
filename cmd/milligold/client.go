package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	milligold "github.com/milligold/milligold-go"
	"github.com/milligold/milligold-go/gen/apispec"
	"github.com/milligold/milligold-go/gen/middleware"
	"github.com/milligold/milligold-go/internal/quotakey"
	"github.com/milligold/milligold-go/sandbox"
)

// Base URL names --base-url and MILLIGOLD_BASE_URL accept besides a URL:
// local is the sandbox 'milligold sandbox' runs on this machine,
// hosted-sandbox milliGOLD's own.
var baseURLNames = map[string]string{
	"local":          "http://127.0.0.1:8080/partner",
	"hosted-sandbox": milligold.HostedSandboxURL,
	"production":     milligold.ProductionURL,
}

// oldSandboxName is what hosted-sandbox was called. It still means the
// hosted sandbox, so a script or an environment that says it keeps working
// and its credentials keep going where they went, but it says so on
// stderr: next to 'milligold sandbox' it reads as the local one.
const oldSandboxName = "sandbox"

// clientFlags are the flags of every command that calls the API.
type clientFlags struct {
	baseURL    string
	partnerID  string
	secretFile string
	insecure   bool // --insecure-http
	output     string
	timeout    time.Duration
	maxRetries int
	shared     sharedFlags
}

func (f *clientFlags) register(cmd *cobra.Command) {
	f.registerTarget(cmd)
	fs := cmd.Flags()
	fs.StringVarP(&f.output, "output", "o", "table", "output format: table or json")
	fs.DurationVar(&f.timeout, "timeout", 30*time.Second, "give up after this long")
	fs.IntVar(&f.maxRetries, "max-retries", milligold.DefaultMaxRetries, "retry a rate-limited call this many times, waiting (within --timeout) for the window to reset; 0 fails at once")
	f.shared.register(fs)
	_ = cmd.RegisterFlagCompletionFunc("output", cobra.FixedCompletions([]string{"table", "json"}, cobra.ShellCompDirectiveNoFileComp))
}

// registerTarget adds the flags that name the API and the partner, shared by
// every command that calls the API.
func (f *clientFlags) registerTarget(cmd *cobra.Command) {
	fs := cmd.Flags()
	fs.StringVar(&f.baseURL, "base-url", "", "the API: a URL with its base path, or local, hosted-sandbox or production (default $"+envBaseURL+", else local: the sandbox 'milligold sandbox' runs)")
	fs.StringVar(&f.partnerID, "partner-id", "", "the partner ID (default $"+envPartnerID+")")
	fs.StringVar(&f.secretFile, "partner-secret-file", "", "read the partner secret from this file (without it, the secret comes from $"+envPartnerSecret+")")
	fs.BoolVar(&f.insecure, "insecure-http", false, "allow a plain http --base-url to a host other than this machine (the secret then crosses the network unencrypted)")
	_ = cmd.RegisterFlagCompletionFunc("base-url", cobra.FixedCompletions([]string{"local", "hosted-sandbox", "production"}, cobra.ShellCompDirectiveNoFileComp))
}

// session is a configured client and what error messages need to know.
type session struct {
	client  *milligold.Client
	baseURL string
	output  string
	timeout time.Duration
}

// newSession checks the flags and the environment and builds the client;
// every problem here is a usage error.
func (a *app) newSession(f *clientFlags) (*session, error) {
	if f.output != "table" && f.output != "json" {
		return nil, usagef("-o %q: want table or json", f.output)
	}
	if f.timeout <= 0 {
		return nil, usagef("--timeout %s: want a positive duration", f.timeout)
	}
	if f.maxRetries < 0 {
		return nil, usagef("--max-retries %d: want 0 or more", f.maxRetries)
	}
	base, err := a.resolveBaseURL(f)
	if err != nil {
		return nil, err
	}
	id, secret, err := a.credentials(f, base)
	if err != nil {
		return nil, err
	}
	shared, err := a.sharedOptions(&f.shared)
	if err != nil {
		return nil, err
	}
	c, err := newClient(f, base, id, secret, append([]milligold.Option{
		milligold.WithMaxRetries(f.maxRetries),
		// Each attempt gets the whole --timeout, so "no answer within
		// --timeout" is true whichever bound ends a call.
		milligold.WithRequestTimeout(f.timeout),
	}, shared...)...)
	if err != nil {
		return nil, err
	}
	return &session{client: c, baseURL: base, output: f.output, timeout: f.timeout}, nil
}

// newClient is milligold.New for the target the flags name; a refused
// option is a usage error.
func newClient(f *clientFlags, base, id, secret string, opts ...milligold.Option) (*milligold.Client, error) {
	opts = append([]milligold.Option{
		milligold.WithBaseURL(base),
		milligold.WithCredentials(id, secret),
		milligold.WithUserAgent("milligold-cli/" + version()),
	}, opts...)
	if f.insecure {
		opts = append(opts, milligold.WithInsecureHTTP())
	}
	c, err := milligold.New(opts...)
	if err != nil {
		return nil, usageError{errors.New(strings.TrimPrefix(err.Error(), "milligold: "))}
	}
	return c, nil
}

// resolveBaseURL is the base URL --base-url or the environment names. Plain
// http goes only to this machine unless --insecure-http: the secret would
// cross the network in the clear.
func (a *app) resolveBaseURL(f *clientFlags) (string, error) {
	raw, from, said := f.baseURL, "--base-url", "--base-url "
	if raw == "" {
		raw, from, said = a.getenv(envBaseURL), envBaseURL, envBaseURL+"="
	}
	if raw == "" {
		raw = "local"
	}
	if raw == oldSandboxName {
		fmt.Fprintf(a.stderr, "milligold: note: %s%s is milliGOLD's hosted sandbox (%s); say hosted-sandbox, or local for the one 'milligold sandbox' runs\n", said, raw, milligold.HostedSandboxURL)
		raw = "hosted-sandbox"
	}
	if u, ok := baseURLNames[raw]; ok {
		return u, nil
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", usagef("%s %q: want an http(s) URL such as http://127.0.0.1:8080/partner, or local, hosted-sandbox or production", from, raw)
	}
	if u.Scheme == "http" && !f.insecure && !milligold.IsLoopbackHost(u.Hostname()) {
		return "", usagef("%s %q: plain http to a host other than this machine would send the partner secret unencrypted; use https, or pass --insecure-http if the network is trusted", from, raw)
	}
	return raw, nil
}

// credentials reads the partner ID and secret. With neither configured and
// a base URL on this machine, they are the local sandbox's defaults.
func (a *app) credentials(f *clientFlags, base string) (id, secret string, err error) {
	id = f.partnerID
	if id == "" {
		id = a.getenv(envPartnerID)
	}
	switch {
	case f.secretFile != "":
		if secret, err = readSecretFile(f.secretFile); err != nil {
			return "", "", err
		}
		if strings.TrimSpace(secret) == "" {
			return "", "", usagef("--partner-secret-file %s: the file is empty", f.secretFile)
		}
	default:
		secret = a.getenv(envPartnerSecret)
	}
	switch {
	case id == "" && secret == "" && isLoopback(base):
		// The sandbox's embedded partner: its secret is public and opens
		// nothing but a local sandbox.
		return sandbox.DefaultPartnerID, sandbox.DefaultPartnerSecret, nil
	case id == "" && secret == "":
		return "", "", usagef("no credentials for %s: pass --partner-id (or set %s) and set %s (or pass --partner-secret-file)", base, envPartnerID, envPartnerSecret)
	case id == "":
		return "", "", usagef("no partner ID: pass --partner-id or set %s", envPartnerID)
	case secret == "":
		return "", "", usagef("no partner secret: set %s or pass --partner-secret-file", envPartnerSecret)
	}
	return id, secret, nil
}

// maxSecretFile bounds what --partner-secret-file reads: a secret is short,
// and /dev/zero must not fill the memory.
const maxSecretFile = 4 << 10

// readSecretFile reads a secret from a regular file, without its final line
// break. Errors name the file, never its content.
func readSecretFile(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", usagef("--partner-secret-file: %v", err)
	}
	defer f.Close()
	if fi, err := f.Stat(); err != nil || !fi.Mode().IsRegular() {
		// A FIFO or a terminal would block the command.
		return "", usagef("--partner-secret-file %s: not a regular file", path)
	}
	b, err := io.ReadAll(io.LimitReader(f, maxSecretFile+1))
	switch {
	case err != nil:
		return "", usagef("--partner-secret-file: %v", err)
	case len(b) > maxSecretFile:
		return "", usagef("--partner-secret-file %s: larger than %d bytes; want just the secret", path, maxSecretFile)
	}
	return strings.TrimRight(string(b), "\r\n"), nil
}

func isLoopback(rawURL string) bool {
	u, err := url.Parse(rawURL)
	return err == nil && milligold.IsLoopbackHost(u.Hostname())
}

// call runs fn with the session's timeout.
func (s *session) call(ctx context.Context, fn func(context.Context) error) error {
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	if err := fn(ctx); err != nil {
		return explained{s.explain(err), err}
	}
	return nil
}

// explain turns a client error into one line that says what happened and
// what to do. The client's errors are already redacted.
func (s *session) explain(err error) error {
	var rl *milligold.RateLimitError
	var apiErr *milligold.APIError
	var re *milligold.RedirectError
	var ue *milligold.UnexpectedResponseError
	var wait *quotakey.WaitError
	switch {
	case errors.As(err, &re):
		where := "elsewhere on the same server"
		if re.CrossOrigin {
			where = "another server"
		}
		return fmt.Errorf("the API answered %s, a redirect to %s (%s); not followed, as the credentials go only to %s: check --base-url", statusText(re.StatusCode), re.Location, where, s.baseURL)
	case errors.As(err, &ue):
		return fmt.Errorf("unexpected answer from the API to %s (%s): %s; check that --base-url points at the milliGOLD API", ue.Operation, statusText(ue.StatusCode), ue.Reason)
	case errors.As(err, &rl):
		if rl.RetryAfter > 0 {
			return fmt.Errorf("rate limited; retry after %s", rl.RetryAfter)
		}
		return errors.New("rate limited; retry in a few seconds")
	case errors.As(err, &apiErr):
		return explainAPI(apiErr)
	case errors.As(err, &wait):
		return fmt.Errorf("the rate limit allows the next request in %s, after --timeout %s; wait, or raise --timeout", ceilSecond(wait.Wait), s.timeout)
	case errors.Is(err, context.DeadlineExceeded):
		return fmt.Errorf("no answer from %s within %s; try again, or raise --timeout", s.baseURL, s.timeout)
	case errors.Is(err, syscall.ECONNREFUSED) && isLoopback(s.baseURL):
		return fmt.Errorf("cannot reach %s: connection refused; start the sandbox with 'milligold sandbox', or pass --base-url", s.baseURL)
	}
	var netErr net.Error
	var dnsErr *net.DNSError
	if errors.As(err, &netErr) || errors.As(err, &dnsErr) || errors.Is(err, syscall.ECONNREFUSED) {
		return fmt.Errorf("cannot reach %s: %s; check --base-url and the network", s.baseURL, safeRootCause(err))
	}
	return errors.New(strings.TrimPrefix(err.Error(), "milligold: "))
}

func explainAPI(e *milligold.APIError) error {
	detail := ""
	if e.Message != "" {
		detail = ": " + e.Message
	}
	status := statusText(e.StatusCode)
	if e.ErrorCode != "" {
		status += ", errorCode " + e.ErrorCode // inside status's parentheses: one pair, not two
	}
	switch {
	case e.StatusCode == http.StatusUnauthorized && e.Operation == middleware.OpCreateAccessToken:
		return fmt.Errorf("the API refused the partner credentials (%s); check --partner-id/%s and %s or --partner-secret-file", status, envPartnerID, envPartnerSecret)
	case e.StatusCode == http.StatusUnauthorized:
		return fmt.Errorf("the API refused a fresh access token (%s); check that --base-url points at one API", status)
	case e.StatusCode == http.StatusNotFound && e.Operation == middleware.OpGetUserInfo:
		return fmt.Errorf("user not found (%s)%s; check the mobile number", status, detail)
	case e.StatusCode == http.StatusNotFound && documentsStatus(e.Operation, "404"):
		return fmt.Errorf("not found (%s)%s; check the parameters of %s", status, detail, e.Operation)
	case e.StatusCode == http.StatusNotFound:
		// The operation has no resource to miss: the URL is wrong.
		return fmt.Errorf("no such endpoint (%s)%s; check that --base-url includes the API's base path, such as https://api.milligold.in/partner", status, detail)
	case e.StatusCode >= 500:
		return fmt.Errorf("the API failed (%s)%s; try again later, and quote the errorCode if it persists", status, detail)
	case e.StatusCode >= 400:
		return fmt.Errorf("the API rejected the request (%s)%s", status, detail)
	}
	return fmt.Errorf("unexpected answer from the API (%s)%s", status, detail)
}

// documentsStatus reports whether the spec documents status for the
// operation opID: a documented 404 is a resource the API did not find, any
// other 404 a URL that names no operation.
func documentsStatus(opID, status string) bool {
	spec, err := apispec.GetSpec()
	if err != nil {
		return false
	}
	for _, item := range spec.Paths.Map() {
		for _, op := range item.Operations() {
			if op.OperationID == opID {
				return op.Responses.Value(status) != nil
			}
		}
	}
	return false
}

func statusText(code int) string {
	if t := http.StatusText(code); t != "" {
		return fmt.Sprintf("%d %s", code, t)
	}
	return fmt.Sprintf("HTTP %d", code)
}

// safeRootCause is rootCause when the client's own message, which it
// redacted, still shows it word for word; else the innermost error held
// something redaction took out (a server can echo the secret into a
// malformed status line, which net/http quotes), and the message is used.
func safeRootCause(err error) string {
	if cause := rootCause(err); strings.Contains(err.Error(), cause) {
		return cause
	}
	return strings.TrimPrefix(err.Error(), "milligold: ")
}

// rootCause is the innermost error's text: "connection refused" rather than
// the whole Get "…": dial tcp … chain.
func rootCause(err error) string {
	for {
		next := errors.Unwrap(err)
		if next == nil {
			return err.Error()
		}
		err = next
	}
}
