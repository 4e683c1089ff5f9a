// Command milligold-gen writes all of gen/ from openapi.yaml: oapi-codegen's
// gen/api and gen/apispec (each gen/*/*.cfg.yaml, through `go tool
// oapi-codegen`) and its own gen/middleware (the tables, the token and
// rate-limit policy, the client's glue) and gen/apiserver (the server's
// glue). `plan` prints a summary of the operations and policy that change,
// then a unified diff, and exits 2 when something would change (0 when
// nothing would, 1 on error); `apply` writes it. Run it from the module root
// (go generate does). `go run` reports exit 2 as "exit status 2": `make plan`
// builds it and runs it without that noise.
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
	// Flags go before the command (as the usage says) or after it.
	if err := fs.Parse(args); err != nil {
		return parseFailed(err)
	}
	cmd := fs.Arg(0)
	if fs.NArg() > 0 {
		if err := fs.Parse(fs.Args()[1:]); err != nil {
			return parseFailed(err)
		}
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
			fmt.Fprintf(stdout, "milligold-gen: no changes; gen/ matches %s\n", *spec)
			return exitOK
		}
		io.WriteString(stdout, plan.Summary())
		io.WriteString(stdout, "\n")
		io.WriteString(stdout, plan.Diff())
		// The last line says what exit 2 means, so `go run`'s "exit status 2" after it is not read as a failure.
		fmt.Fprintf(stdout, "\nmilligold-gen: gen/ is out of date with %s (exit 2: changes pending); apply them with `make generate`\n", *spec)
		return exitChanges
	}
	if err := plan.Apply(); err != nil {
		fmt.Fprintf(stderr, "milligold-gen: apply: %v\n", err)
		return exitError
	}
	return exitOK
}

func parseFailed(err error) int {
	if errors.Is(err, flag.ErrHelp) {
		return exitOK
	}
	return exitError
}
