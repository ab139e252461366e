package cli

import (
	"context"
	"time"

	"github.com/spf13/cobra"

	"github.com/flowlens/flowlens/source"
	s3src "github.com/flowlens/flowlens/source/s3"
)

// remoteInFlight is how many S3 objects are read at the same time.
const remoteInFlight = 16

// awsFlags reach AWS (S3 sources, SQS queues) and prune S3 listings by
// the flow-log key layout.
type awsFlags struct {
	region     string
	profile    string
	roleARN    string
	externalID string
	endpoint   string
	pathStyle  bool
	accounts   []string
	logRegions []string

	cmd    *cobra.Command // for --since/--until, when the command has them
	remote bool           // an s3:// source was expanded
}

func (a *awsFlags) register(c *cobra.Command) {
	a.cmd = c
	fl := c.Flags()
	fl.StringVar(&a.region, "region", "", "AWS region of the S3/SQS API (default: AWS_REGION, the profile, then us-east-1)")
	fl.StringVar(&a.profile, "profile", "", "AWS shared-config profile (default: AWS_PROFILE)")
	fl.StringVar(&a.roleARN, "role-arn", "", "assume this IAM role to read S3/SQS")
	fl.StringVar(&a.externalID, "external-id", "", "external id for --role-arn")
	fl.StringVar(&a.endpoint, "endpoint-url", "", "endpoint of the S3, SQS or CloudWatch Logs API, e.g. http://127.0.0.1:9000 for MinIO (default: AWS_ENDPOINT_URL_S3 / _SQS / _CLOUDWATCH_LOGS, AWS_ENDPOINT_URL, AWS)")
	fl.BoolVar(&a.pathStyle, "s3-path-style", false, "path-style S3 addressing (endpoint/bucket/key), for most S3-compatible servers")
	fl.StringSliceVar(&a.accounts, "account", nil, "read only flow logs of this AWS account id from S3 (repeatable; prunes the listing by key)")
	fl.StringSliceVar(&a.logRegions, "log-region", nil, "read only flow logs of this region from S3 (repeatable; prunes the listing by key)")
}

// s3Config builds the S3 settings; --since/--until prune the listing
// when the command has them.
func (a *awsFlags) s3Config(now time.Time) (s3src.Config, error) {
	c := s3src.DefaultConfig()
	c.Region, c.Profile, c.RoleARN, c.ExternalID = a.region, a.profile, a.roleARN, a.externalID
	c.EndpointURL, c.UsePathStyle = a.endpoint, a.pathStyle
	c.Accounts, c.Regions = a.accounts, a.logRegions
	if a.cmd != nil {
		for _, b := range []struct {
			name string
			dst  *time.Time
		}{{"since", &c.Since}, {"until", &c.Until}} {
			fl := a.cmd.Flags().Lookup(b.name)
			if fl == nil {
				continue
			}
			sec, err := parseTimeFlag("--"+b.name, fl.Value.String(), now)
			if err != nil {
				return c, err
			}
			if sec != 0 {
				*b.dst = time.Unix(sec, 0).UTC()
			}
		}
	}
	if err := c.Validate(); err != nil {
		return c, &UsageError{err}
	}
	return c, nil
}

// expandS3 lists s3://bucket/prefix arguments.
func expandS3(ctx context.Context, f *sourceFlags, args []string) ([]source.Input, error) {
	cfg, err := f.aws.s3Config(time.Now())
	if err != nil {
		return nil, err
	}
	client, err := s3src.NewClient(ctx, cfg)
	if err != nil {
		return nil, err
	}
	src, err := s3src.New(client, cfg)
	if err != nil {
		return nil, &UsageError{err}
	}
	f.aws.remote = true
	var out []source.Input
	for _, a := range args {
		if _, _, err := s3src.ParseURL(a); err != nil {
			return nil, &UsageError{err}
		}
		ins, err := src.Expand(ctx, a)
		if err != nil {
			return nil, err
		}
		out = append(out, ins...)
	}
	return out, nil
}
