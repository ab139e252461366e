package cli

import (
	"github.com/flowlens/flowlens/flowlog/awsparquet"
	"github.com/flowlens/flowlens/source"
)

// parquetReader decodes Parquet inputs (AWS's .log.parquet objects).
var parquetReader source.ParquetReader = awsparquet.Read
