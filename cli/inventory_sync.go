package cli

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/flowlens/flowlens/inventory"
	"github.com/flowlens/flowlens/inventory/awsapi"
)

func newInventorySyncCmd(e *env) *cobra.Command {
	var (
		path, file                             string
		replace                                bool
		regions, region                        []string
		profile, roleARN, externalID, endpoint string
	)
	c := &cobra.Command{
		Use:   "sync",
		Short: "Read network interfaces, NAT gateways, VPCs, subnets and instances from the EC2 API into the inventory file",
		Long: `sync calls DescribeNetworkInterfaces (managed interfaces included),
DescribeNatGateways, DescribeVpcs, DescribeSubnets and DescribeInstances in
each region, reads every page, and merges the result into the inventory file
(--replace starts from an empty inventory, dropping what no longer exists).
Credentials come from the default chain, --profile, and --role-arn with
--external-id; --endpoint-url (or AWS_ENDPOINT_URL_EC2) points at another
endpoint. The IAM permissions needed are ec2:DescribeNetworkInterfaces,
ec2:DescribeNatGateways, ec2:DescribeVpcs, ec2:DescribeSubnets and
ec2:DescribeInstances.`,
		Example: `  flowlens inventory sync --regions us-east-1,eu-west-1
  flowlens inventory sync --profile audit --role-arn arn:aws:iam::111122223333:role/flowlens-read --external-id X --replace`,
		Args: noArgs,
		RunE: func(c *cobra.Command, args []string) error {
			if c.Flags().Changed("file") {
				if c.Flags().Changed("inventory") && file != path {
					return usagef("--file and --inventory name different files")
				}
				path = file
			}
			cfg := awsapi.DefaultConfig()
			cfg.Regions = append(append([]string(nil), regions...), region...)
			cfg.Profile, cfg.RoleARN, cfg.ExternalID, cfg.EndpointURL = profile, roleARN, externalID, endpoint
			if err := cfg.Validate(); err != nil {
				return &UsageError{err}
			}
			clients, err := awsapi.NewClients(c.Context(), cfg)
			if err != nil {
				return err
			}
			pulled, counts, err := awsapi.Sync(c.Context(), clients, awsapi.Options{})
			if err != nil {
				return err
			}
			for _, n := range counts {
				fmt.Fprintf(e.stdout, "%s: %s\n", n.Region, countsLine(n.ENIs, n.NATGateways, n.VPCs, n.Subnets, n.Instances))
			}
			inv, err := saveInventory(path, pulled, replace)
			if err != nil {
				return err
			}
			fmt.Fprintf(e.stdout, "%s: %s\n", path, inventoryCounts(inv))
			return nil
		},
	}
	fl := c.Flags()
	fl.StringSliceVar(&regions, "regions", nil, "regions to read, comma-separated (default: AWS_REGION, the profile, then us-east-1)")
	fl.StringSliceVar(&region, "region", nil, "a region to read (repeatable; adds to --regions)")
	fl.StringVar(&profile, "profile", "", "AWS shared-config profile (default: AWS_PROFILE)")
	fl.StringVar(&roleARN, "role-arn", "", "assume this IAM role to call EC2")
	fl.StringVar(&externalID, "external-id", "", "external id for --role-arn")
	fl.StringVar(&endpoint, "endpoint-url", "", "EC2 endpoint for every region (default: AWS_ENDPOINT_URL_EC2, AWS_ENDPOINT_URL, AWS)")
	fl.StringVar(&path, "inventory", inventory.DefaultPath, "inventory file to update")
	fl.StringVar(&file, "file", inventory.DefaultPath, "the same as --inventory")
	fl.BoolVar(&replace, "replace", false, "replace the file's content with what was read instead of merging into it")
	return c
}
