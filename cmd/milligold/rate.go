package main

import (
	"context"
	"strconv"
	"time"

	"github.com/spf13/cobra"

	milligold "github.com/milligold/milligold-go"
)

func (a *app) rateCmd() *cobra.Command {
	var f clientFlags
	cmd := &cobra.Command{
		Use:   "rate",
		Short: "Show the current gold rate, with GST",
		Long: `Show the current gold rate per gram, its CGST and SGST, and the price per
gram with both included (operation getGoldRate, GET /gold/rate).`,
		Example: `  milligold rate
  milligold rate -o json --base-url sandbox`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			s, err := a.newSession(&f)
			if err != nil {
				return err
			}
			var r milligold.GoldRate
			err = s.call(cmd.Context(), func(ctx context.Context) (err error) {
				r, err = s.client.GoldRate(ctx)
				return err
			})
			if err != nil {
				return err
			}
			if s.output == "json" {
				return writeJSON(a.stdout, struct {
					milligold.GoldRate
					RateWithGST float64 `json:"rateWithGst"`
				}{r, r.PriceWithGST()})
			}
			return writeTable(a.stdout, []row{
				{"Rate", money(r.Rate) + " per gram"},
				{"CGST", percent(r.CGSTRate)},
				{"SGST", percent(r.SGSTRate)},
				{"Rate with GST", money(r.PriceWithGST()) + " per gram"},
				{"Updated at", r.UpdatedAt.Format(time.RFC3339)},
			})
		},
	}
	f.register(cmd)
	return cmd
}

func money(v float64) string { return strconv.FormatFloat(v, 'f', 2, 64) }

func percent(fraction float64) string {
	return strconv.FormatFloat(fraction*100, 'f', -1, 64) + "%"
}
