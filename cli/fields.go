package cli

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/flowlens/flowlens/flowlog"
	"github.com/flowlens/flowlens/output"
	"github.com/flowlens/flowlens/schema"
)

func newFieldsCmd(e *env) *cobra.Command {
	var of string
	var derived bool
	c := &cobra.Command{
		Use:   "fields",
		Short: "List every flow-log field flowlens knows",
		Long: `List every flow-log field flowlens knows: its token in format strings, its
column in the flows table, type, the flow-log version that introduced it, and
what it holds. --derived lists the enrichment fields instead (src.internal,
dst.entity, dst.threat...): ingest and ad-hoc queries fill them, and the
filter language and top know them by the token shown.`,
		Args: noArgs,
		RunE: func(c *cobra.Command, args []string) error {
			f, err := outputFormat(of, e)
			if err != nil {
				return err
			}
			cols := []output.Column{
				{Name: "token", Type: output.TypeString},
				{Name: "column", Type: output.TypeString},
				{Name: "type", Type: output.TypeString},
				{Name: "version", Type: output.TypeInt},
				{Name: "description", Type: output.TypeString},
			}
			w, err := output.NewResultWriter(f, e.stdout, cols)
			if err != nil {
				return err
			}
			list := schema.Fields
			if derived {
				list = schema.Derived
			}
			for _, fd := range list {
				if err := w.WriteRow([]any{fd.Token, fd.Column, fd.Type.String(), int64(fd.Version), fd.Description}); err != nil {
					return err
				}
			}
			return w.Close()
		},
	}
	c.Flags().StringVarP(&of, "output", "o", "", "output format: table, csv, json, ndjson, parquet")
	c.Flags().BoolVar(&derived, "derived", false, "list the enrichment fields (version 0: not in flow logs)")
	return c
}

func newFormatsCmd(e *env) *cobra.Command {
	return &cobra.Command{
		Use:   "formats",
		Short: "Show the default record formats and how to pass a custom one",
		Args:  noArgs,
		RunE: func(c *cobra.Command, args []string) error {
			w := e.stdout
			fmt.Fprintf(w, "VPC default (version 2), %d fields:\n  %s\n\n", len(flowlog.V2.IDs), flowlog.V2)
			fmt.Fprintf(w, "Transit Gateway default, %d fields:\n  %s\n\n", len(flowlog.TGW.IDs), wrap(flowlog.TGW.String(), 90, "  "))
			fmt.Fprint(w, `Files delivered to S3 start with a header line naming their fields; flowlens
reads it and needs nothing else. Records without a header (CloudWatch Logs
exports, Firehose, hand-made files) are read as version 2 unless you pass
the flow log's format:

  flowlens read --format '${version} ${vpc-id} ${srcaddr} ${dstaddr} ${action}' FILE
  flowlens read --format 'version vpc-id srcaddr dstaddr action' FILE
  flowlens read --format tgw FILE

Get a flow log's format with:
  aws ec2 describe-flow-logs --query 'FlowLogs[].[FlowLogId,LogFormat]'

'flowlens fields' lists every field.
`)
			return nil
		},
	}
}

// wrap breaks s at spaces so lines stay under width.
func wrap(s string, width int, indent string) string {
	var sb strings.Builder
	n := 0
	for i, word := range strings.Fields(s) {
		if i > 0 {
			if n+1+len(word) > width {
				sb.WriteString("\n" + indent)
				n = 0
			} else {
				sb.WriteByte(' ')
				n++
			}
		}
		sb.WriteString(word)
		n += len(word)
	}
	return sb.String()
}
