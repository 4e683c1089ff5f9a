package conformance

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/milligold/milligold-go/gen/api"
	"github.com/milligold/milligold-go/gen/middleware"
	"github.com/milligold/milligold-go/internal/loopback"
)

// requestTimeout bounds each request the suite sends.
const requestTimeout = 30 * time.Second

// Run runs the suite against target, one case at a time in a fixed order,
// and reports every case. A case fails when its answer is wrong or when its
// traffic violates openapi.yaml; optional cases that opts leaves off are
// skipped and their pairs reported as not exercised. Run never returns
// early on a failed case; it stops when ctx is done. Calls are independent
// (each has its own client and state), so Run is safe for concurrent use,
// though concurrent runs share the target's rate limit.
func Run(ctx context.Context, target Target, opts Options) Report {
	all, err := suiteCases()
	if err != nil {
		return Report{BaseURL: target.BaseURL, Error: err.Error()}
	}
	return run(ctx, target, opts, all)
}

// run runs the cases all, in order.
func run(ctx context.Context, target Target, opts Options, all []testCase) Report {
	rep := Report{BaseURL: target.BaseURL}
	if target.MobileNumber == "" {
		target.MobileNumber = DefaultMobileNumber
	}
	if target.UnknownMobileNumber == "" {
		target.UnknownMobileNumber = DefaultUnknownMobileNumber
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Sleep == nil {
		opts.Sleep = realSleep
	}
	if u, err := url.Parse(target.BaseURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		rep.Error = fmt.Sprintf("base URL %q is not an http(s) URL", target.BaseURL)
		return rep
	} else if u.Scheme == "http" && !target.InsecureHTTP && !loopback.Host(u.Hostname()) {
		rep.Error = fmt.Sprintf("base URL %q: plain http to a host other than this machine would send the partner secret and tokens unencrypted; use https, or set Target.InsecureHTTP if the network is trusted", u.Redacted())
		return rep
	}
	tr, err := NewTransport(target.BaseURL, target.Transport)
	if err != nil {
		rep.Error = err.Error()
		return rep
	}
	s := &session{target: target, opts: opts, pol: middleware.RateLimit}
	p := &pacer{
		// No redirect is followed: a 307 would re-send the secret, and any
		// 3xx the token, to wherever it points. The case gets the 3xx,
		// which the spec does not document, and fails on it.
		client: &http.Client{Transport: tr, Timeout: requestTimeout,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }},
		resetHeader: s.pol.ResetHeader,
		maxWait:     s.maxWait(),
		now:         opts.Now,
		sleep:       opts.Sleep,
	}
	s.doer = p
	if s.client, err = api.NewClient(target.BaseURL, api.WithHTTPClient(p)); err != nil {
		rep.Error = err.Error()
		return rep
	}

	ran := map[Pair]bool{}
	for _, c := range all {
		res := CaseResult{Name: c.name(), Pair: c.pair}
		switch {
		case c.needs == needFaults && !opts.Faults:
			res.Result, res.Error = Skip, "off: needs a sandbox with fault injection ("+opts.enable("Faults")+")"
		case c.needs == needRateLimit && !opts.RateLimit:
			res.Result, res.Error = Skip, "off: spends the partner's quota ("+opts.enable("RateLimit")+")"
		case c.needs == needExpiry && !opts.Expiry:
			res.Result, res.Error = Skip, "off: waits out a token's lifetime, for a fake clock ("+opts.enable("Expiry")+")"
		case ctx.Err() != nil:
			res.Result, res.Error = Fail, ctx.Err().Error()
		default:
			before := len(tr.Violations())
			err := c.run(ctx, s)
			res.Violations = tr.Violations()[before:]
			res.Result = Pass
			if err != nil {
				res.Result, res.Error = Fail, s.redact(err.Error())
			}
			if len(res.Violations) > 0 {
				res.Result = Fail
			}
			if res.Result == Pass {
				ran[c.pair] = true // a failed case did not see its pair
			}
		}
		rep.Cases = append(rep.Cases, res)
	}
	for _, p := range tr.Documented() {
		if ran[p] {
			rep.Exercised = append(rep.Exercised, p)
		} else {
			rep.NotExercised = append(rep.NotExercised, p)
		}
	}
	return rep
}

// redact keeps the secret and the token out of a case's error, whatever a
// lower layer put in it.
func (s *session) redact(msg string) string {
	c := checked{secrets: []string{s.target.PartnerSecret, s.token}}
	return c.redact(msg)
}

// enable is how the caller turns on the option field, for a skip reason.
func (o Options) enable(field string) string {
	if o.Enable != nil {
		return o.Enable(field)
	}
	return "Options." + field
}
