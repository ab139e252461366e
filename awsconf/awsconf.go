// Package awsconf builds the AWS SDK configuration every flowlens client
// shares (S3, SQS, CloudWatch Logs, EC2): the default credential chain or
// a shared-config profile, an assumed role with an optional external id,
// the region, and a retry policy that backs off on throttling.
package awsconf

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/aws-sdk-go-v2/service/sts"
)

// Retry defaults: throttled list and get calls back off for long enough
// to ride out a burst.
const (
	DefaultMaxAttempts = 10
	DefaultMaxBackoff  = 20 * time.Second
)

// Options select credentials, region and retries. Clients' configurations
// embed it.
type Options struct {
	// Region is the API region (empty: AWS_REGION, the profile, then
	// us-east-1).
	Region string
	// Profile is a shared-config profile (empty: AWS_PROFILE or default).
	Profile string
	// RoleARN is a role to assume with the resolved credentials, and
	// ExternalID the external id it requires.
	RoleARN, ExternalID string
	// MaxAttempts and MaxBackoff bound the retries of one call (throttling,
	// 5xx and connection errors are retried with exponential backoff);
	// zero means DefaultMaxAttempts and DefaultMaxBackoff.
	MaxAttempts int
	MaxBackoff  time.Duration
}

// DefaultOptions are the options clients' default configurations start
// from: the default retry bounds, everything else resolved by the SDK.
func DefaultOptions() Options {
	return Options{MaxAttempts: DefaultMaxAttempts, MaxBackoff: DefaultMaxBackoff}
}

// Validate checks that the options fit together.
func (o Options) Validate() error {
	if o.ExternalID != "" && o.RoleARN == "" {
		return errors.New("an external id needs a role ARN")
	}
	return nil
}

// Load resolves o into an aws.Config. Its HTTP client is wrapped with
// BodyGuard.
func Load(ctx context.Context, o Options) (aws.Config, error) {
	opts := []func(*awsconfig.LoadOptions) error{
		awsconfig.WithRetryer(func() aws.Retryer {
			return retry.NewStandard(func(so *retry.StandardOptions) {
				so.MaxAttempts, so.MaxBackoff = DefaultMaxAttempts, DefaultMaxBackoff
				if o.MaxAttempts > 0 {
					so.MaxAttempts = o.MaxAttempts
				}
				if o.MaxBackoff > 0 {
					so.MaxBackoff = o.MaxBackoff
				}
				// Throttling must back off, not exhaust a client-side quota.
				so.RateLimiter = ratelimit.None
			})
		}),
	}
	if o.Region != "" {
		opts = append(opts, awsconfig.WithRegion(o.Region))
	}
	if o.Profile != "" {
		opts = append(opts, awsconfig.WithSharedConfigProfile(o.Profile))
	}
	ac, err := awsconfig.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return ac, fmt.Errorf("aws config: %w", err)
	}
	if ac.Region == "" {
		ac.Region = "us-east-1"
	}
	if o.RoleARN != "" {
		prov := stscreds.NewAssumeRoleProvider(sts.NewFromConfig(ac), o.RoleARN, func(ro *stscreds.AssumeRoleOptions) {
			if o.ExternalID != "" {
				ro.ExternalID = aws.String(o.ExternalID)
			}
			ro.RoleSessionName = "flowlens"
		})
		ac.Credentials = aws.NewCredentialsCache(prov)
	}
	ac.HTTPClient = BodyGuard(ac.HTTPClient)
	return ac, nil
}

// BodyGuard wraps an SDK HTTP client (nil: the SDK's default) so that
// request bodies reach net/http without the WriteTo method of the SDK's
// body wrapper. The SDK closes a request body as soon as the response
// headers arrive; after that, that WriteTo returns io.EOF, and if
// net/http's writer has not finished with the request yet (it reads the
// body once more to check for extra bytes) it takes the EOF for a write
// failure and closes the connection, cutting the response body short
// ("use of closed network connection"). Only servers that answer
// faster than the client's writer goroutine runs show it: endpoints on
// the same machine (an --endpoint-url to a local emulator, test fakes).
func BodyGuard(c aws.HTTPClient) aws.HTTPClient {
	if c == nil {
		c = awshttp.NewBuildableClient()
	}
	if _, ok := c.(bodyGuard); ok {
		return c
	}
	return bodyGuard{c}
}

type bodyGuard struct{ c aws.HTTPClient }

func (g bodyGuard) Do(r *http.Request) (*http.Response, error) {
	if r.Body != nil && r.Body != http.NoBody {
		r.Body = readCloser{r.Body}
	}
	return g.c.Do(r)
}

// readCloser hides every method of the body but Read and Close.
type readCloser struct{ io.ReadCloser }
