package main

import (
	"context"

	"github.com/spf13/cobra"

	milligold "github.com/milligold/milligold-go"
)

func (a *app) userCmd() *cobra.Command {
	var f clientFlags
	cmd := &cobra.Command{
		Use:   "user MOBILE",
		Short: "Show the user with a mobile number",
		Long: `Show the user with the given mobile number: ten digits, without the country
code (operation getUserInfo, GET /user/info/{mobileNumber}). Exits 1 when
there is no such user.`,
		Example: `  milligold user 1234567890
  milligold user 1234567890 -o json`,
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) != 1 {
				return usagef("user takes one mobile number, e.g. 'milligold user 1234567890'; got %d arguments", len(args))
			}
			if !isMobileNumber(args[0]) {
				return usagef("mobile number %q: want ten digits without the country code, e.g. 1234567890", args[0])
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := a.newSession(&f)
			if err != nil {
				return err
			}
			var u milligold.User
			err = s.call(cmd.Context(), func(ctx context.Context) (err error) {
				u, err = s.client.UserInfo(ctx, args[0])
				return err
			})
			if err != nil {
				return err
			}
			if s.output == "json" {
				return writeJSON(a.stdout, u)
			}
			return writeTable(a.stdout, []row{
				{"ID", u.ID},
				{"Name", u.Name},
				{"Email", u.Email},
				{"Country code", u.CountryCode},
				{"Mobile number", u.MobileNumber},
				{"Gender", string(u.Gender)},
				{"Birthday", orDash(u.Birthday)},
				{"UPI ID", u.UPIID},
				{"Address", orDash(u.Address)},
				{"Pincode", orDash(u.Pincode)},
				{"Gold balance", u.GoldBalance.String()},
			})
		},
	}
	f.register(cmd)
	return cmd
}

// isMobileNumber follows the spec's pattern for mobileNumber, ^[0-9]{10}$.
func isMobileNumber(s string) bool {
	if len(s) != 10 {
		return false
	}
	for _, c := range []byte(s) {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}
