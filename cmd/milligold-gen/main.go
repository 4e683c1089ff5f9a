// Command milligold-gen turns the token and rate-limit policy of openapi.yaml
// into gen/middleware. `plan` prints a unified diff of what would change and
// exits 2 when something would (0 when nothing would, 1 on error); `apply`
// writes it. Run it from the module root (go generate does).
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/milligold/milligold-go/internal/codegen"
)

func main() { os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr)) }

// Exit codes, like a plan with a detailed exit code.
const (
	exitOK      = 0
	exitError   = 1
	exitChanges = 2
)

func run(args []string, _ io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("milligold-gen", flag.ContinueOnError)
	fs.SetOutput(stderr)
	spec := fs.String("spec", "openapi.yaml", "the OpenAPI spec, relative to -root")
	root := fs.String("root", ".", "the module root")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: milligold-gen [-root dir] [-spec openapi.yaml] plan|apply")
		fs.PrintDefaults()
	}
	if len(args) == 0 {
		fs.Usage()
		return exitError
	}
	if a := args[0]; a == "-h" || a == "-help" || a == "--help" || a == "help" {
		fs.SetOutput(stdout) // asked for: the usage is the answer, not an error
		fs.Usage = func() {
			fmt.Fprintln(stdout, "usage: milligold-gen [-root dir] [-spec openapi.yaml] plan|apply")
			fs.PrintDefaults()
		}
		fs.Usage()
		return exitOK
	}
	cmd, rest := args[0], args[1:]
	if err := fs.Parse(rest); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitError
	}
	if cmd != "plan" && cmd != "apply" || fs.NArg() > 0 {
		fs.Usage()
		return exitError
	}
	plan, err := codegen.PlanDir(*root, *spec)
	if err != nil {
		fmt.Fprintf(stderr, "milligold-gen: %v\n", err)
		return exitError
	}
	if cmd == "plan" {
		if !plan.Changed() {
			fmt.Fprintln(stdout, "milligold-gen: no changes; gen/middleware matches the spec")
			return exitOK
		}
		io.WriteString(stdout, plan.Diff())
		return exitChanges
	}
	if err := plan.Apply(); err != nil {
		fmt.Fprintf(stderr, "milligold-gen: apply: %v\n", err)
		return exitError
	}
	return exitOK
}
