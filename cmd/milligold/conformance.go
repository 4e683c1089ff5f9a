package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"time"

	"github.com/spf13/cobra"

	"github.com/milligold/milligold-go/conformance"
)

// Environment variables the conformance command reads its target from; the
// secret is read from the environment only, so it stays out of shell
// history and process listings.
const (
	envBaseURL       = "MILLIGOLD_BASE_URL"
	envPartnerID     = "MILLIGOLD_PARTNER_ID"
	envPartnerSecret = "MILLIGOLD_PARTNER_SECRET"
)

func (a *app) conformanceCmd() *cobra.Command {
	var (
		target    conformance.Target
		opts      conformance.Options
		output    string
		timeout   time.Duration
		baseURLIn string
	)
	cmd := &cobra.Command{
		Use:   "conformance",
		Short: "Check an API (the sandbox, the real one) against openapi.yaml",
		Long: `Run the contract suite against the API at --base-url: every request and
response is validated against openapi.yaml, and each named case checks one
documented answer. Prints a table of case, result and first violation (or
JSON with -o json); exits 1 when a case fails.

The target's credentials come from --partner-id (or ` + envPartnerID + `) and
` + envPartnerSecret + `. The rate-limit cases spend the partner's quota and
wait out two windows: enable them with --include-rate-limit. The 500 cases
need a sandbox started with fault injection: --include-faults.`,
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
			target.BaseURL = baseURLIn
			if target.BaseURL == "" {
				target.BaseURL = a.getenv(envBaseURL)
			}
			if target.BaseURL == "" {
				return usagef("no base URL: pass --base-url or set %s", envBaseURL)
			}
			if target.PartnerID == "" {
				target.PartnerID = a.getenv(envPartnerID)
			}
			target.PartnerSecret = a.getenv(envPartnerSecret)
			if target.PartnerID == "" || target.PartnerSecret == "" {
				return usagef("no credentials: pass --partner-id (or set %s) and set %s", envPartnerID, envPartnerSecret)
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt)
			defer stop()
			ctx, cancel := context.WithTimeout(ctx, timeout)
			defer cancel()

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
	f := cmd.Flags()
	f.StringVar(&baseURLIn, "base-url", "", "the API's base URL, with its base path, e.g. http://127.0.0.1:8080/partner (default $"+envBaseURL+")")
	f.StringVar(&target.PartnerID, "partner-id", "", "the partner ID (default $"+envPartnerID+")")
	f.StringVar(&target.MobileNumber, "mobile-number", conformance.DefaultMobileNumber, "a user the API knows")
	f.StringVar(&target.UnknownMobileNumber, "unknown-mobile-number", conformance.DefaultUnknownMobileNumber, "a well-formed number no user has")
	f.BoolVar(&opts.RateLimit, "include-rate-limit", false, "run the rate-limit cases (spends the quota, waits out two windows)")
	f.BoolVar(&opts.Faults, "include-faults", false, "run the 500 cases (needs a sandbox with fault injection)")
	f.StringVarP(&output, "output", "o", "table", "output format: table or json")
	f.DurationVar(&timeout, "timeout", 5*time.Minute, "give up after this long")
	return cmd
}
