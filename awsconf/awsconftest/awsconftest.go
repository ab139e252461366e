// Package awsconftest keeps tests of AWS clients away from the machine's
// own AWS configuration.
package awsconftest

import (
	"path/filepath"
	"testing"
)

// Isolate points the AWS SDK's default chain at static test credentials
// (AKIDTEST/secret) and region, with no session token, profile, shared
// config or credentials file, instance metadata or endpoint override. A
// test faking one service sets that service's endpoint variable (such as
// AWS_ENDPOINT_URL_S3) after it.
func Isolate(t testing.TB, region string) {
	t.Helper()
	dir := t.TempDir()
	for k, v := range map[string]string{
		"AWS_ACCESS_KEY_ID":           "AKIDTEST",
		"AWS_SECRET_ACCESS_KEY":       "secret",
		"AWS_SESSION_TOKEN":           "",
		"AWS_REGION":                  region,
		"AWS_PROFILE":                 "",
		"AWS_CONFIG_FILE":             filepath.Join(dir, "config"),
		"AWS_SHARED_CREDENTIALS_FILE": filepath.Join(dir, "credentials"),
		"AWS_EC2_METADATA_DISABLED":   "true",
		"AWS_ENDPOINT_URL":            "",
	} {
		t.Setenv(k, v)
	}
}
