package main

import (
	"runtime"
	"runtime/debug"

	"github.com/spf13/cobra"
)

// buildInfo is what version reports: the module version and the commit the
// binary was built from, when the Go toolchain recorded them.
type buildInfo struct {
	Version  string `json:"version"`
	Commit   string `json:"commit,omitempty"`
	Time     string `json:"commitTime,omitempty"`
	Modified bool   `json:"modified,omitempty"`
	Go       string `json:"go"`
}

func readBuildInfo() buildInfo {
	b := buildInfo{Version: "(devel)", Go: runtime.Version()}
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return b
	}
	if v := info.Main.Version; v != "" {
		b.Version = v
	}
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			b.Commit = s.Value
		case "vcs.time":
			b.Time = s.Value
		case "vcs.modified":
			b.Modified = s.Value == "true"
		}
	}
	return b
}

func version() string { return readBuildInfo().Version }

func (a *app) versionCmd() *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:   "version",
		Short: "Print the milligold version",
		Args:  noArgs,
		RunE: func(*cobra.Command, []string) error {
			if output != "table" && output != "json" {
				return usagef("-o %q: want table or json", output)
			}
			b := readBuildInfo()
			if output == "json" {
				return writeJSON(a.stdout, b)
			}
			rows := []row{{"Version", b.Version}, {"Go", b.Go}}
			if b.Commit != "" {
				commit := b.Commit
				if b.Modified {
					commit += " (modified)"
				}
				rows = append(rows, row{"Commit", commit}, row{"Commit time", b.Time})
			}
			return writeTable(a.stdout, rows)
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", "table", "output format: table or json")
	return cmd
}

// noArgs rejects arguments as a usage error (cobra.NoArgs would exit 1).
func noArgs(cmd *cobra.Command, args []string) error {
	if len(args) > 0 {
		return usagef("%s takes no arguments; got %q", cmd.Name(), args[0])
	}
	return nil
}
