package detect

import (
	"strings"
	"sync"

	"github.com/flowlens/flowlens/query/filter"
	"github.com/flowlens/flowlens/schema"
	"github.com/flowlens/flowlens/store"
)

// enrichmentNames gives the filter name of the enrichment columns whose
// name is not simply the column with the first '_' turned into '.'.
var enrichmentNames = map[string]string{
	"src_entity_type": "src.entity",
	"dst_entity_type": "dst.entity",
}

// FilterName returns the name rules use for a `flows` column: the column
// itself for catalog fields, src.internal, dst.entity, dst.entity_id ...
// for enrichment columns.
func FilterName(column string) string {
	if f, ok := schema.LookupDerived(column); ok {
		return f.Token
	}
	if n, ok := enrichmentNames[column]; ok {
		return n
	}
	for _, c := range store.Columns() {
		if c.Name == column && c.Field < 0 && c.Kind != store.KindIPBin && c.Name != store.ColSource && c.Name != store.ColIngestedAt {
			if i := strings.IndexByte(column, '_'); i > 0 {
				return column[:i] + "." + column[i+1:]
			}
		}
	}
	return column
}

var (
	fieldsOnce sync.Once
	fields     *filter.Fields
	fieldsErr  error
)

// Fields returns the names rule filters and keys may use: the catalog
// fields and shorthands of the filter language plus every enrichment
// column of the store (src.internal, dst.entity, dst.entity_id, dst.list,
// src.threat, ..., also by column name). Names the filter language already
// knows are left as they are, so the set follows the language as it grows.
func Fields() (*filter.Fields, error) {
	fieldsOnce.Do(func() {
		fs, err := filter.NewFields()
		if err != nil {
			fieldsErr = err
			return
		}
		for _, c := range store.Columns() {
			if c.Field >= 0 || c.Kind == store.KindIPBin || c.Name == store.ColSource || c.Name == store.ColIngestedAt {
				continue
			}
			name := FilterName(c.Name)
			if _, ok := fs.Lookup(name); ok {
				continue
			}
			if _, ok := fs.Lookup(c.Name); ok {
				continue
			}
			f := filter.Field{Name: name, Column: c.Name, ID: -1}
			switch c.Kind {
			case store.KindBool:
				f.Type = filter.TypeBool
			case store.KindInt32:
				f.Type = filter.TypeInt32
			case store.KindInt64, store.KindEpoch:
				f.Type = filter.TypeInt64
			case store.KindIP:
				f.Type = filter.TypeIP
			default:
				f.Type = filter.TypeString
			}
			if err := fs.Add(f); err != nil {
				fieldsErr = err
				return
			}
		}
		fields = fs
	})
	return fields, fieldsErr
}
