// Package cli wires the flowlens commands: it parses flags, builds the
// pipeline stages from the other packages and renders their results.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"
	"golang.org/x/term"
)

// Exit codes scripts can rely on.
const (
	ExitOK    = 0
	ExitError = 1
	ExitUsage = 2
	ExitMatch = 3
)

// UsageError marks errors in how a command was called (exit code 2).
type UsageError struct{ Err error }

func (e *UsageError) Error() string { return e.Err.Error() }
func (e *UsageError) Unwrap() error { return e.Err }

func usagef(format string, a ...any) error { return &UsageError{fmt.Errorf(format, a...)} }

// env carries the process's streams to the commands.
type env struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	// incomplete is set when a command answered over inputs some of which
	// could not be read to their end (see partial).
	incomplete error
}

// partial lets a command answer over what was read when some inputs could
// not be read to their end (a truncated gzip, a read error): that error is
// kept, and Main reports it and exits 1 once the answer is out. Any other
// error is returned as it is.
func (e *env) partial(err error) error {
	var ie *incompleteError
	if errors.As(err, &ie) {
		e.incomplete = err
		return nil
	}
	return err
}

// isTerminal reports whether w is a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// Main runs flowlens with args and returns the exit code.
func Main(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	e := &env{stdin: stdin, stdout: stdout, stderr: stderr}
	root := newRoot(e)
	root.SetArgs(args)
	root.SetOut(stdout)
	root.SetErr(stderr)
	err := root.ExecuteContext(ctx)
	if e.incomplete != nil && (err == nil || errors.As(err, new(*matchError))) {
		fmt.Fprintf(stderr, "flowlens: %v: the answer covers only the records read before the damage\n", e.incomplete)
	}
	if err == nil {
		if e.incomplete != nil {
			return ExitError
		}
		return ExitOK
	}
	var me *matchError
	if errors.As(err, &me) {
		return ExitMatch
	}
	fmt.Fprintf(stderr, "flowlens: %v\n", err)
	var ue *UsageError
	if errors.As(err, &ue) || isCommandLookupError(root, args, err) {
		return ExitUsage
	}
	return ExitError
}

// isCommandLookupError reports whether err is cobra's failure to find the
// command args name ("unknown command"), a usage error that cobra returns
// untyped. Looking the command up again gives the same error then.
func isCommandLookupError(root *cobra.Command, args []string, err error) bool {
	_, _, ferr := root.Find(args)
	return ferr != nil && ferr.Error() == err.Error()
}

// matchError is returned by commands that found something and were asked
// to say so with exit code 3.
type matchError struct{ n int }

func (m *matchError) Error() string { return fmt.Sprintf("%d matches", m.n) }

func newRoot(e *env) *cobra.Command {
	root := &cobra.Command{
		Use:           "flowlens",
		Short:         "Answers from AWS VPC Flow Logs",
		Long:          "flowlens reads AWS VPC and Transit Gateway flow logs from files, folders and stdin,\nand answers who talks to whom, what left the VPC and who probes it.",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error { return &UsageError{err} })
	root.AddCommand(
		newReadCmd(e),
		newFieldsCmd(e),
		newFormatsCmd(e),
		newGenCmd(e),
		newIngestCmd(e),
		newQueryCmd(e),
		newQueriesCmd(e),
		newTopCmd(e),
		newHuntCmd(e),
		newDetectCmd(e),
		newRulesCmd(e),
		newIntelCmd(e),
		newEgressCmd(e),
		newIngressCmd(e),
		newRangesCmd(e),
		newInventoryCmd(e),
	)
	groupsRefuseUnknown(root)
	return root
}

// groupsRefuseUnknown makes every command group under c (a command that
// only holds subcommands, such as inventory) refuse an unknown subcommand
// with a usage error; cobra would print the group's help and exit 0.
func groupsRefuseUnknown(c *cobra.Command) {
	for _, sub := range c.Commands() {
		if sub.HasSubCommands() && !sub.Runnable() {
			sub.Args = cobra.ArbitraryArgs
			sub.RunE = func(c *cobra.Command, args []string) error {
				if len(args) > 0 {
					return usagef("unknown command %q for %q; see '%s --help'", args[0], c.CommandPath(), c.CommandPath())
				}
				return c.Help()
			}
		}
		groupsRefuseUnknown(sub)
	}
}

// exactArgs and minArgs return usage errors rather than plain ones.
func minArgs(n int) cobra.PositionalArgs {
	return func(c *cobra.Command, args []string) error {
		if len(args) < n {
			return usagef("%s needs at least %d argument(s); see 'flowlens %s --help'", c.Name(), n, c.Name())
		}
		return nil
	}
}

func noArgs(c *cobra.Command, args []string) error {
	if len(args) > 0 {
		return usagef("%s takes no arguments", c.Name())
	}
	return nil
}
