package cli

// SetBeforeSQSCommit installs a hook between reading a batch of queued
// objects and committing them (nil removes it).
func SetBeforeSQSCommit(f func() error) { beforeSQSCommit = f }
