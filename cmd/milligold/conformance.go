package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"time"

	"github.com/spf13/cobra"

	"github.com/milligold/milligold-go/conformance"
	"github.com/milligold/milligold-go/internal/clock"
)

// Environment variables every command that calls the API reads its target
// from; the secret comes from the environment or a file, never a plain flag,
// so it stays out of shell history and process listings.
const (
	envBaseURL       = "MILLIGOLD_BASE_URL"
	envPartnerID     = "MILLIGOLD_PARTNER_ID"
	envPartnerSecret = "MILLIGOLD_PARTNER_SECRET"
)

func (a *app) conformanceCmd() *cobra.Command {
	var (
		f       clientFlags // the target as every command names it
		target  conformance.Target
		opts    conformance.Options
		output  string
		timeout time.Duration
	)
	cmd := &cobra.Command{
		Use:   "conformance",
		Short: "Check an API (the sandbox, the real one) against openapi.yaml",
		Long: `Run the contract suite against the API at --base-url: every request and
response is validated against openapi.yaml, and each named case checks one
documented answer. Prints a table of case, result and first violation (or
JSON with -o json); exits 1 when a case fails.

The target and its credentials are given as for the other commands:
--base-url, --partner-id, ` + envPartnerSecret + ` or --partner-secret-file, and
the local sandbox's partner when nothing is set. The rate-limit cases spend
the partner's quota and wait out two windows: enable them with
--include-rate-limit. The 500 cases need a sandbox started with fault
injection: --include-faults.`,
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) > 0 {
				return usagef("conformance takes no arguments (%q); pass the URL with --base-url", args[0])
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, _ []string) error {
			if output != "table" && output != "json" {
				return usagef("-o %q: want table or json", output)
			}
			if timeout <= 0 {
				return usagef("--timeout %s: want a positive duration", timeout)
			}
			base, err := a.resolveBaseURL(&f)
			if err != nil {
				return err
			}
			id, secret, err := a.credentials(&f, base)
			if err != nil {
				return err
			}
			target.BaseURL, target.PartnerID, target.PartnerSecret = base, id, secret
			target.InsecureHTTP = f.insecure // resolveBaseURL refused plain http without it
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt)
			defer stop()
			ctx, cancel := context.WithTimeout(ctx, timeout)
			defer cancel()

			// Wrong credentials would fail most cases as if the API broke
			// the spec; one token request first gives rate's one clear error.
			if err := a.checkCredentials(ctx, &f, base, id, secret); err != nil {
				return err
			}
			opts.Enable = cliEnable
			opts.Sleep = a.announcedSleep
			rep := conformance.Run(ctx, target, opts)
			write := rep.WriteTable
			if output == "json" {
				write = rep.WriteJSON
			}
			if err := write(a.stdout); err != nil {
				return err
			}
			switch {
			case rep.Error != "":
				return fmt.Errorf("conformance: %s", rep.Error)
			case !rep.Passed():
				return fmt.Errorf("conformance: %d of %d cases failed against %s", rep.Count(conformance.Fail), len(rep.Cases), rep.BaseURL)
			}
			return nil
		},
	}
	f.registerTarget(cmd)
	fs := cmd.Flags()
	fs.StringVar(&target.MobileNumber, "mobile-number", conformance.DefaultMobileNumber, "a user the API knows")
	fs.StringVar(&target.UnknownMobileNumber, "unknown-mobile-number", conformance.DefaultUnknownMobileNumber, "a well-formed number no user has")
	fs.BoolVar(&opts.RateLimit, "include-rate-limit", false, "run the rate-limit cases (spends the quota, waits out two windows)")
	fs.BoolVar(&opts.Faults, "include-faults", false, "run the 500 cases (needs a sandbox with fault injection)")
	fs.StringVarP(&output, "output", "o", "table", "output format: table or json")
	fs.DurationVar(&timeout, "timeout", 5*time.Minute, "give up after this long")
	return cmd
}

// checkCredentials asks the API for one token, so a wrong partner id,
// secret or base URL is reported the way the other commands report it.
func (a *app) checkCredentials(ctx context.Context, f *clientFlags, base, id, secret string) error {
	c, err := newClient(f, base, id, secret)
	if err != nil {
		return err
	}
	s := &session{client: c, baseURL: base, timeout: 30 * time.Second}
	return s.call(ctx, func(ctx context.Context) error {
		_, err := c.Token(ctx)
		return err
	})
}

// cliEnable names the flag that turns a suite option on, for skip reasons.
func cliEnable(field string) string {
	switch field {
	case "Faults":
		return "--include-faults, against a sandbox started with faults: true"
	case "RateLimit":
		return "--include-rate-limit"
	}
	return "not from the CLI: only the library's in-process tests have a fake clock"
}

// announcedSleep is the suite's sleep, said on stderr: the suite waits out
// rate-limit windows, and a silent wait looks like a hang.
func (a *app) announcedSleep(ctx context.Context, d time.Duration) error {
	fmt.Fprintf(a.stderr, "conformance: waiting %s for the rate-limit window to reset\n", d.Round(100*time.Millisecond))
	return clock.Sleep(ctx, d)
}
