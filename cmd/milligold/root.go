package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"
)

// Exit codes of the milligold command.
const (
	exitOK    = 0
	exitError = 1 // API, network or runtime error
	exitUsage = 2 // bad flags, arguments or configuration
)

// app carries what every subcommand needs: its streams and its environment,
// so tests drive run without touching the process's own.
type app struct {
	ctx            context.Context // nil means context.Background(); tests cancel it to stop the sandbox
	stdin          io.Reader
	stdout, stderr io.Writer
	getenv         func(string) string
}

// usageError marks errors that exit with exitUsage.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

func usagef(format string, args ...any) error {
	return usageError{fmt.Errorf(format, args...)}
}

func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	a := &app{stdin: stdin, stdout: stdout, stderr: stderr, getenv: os.Getenv}
	return a.run(args)
}

func (a *app) run(args []string) int {
	out := &watchedWriter{w: a.stdout}
	a.stdout = out
	root := a.rootCmd()
	root.SetArgs(args)
	ctx := a.ctx
	if ctx == nil {
		ctx = context.Background()
	}
	cmd, err := root.ExecuteContextC(ctx)
	if err == nil {
		return exitOK
	}
	// printable: an error may quote the server (a message, a Location),
	// which must not drive the terminal.
	fmt.Fprintf(a.stderr, "milligold: %s\n", printable(err.Error()))
	code := exitError
	var ue usageError
	if errors.As(err, &ue) {
		code = exitUsage
	}
	if !out.wrote.Load() { // conformance -o json has printed its report already
		a.writeErrorJSON(cmd, err, code)
	}
	return code
}

func (a *app) rootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:   "milligold",
		Short: "Talk to the milliGOLD Partner API, or run its local sandbox",
		Long: `milligold talks to the milliGOLD Partner API, or runs its local sandbox.

With nothing configured it talks to the local sandbox (start it with
'milligold sandbox') as the sandbox's default partner. Point it elsewhere with
--base-url or ` + envBaseURL + ` (a URL, or local, hosted-sandbox or production) and
give the partner with --partner-id or ` + envPartnerID + `; the secret comes
from ` + envPartnerSecret + ` or --partner-secret-file, never from a plain flag.`,
		SilenceUsage:  true,
		SilenceErrors: true,
		// Any argument that is not a subcommand lands here: a usage error
		// (exit 2), not cobra's plain error (exit 1).
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return nil
			}
			msg := fmt.Sprintf("unknown command %q; run 'milligold help' for the list", args[0])
			if s := cmd.SuggestionsFor(args[0]); len(s) > 0 {
				msg = fmt.Sprintf("unknown command %q; did you mean %q?", args[0], s[0])
			}
			return usageError{errors.New(msg)}
		},
		RunE:                       func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
		SuggestionsMinimumDistance: 2,
	}
	root.SetIn(a.stdin)
	root.SetOut(a.stdout)
	root.SetErr(a.stderr)
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })
	for _, sub := range a.commands() {
		root.AddCommand(sub)
	}
	strictHelpAndCompletion(root)
	return root
}
