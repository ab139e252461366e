package s3_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/flowlens/flowlens/flowlog/awsparquet"
	"github.com/flowlens/flowlens/source"
	s3src "github.com/flowlens/flowlens/source/s3"
	"github.com/flowlens/flowlens/source/s3/s3test"
)

// BenchmarkListGetParse lists a bucket of gzip flow-log objects in the
// dated layout, downloads and parses them all, against the last backend of
// s3test.Backends (MinIO when FLOWLENS_TEST_S3_ENDPOINT is set, as
// .ci/minio.sh sets it; else the in-process gofakes3). OBJECTS objects of
// 5000 records each.
func BenchmarkListGetParse(b *testing.B) {
	backends := s3test.Backends(b)
	backend := backends[len(backends)-1]
	srv := s3test.Start(b, backend)
	srv.Env(b)
	client := srv.Client(b)
	bucket := srv.Bucket(b, client)
	const objects, perObject = 200, 5000
	var stored, text int64
	end := base.Add(5 * time.Minute)
	for i := range objects {
		at := end.Add(time.Duration(i) * 5 * time.Minute)
		key := fmt.Sprintf("AWSLogs/%s/vpcflowlogs/us-east-1/%s/%s", accounts[0], at.Format("2006/01/02"), fileName(accounts[0], "us-east-1", at))
		raw := s3test.FlowLog(accounts[0], at, perObject, i)
		gz := s3test.Gzip(raw)
		s3test.Put(b, client, bucket, key, gz)
		stored += int64(len(gz))
		text += int64(len(raw))
	}
	src, err := s3src.New(client, srv.Config())
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	var records int
	for b.Loop() {
		ins, err := src.Expand(context.Background(), "s3://"+bucket+"/AWSLogs/")
		if err != nil {
			b.Fatal(err)
		}
		if len(ins) != objects {
			b.Fatalf("listed %d objects, want %d", len(ins), objects)
		}
		cfg := source.DefaultConfig()
		cfg.Parquet = awsparquet.Read
		sink := &counter{per: map[string]int{}}
		if _, err := source.Run(context.Background(), cfg, ins, sink); err != nil {
			b.Fatal(err)
		}
		records = 0
		for _, n := range sink.per {
			records += n
		}
		if records != objects*perObject {
			b.Fatalf("read %d records, want %d", records, objects*perObject)
		}
	}
	sec := b.Elapsed().Seconds() / float64(b.N)
	b.ReportMetric(float64(objects)/sec, "objects/s")
	b.ReportMetric(float64(stored)/sec/1e6, "stored-MB/s")
	b.ReportMetric(float64(text)/sec/1e6, "text-MB/s")
	b.ReportMetric(float64(records)/sec, "records/s")
	b.Logf("%s: %d objects, %.1f MB stored, %.1f MB text", backend, objects, float64(stored)/1e6, float64(text)/1e6)
}
