package main

import (
	"context"
	"io"
	"time"

	"github.com/spf13/cobra"

	milligold "github.com/milligold/milligold-go"
)

func (a *app) tokenCmd() *cobra.Command {
	var f clientFlags
	var raw bool
	cmd := &cobra.Command{
		Use:   "token",
		Short: "Create an access token and print it",
		Long: `Create an access token for the partner and print it, with when it expires
(operation createAccessToken, POST /auth/token). This is the one command
that prints a secret: the token opens the partner's data until it expires.`,
		Example: `  milligold token
  curl -H "Authorization: Bearer $(milligold token --raw)" \
    http://127.0.0.1:8080/partner/gold/rate`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if raw && cmd.Flags().Changed("output") {
				return usagef("--raw prints the token alone; it does not combine with -o")
			}
			s, err := a.newSession(&f)
			if err != nil {
				return err
			}
			var t milligold.Token
			err = s.call(cmd.Context(), func(ctx context.Context) (err error) {
				t, err = s.client.Token(ctx)
				return err
			})
			if err != nil {
				return err
			}
			if raw {
				// For scripts, like gh auth token: the token and a line break.
				_, err := io.WriteString(a.stdout, t.AccessToken+"\n")
				return err
			}
			in := t.ExpiresIn(time.Now()).Round(time.Second)
			if s.output == "json" {
				return writeJSON(a.stdout, struct {
					AccessToken string    `json:"accessToken"`
					ExpiresAt   time.Time `json:"expiresAt"`
					ExpiresIn   int64     `json:"expiresIn"` // seconds, as the API counts
				}{t.AccessToken, t.ExpiresAt.UTC(), int64(in / time.Second)})
			}
			return writeTable(a.stdout, []row{
				{"Access token", t.AccessToken},
				{"Expires at", t.ExpiresAt.UTC().Format(time.RFC3339)},
				{"Expires in", in.String()},
			})
		},
	}
	f.register(cmd)
	cmd.Flags().BoolVar(&raw, "raw", false, "print the access token alone, for scripts")
	return cmd
}
