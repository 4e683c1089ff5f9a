package main

import (
	"errors"
	"fmt"
	"net"
	"os/signal"
	"runtime/debug"
	"strconv"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/milligold/milligold-go/sandbox"
)

func (a *app) sandboxCmd() *cobra.Command {
	var addr, configPath string
	var printConfig bool
	var control, controlRemote bool
	var journalSize int
	var gcPercent int
	cmd := &cobra.Command{
		Use:   "sandbox",
		Short: "Run the local milliGOLD sandbox",
		Long: `Run the local milliGOLD sandbox: the Partner API as openapi.yaml describes it,
with tokens, the rate limit and the API's errors, on loopback.

With no --config it serves the embedded default: the API document's partner,
user and gold rate, so the document's curl examples work against the printed
base URL. --print-config prints that default, commented: the format of a
--config file. The sandbox holds the terminal until SIGINT (Ctrl-C) or
SIGTERM, which stop it after in-flight requests finish.

--control adds, under /_sandbox/, a control API for test suites in any
language (move the clock, reset windows and tokens, force faults, read the
request journal), Prefer: code=NNN / example=NAME headers, and a console in
the browser. It prints a control token; it refuses a non-loopback --addr
unless --control-allow-remote.`,
		Example: `  milligold sandbox
  milligold sandbox --print-config > world.yaml   # then edit it
  milligold sandbox --config world.yaml --addr 127.0.0.1:9090`,
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) > 0 {
				return usagef("sandbox takes no arguments; got %q", args[0])
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, _ []string) error {
			if printConfig {
				_, err := a.stdout.Write(sandbox.DefaultYAML())
				return err
			}
			if err := checkAddr(addr); err != nil {
				return err
			}
			cfg := sandbox.Default()
			if configPath != "" {
				var err error
				if cfg, err = sandbox.LoadConfig(configPath); err != nil {
					return usageError{err}
				}
			}
			if cmd.Flags().Changed("gc-percent") || a.getenv("GOGC") == "" {
				defer debug.SetGCPercent(debug.SetGCPercent(gcPercent))
			}
			logger, requestLog := sandbox.NewTextLog(a.stderr)
			defer requestLog.Close() // the last lines, after Serve returns (also on SIGINT/SIGTERM)
			cfg.Logger = logger
			if !control && (controlRemote || cmd.Flags().Changed("journal-size")) {
				return usagef("--control-allow-remote and --journal-size need --control")
			}
			if control {
				if err := sandbox.CheckControlAddr(addr, controlRemote); err != nil {
					return usageError{err}
				}
			}
			var h *sandbox.Sandbox
			var err error
			if control {
				h, err = sandbox.NewWithControl(cfg, sandbox.ControlOptions{JournalSize: journalSize})
			} else {
				h, err = sandbox.New(cfg)
			}
			if err != nil {
				return usageError{err}
			}
			ln, err := net.Listen("tcp", addr)
			if errors.Is(err, syscall.EADDRINUSE) {
				return fmt.Errorf("%w (is another sandbox running? pick another port with --addr 127.0.0.1:PORT, or 0 for a free one)", err)
			} else if err != nil {
				return err
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), syscall.SIGINT, syscall.SIGTERM)
			defer stop()
			a.printSandbox(dialable(ln.Addr()), cfg)
			if ctl := h.Control(); ctl != nil {
				a.printControl(dialable(ln.Addr()), ctl)
				go func() { <-ctx.Done(); ctl.CloseStreams() }()
			}
			return sandbox.Serve(ctx, ln, h, sandbox.ServeOptions{Logger: logger})
		},
	}
	cmd.Flags().StringVar(&addr, "addr", "127.0.0.1:8080", "address to listen on (port 0 picks a free one)")
	cmd.Flags().BoolVar(&control, "control", false, "serve the control API, Prefer headers, the request journal and the console under /_sandbox/")
	cmd.Flags().BoolVar(&controlRemote, "control-allow-remote", false, "allow --control on a non-loopback --addr (the control token travels in the clear)")
	cmd.Flags().IntVar(&journalSize, "journal-size", sandbox.DefaultJournalSize, "requests the journal keeps (with --control; negative turns it off)")
	cmd.Flags().IntVar(&gcPercent, "gc-percent", sandbox.DefaultGCPercent, "garbage collection target while serving, as GOGC (100 is Go's default; a GOGC environment variable wins over the default)")
	cmd.Flags().StringVar(&configPath, "config", "", "YAML file declaring partners, users, the gold rate and limits (default: the embedded document world)")
	cmd.Flags().BoolVar(&printConfig, "print-config", false, "print the embedded default config, commented, and exit")
	return cmd
}

// checkAddr rejects an --addr that cannot be listened on as a usage error,
// before anything starts.
func checkAddr(addr string) error {
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return usagef("--addr %q: want HOST:PORT, such as 127.0.0.1:8080", addr)
	}
	if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		return usagef("--addr %q: the port must be a number from 0 to 65535", addr)
	}
	return nil
}

// dialable is addr as a client on this machine can reach it: a listener on
// every interface (":8080", "0.0.0.0:8080") prints as 127.0.0.1, not [::].
func dialable(addr net.Addr) string {
	if tcp, ok := addr.(*net.TCPAddr); ok && tcp.IP.IsUnspecified() {
		return net.JoinHostPort("127.0.0.1", strconv.Itoa(tcp.Port))
	}
	return addr.String()
}

// printSandbox tells the user where the API is and who may call it; only the
// embedded default's well-known test secret is ever printed.
func (a *app) printSandbox(addr string, cfg sandbox.Config) {
	fmt.Fprintf(a.stdout, "milliGOLD sandbox serving http://%s%s\n", addr, sandbox.BasePath)
	for _, p := range cfg.Partners {
		if p.ID == sandbox.DefaultPartnerID && p.Secret == sandbox.DefaultPartnerSecret {
			fmt.Fprintf(a.stdout, "  partner %s (%s), secret %s\n", p.ID, p.Name, p.Secret)
			continue
		}
		fmt.Fprintf(a.stdout, "  partner %s (%s)\n", p.ID, p.Name)
	}
}

// printControl prints where the console and the control API are, and the
// control token (a sandbox-local credential, never a partner's secret). The
// console URL carries it in the fragment, which browsers never send.
func (a *app) printControl(addr string, ctl *sandbox.Control) {
	fmt.Fprintf(a.stdout, "  control API http://%s%sapi/ (Authorization: Bearer <control token>)\n", addr, sandbox.ControlPrefix)
	fmt.Fprintf(a.stdout, "  control token %s\n", ctl.Token())
	fmt.Fprintf(a.stdout, "  console http://%s%s#token=%s\n", addr, sandbox.ControlPrefix, ctl.Token())
}
