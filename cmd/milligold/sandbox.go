package main

import (
	"errors"

	"github.com/spf13/cobra"
)

func (a *app) sandboxCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "sandbox",
		Short: "Run the local milliGOLD sandbox",
		RunE: func(*cobra.Command, []string) error {
			return errors.New("the sandbox is being built (issue 3)")
		},
	}
}
