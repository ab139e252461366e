package awsapi

import (
	"io"
	"net/http"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
)

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
