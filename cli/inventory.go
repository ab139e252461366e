package cli

import (
	"errors"
	"fmt"
	"net/netip"
	"os"

	"github.com/spf13/cobra"

	"github.com/flowlens/flowlens/inventory"
	"github.com/flowlens/flowlens/output"
)

func newInventoryCmd(e *env) *cobra.Command {
	c := &cobra.Command{
		Use:   "inventory",
		Short: "Sync, import and show the AWS inventory the audits use",
		Long: `The inventory tells flowlens which addresses are the estate's: VPC and subnet
CIDRs, own public addresses, NAT gateways, and the entity behind each network
interface (EC2 instance, NAT gateway, load balancer, RDS, Lambda, VPC
endpoint, ECS task, transit gateway attachment, EFS...). It is read from the
EC2 API:

  flowlens inventory sync --regions us-east-1,eu-west-1

or, without API access from this machine, built from the JSON the AWS CLI
prints:

  aws ec2 describe-network-interfaces > enis.json
  aws ec2 describe-nat-gateways > nat.json
  aws ec2 describe-vpcs > vpcs.json
  aws ec2 describe-subnets > subnets.json
  aws ec2 describe-instances > instances.json
  flowlens inventory import enis.json nat.json vpcs.json subnets.json instances.json`,
		Args: noArgs,
	}
	c.AddCommand(newInventorySyncCmd(e), newInventoryImportCmd(e), newInventoryShowCmd(e))
	return c
}

func newInventoryImportCmd(e *env) *cobra.Command {
	var path string
	var replace bool
	var from []string
	c := &cobra.Command{
		Use:   "import FILE...",
		Short: "Merge describe-* JSON files into the inventory file",
		Args: func(c *cobra.Command, args []string) error {
			if len(args) == 0 && len(from) == 0 {
				return usagef("import needs at least one FILE (or --from-file); see 'flowlens inventory import --help'")
			}
			return nil
		},
		RunE: func(c *cobra.Command, args []string) error {
			add, err := inventory.LoadFiles(append(append([]string(nil), from...), args...)...)
			if err != nil {
				return err
			}
			inv, err := saveInventory(path, add, replace)
			if err != nil {
				return err
			}
			fmt.Fprintf(e.stdout, "%s: %s\n", path, inventoryCounts(inv))
			return nil
		},
	}
	c.Flags().StringVar(&path, "inventory", inventory.DefaultPath, "inventory file to update")
	c.Flags().BoolVar(&replace, "replace", false, "start from an empty inventory instead of merging into the file")
	c.Flags().StringSliceVar(&from, "from-file", nil, "describe-* JSON file to import (repeatable; the same as giving it as an argument)")
	return c
}

// saveInventory merges add into the inventory file at path (or, with
// replace, replaces the file's content) and returns what was saved.
func saveInventory(path string, add *inventory.Inventory, replace bool) (*inventory.Inventory, error) {
	inv := &inventory.Inventory{}
	if !replace {
		old, err := inventory.Load(path)
		switch {
		case err == nil:
			inv = old
		case errors.Is(err, os.ErrNotExist):
		default:
			return nil, err
		}
	}
	inv.Merge(add)
	if err := inv.Save(path); err != nil {
		return nil, err
	}
	return inv, nil
}

func inventoryCounts(inv *inventory.Inventory) string {
	return countsLine(len(inv.ENIs), len(inv.NATGateways), len(inv.VPCs), len(inv.Subnets), len(inv.Instances))
}

func countsLine(enis, nats, vpcs, subnets, instances int) string {
	return fmt.Sprintf("%d network interfaces, %d NAT gateways, %d VPCs, %d subnets, %d instances", enis, nats, vpcs, subnets, instances)
}

func newInventoryShowCmd(e *env) *cobra.Command {
	var path, out string
	c := &cobra.Command{
		Use:   "show",
		Short: "List every address of the inventory with its entity",
		Args:  noArgs,
		RunE: func(c *cobra.Command, args []string) error {
			inv, err := inventory.Load(path)
			if err != nil {
				return err
			}
			f, err := outputFormat(out, e)
			if err != nil {
				return err
			}
			idx := inv.NewIndex()
			res := output.Result{Columns: []output.Column{{Name: "address", Type: output.TypeIP}, {Name: "kind"},
				{Name: "entity_type"}, {Name: "entity_id"}, {Name: "entity_name"}, {Name: "eni"}, {Name: "vpc_id"}}}
			for _, eni := range inv.ENIs {
				for _, set := range []struct {
					kind  string
					addrs []netip.Addr
				}{{"private", eni.PrivateIPs}, {"public", eni.PublicIPs}, {"ipv6", eni.IPv6}} {
					for _, a := range set.addrs {
						ent, _ := idx.Lookup(a)
						res.Rows = append(res.Rows, []any{a.String(), set.kind, string(ent.Type), ent.ID, nullable(ent.Name), eni.ID, nullable(ent.VPCID)})
					}
				}
			}
			return res.Write(f, e.stdout)
		},
	}
	c.Flags().StringVar(&path, "inventory", inventory.DefaultPath, "inventory file")
	c.Flags().StringVarP(&out, "output", "o", "", "output format: table, csv, json, ndjson")
	return c
}
