package awsparquet

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/parquet-go/parquet-go/encoding/thrift"
	"github.com/parquet-go/parquet-go/format"
	"github.com/pierrec/lz4/v4"
)

// A Parquet file is untrusted input, and parquet-go sizes buffers from the
// lengths and counts a file declares before it can tell whether they are
// true. The checks here run first and refuse what would make it allocate
// without bound; they read page headers only (a few KiB per page), except
// for LZ4 pages, see checkLZ4.

// Hard caps on what one page may declare. Writers use pages of about 1 MiB
// and at most a few tens of thousands of values; these leave wide margins.
const (
	maxPageBytes  = 128 << 20 // uncompressed size of one page
	maxPageValues = 1 << 24   // values (nulls included) in one page
	maxHeaderRead = 1 << 20   // bytes read to decode one page header
)

// errCorrupt marks files refused by these checks.
var errCorrupt = errors.New("corrupt Parquet file")

// checkFooter refuses a footer length that cannot fit in the file, which
// parquet-go would otherwise allocate before reading.
func checkFooter(r io.ReaderAt, size int64) error {
	if size < 12 {
		return fmt.Errorf("%w: %d bytes is too short", errCorrupt, size)
	}
	var tail [8]byte
	if _, err := r.ReadAt(tail[:], size-8); err != nil {
		return fmt.Errorf("reading footer: %w", err)
	}
	if n := int64(binary.LittleEndian.Uint32(tail[:4])); n > size-12 {
		return fmt.Errorf("%w: footer of %d bytes in a %d-byte file", errCorrupt, n, size)
	}
	return nil
}

// checkChunk walks the page headers of a column chunk and refuses sizes
// and counts past the caps, pages running outside the chunk, and (for
// LZ4_RAW chunks) pages that do not decompress.
func checkChunk(r io.ReaderAt, size int64, md *format.ColumnMetaData, rowGroupRows int64, scratch *[]byte) error {
	start := md.DataPageOffset
	if md.DictionaryPageOffset > 0 && md.DictionaryPageOffset < start {
		start = md.DictionaryPageOffset
	}
	end := start + md.TotalCompressedSize
	if start < 4 || md.TotalCompressedSize < 0 || end > size-8 || end < start {
		return fmt.Errorf("%w: column chunk [%d, %d) outside the file's %d bytes", errCorrupt, start, end, size)
	}
	var proto thrift.CompactProtocol
	for off := start; off < end; {
		var h format.PageHeader
		n, err := readPageHeader(r, off, end, &proto, &h, scratch)
		if err != nil {
			return fmt.Errorf("page header at offset %d: %w", off, err)
		}
		if err := checkPageHeader(&h, rowGroupRows); err != nil {
			return fmt.Errorf("page at offset %d: %w", off, err)
		}
		body := off + int64(n)
		if int64(h.CompressedPageSize) > end-body {
			return fmt.Errorf("%w: page at offset %d runs past its column chunk", errCorrupt, off)
		}
		if md.Codec == format.Lz4Raw {
			if err := checkLZ4(r, body, &h, scratch); err != nil {
				return fmt.Errorf("page at offset %d: %w", off, err)
			}
		}
		off = body + int64(h.CompressedPageSize)
	}
	return nil
}

// readPageHeader decodes the page header at off and returns its length,
// reading a few KiB and more only when the header is longer.
func readPageHeader(r io.ReaderAt, off, end int64, proto *thrift.CompactProtocol, h *format.PageHeader, scratch *[]byte) (int, error) {
	for window := int64(4 << 10); ; window *= 8 {
		w := min(window, end-off, maxHeaderRead)
		buf := grow(scratch, int(w))
		if _, err := r.ReadAt(buf, off); err != nil && !errors.Is(err, io.EOF) {
			return 0, err
		}
		*h = format.PageHeader{}
		br := proto.NewReaderFromBytes(buf)
		err := thrift.NewDecoder(br).Decode(h)
		if err == nil {
			return br.BytesRead(), nil
		}
		if w == end-off || w == maxHeaderRead {
			return 0, fmt.Errorf("%w: %w", errCorrupt, err)
		}
	}
}

func checkPageHeader(h *format.PageHeader, rowGroupRows int64) error {
	if h.CompressedPageSize < 0 || h.UncompressedPageSize < 0 || h.UncompressedPageSize > maxPageBytes {
		return fmt.Errorf("%w: page sizes %d compressed, %d uncompressed (limit %d)",
			errCorrupt, h.CompressedPageSize, h.UncompressedPageSize, maxPageBytes)
	}
	values := int64(-1)
	switch {
	case h.DataPageHeader.Valid:
		values = int64(h.DataPageHeader.V.NumValues)
	case h.DataPageHeaderV2.Valid:
		v := &h.DataPageHeaderV2.V
		values = int64(v.NumValues)
		if v.NumRows < 0 || v.NumNulls < 0 || v.NumNulls > v.NumValues ||
			v.DefinitionLevelsByteLength < 0 || v.RepetitionLevelsByteLength < 0 ||
			int64(v.DefinitionLevelsByteLength)+int64(v.RepetitionLevelsByteLength) > int64(h.CompressedPageSize) {
			return fmt.Errorf("%w: inconsistent data page v2 header", errCorrupt)
		}
	case h.DictionaryPageHeader.Valid:
		values = int64(h.DictionaryPageHeader.V.NumValues)
		rowGroupRows = maxPageValues // a dictionary is not bounded by rows
	default:
		return nil // index pages and unknown kinds are skipped by the reader
	}
	if values < 0 || values > maxPageValues || values > max(rowGroupRows, 0) {
		return fmt.Errorf("%w: page declares %d values (row group has %d rows, limit %d)",
			errCorrupt, values, rowGroupRows, maxPageValues)
	}
	return nil
}

// checkLZ4 decompresses an LZ4_RAW page into a buffer of its declared size.
// parquet-go v0.32.0's LZ4 decoder retries any failure with a buffer twice
// as large, so one corrupt page makes it allocate until the process dies;
// such pages are refused here instead.
func checkLZ4(r io.ReaderAt, body int64, h *format.PageHeader, scratch *[]byte) error {
	src := make([]byte, h.CompressedPageSize)
	if _, err := r.ReadAt(src, body); err != nil && !(errors.Is(err, io.EOF) && len(src) == 0) {
		return fmt.Errorf("reading page: %w", err)
	}
	want := int(h.UncompressedPageSize)
	if v := &h.DataPageHeaderV2; v.Valid {
		if v.V.IsCompressed.Valid && !v.V.IsCompressed.V {
			return nil
		}
		levels := int(v.V.DefinitionLevelsByteLength + v.V.RepetitionLevelsByteLength)
		src, want = src[levels:], want-levels
		if want < 0 {
			return fmt.Errorf("%w: page smaller than its levels", errCorrupt)
		}
	}
	if want == 0 && len(src) == 0 {
		return nil
	}
	dst := grow(scratch, want)
	n, err := lz4.UncompressBlock(src, dst)
	if err != nil || n != want {
		return fmt.Errorf("%w: LZ4 page does not decompress to its declared %d bytes", errCorrupt, want)
	}
	return nil
}

// grow returns (*b)[:n], reallocating when needed.
func grow(b *[]byte, n int) []byte {
	if cap(*b) < n {
		*b = make([]byte, n)
	}
	return (*b)[:n]
}
