package main

import (
	"context"
	"time"

	"github.com/shopspring/decimal"
	"github.com/spf13/cobra"

	milligold "github.com/milligold/milligold-go"
	"github.com/milligold/milligold-go/money"
)

func (a *app) rateCmd() *cobra.Command {
	var f clientFlags
	cmd := &cobra.Command{
		Use:   "rate",
		Short: "Show the current gold rate, with GST",
		Long: `Show the current gold rate per gram, its CGST and SGST, and the price per
gram with both included (operation getGoldRate, GET /gold/rate).`,
		Example: `  milligold rate
  milligold rate -o json --base-url hosted-sandbox`,
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
					RateWithGST money.Decimal `json:"rateWithGst"`
				}{r, r.PriceWithGST()})
			}
			return writeTable(a.stdout, []row{
				{"Rate", rupees(r.Rate) + " per gram"},
				{"CGST", percent(r.CGSTRate)},
				{"SGST", percent(r.SGSTRate)},
				// One gram's price as a purchase is charged: up to the paisa.
				{"Rate with GST", rupees(r.PriceFor(money.New(decimal.NewFromInt(1)))) + " per gram"},
				{"Updated at", r.UpdatedAt.Format(time.RFC3339)},
			})
		},
	}
	f.register(cmd)
	return cmd
}

// rupees shows an amount to the paisa, exactly (no float64 rounding).
func rupees(v money.Decimal) string { return v.StringFixed(2) }

func percent(fraction money.Decimal) string {
	return fraction.Shift(2).String() + "%"
}
