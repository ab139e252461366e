// Package named is the library of named queries: SQL templates over the
// flows table with typed parameters and a description. It holds the set the
// Athena VPC flow-logs integration ships, the incident-response playbook's
// investigation queries and the CloudWatch Logs Insights samples, written
// for flowlens' column names.
package named

import (
	"fmt"
	"net/netip"
	"sort"
	"strconv"
	"strings"
	"text/template"
)

// ParamType is the type of a parameter value.
type ParamType string

// Parameter types.
const (
	PInt    ParamType = "int"
	PIP     ParamType = "ip"
	PString ParamType = "string"
)

// Param is one parameter of a query.
type Param struct {
	Name        string
	Type        ParamType
	Default     string // empty with Required unset means "no filter"
	Required    bool
	Description string
}

// Query is a named SQL template.
type Query struct {
	Name        string
	Group       string // athena, playbook, insights
	Description string
	Params      []Param
	// Needs lists the columns the query cannot answer without; the caller
	// checks the data has them and says so clearly when it does not.
	Needs []string
	// SQL is a text/template rendered with the functions of Dialect:
	// {{flows}} is the table (or a filtered subquery), {{p "name"}} binds a
	// parameter, {{hour "col"}} buckets an epoch column by hour, {{ts "col"}}
	// renders an epoch column as a timestamp.
	SQL string
}

// Dialect renders the parts of SQL that differ between stores.
type Dialect interface {
	// Placeholder returns the n-th (1-based) bind placeholder.
	Placeholder(n int) string
	// HourBucket truncates an epoch-seconds expression to the hour, as a
	// timestamp.
	HourBucket(expr string) string
	// Timestamp converts an epoch-seconds expression to a timestamp.
	Timestamp(expr string) string
}

// Bound is a query ready to run.
type Bound struct {
	SQL  string
	Args []any
}

// All returns every named query, sorted by group then name.
func All() []Query {
	qs := append([]Query(nil), library...)
	order := map[string]int{"athena": 0, "playbook": 1, "insights": 2}
	sort.SliceStable(qs, func(i, j int) bool {
		if qs[i].Group != qs[j].Group {
			return order[qs[i].Group] < order[qs[j].Group]
		}
		return qs[i].Name < qs[j].Name
	})
	return qs
}

// Get finds a query by name.
func Get(name string) (Query, bool) {
	for _, q := range library {
		if q.Name == name {
			return q, true
		}
	}
	return Query{}, false
}

// ParamError is a problem with the parameters given to a query.
type ParamError struct{ Msg string }

func (e *ParamError) Error() string { return e.Msg }

// Bind renders q with the given parameter values (strings as typed on the
// command line) into SQL and arguments. from is what {{flows}} renders to:
// "flows", or a parenthesised filtered subquery with its own arguments,
// which come first in the argument list.
func (q Query) Bind(d Dialect, values map[string]string, from string, fromArgs []any) (Bound, error) {
	for k := range values {
		if !q.hasParam(k) {
			return Bound{}, &ParamError{fmt.Sprintf("query %s has no parameter %q (it takes: %s)", q.Name, k, q.paramNames())}
		}
	}
	typed := make(map[string]any)
	for _, p := range q.Params {
		v, ok := values[p.Name]
		if !ok {
			v = p.Default
		}
		if v == "" {
			if p.Required {
				return Bound{}, &ParamError{fmt.Sprintf("query %s needs --param %s=<%s> (%s)", q.Name, p.Name, p.Type, p.Description)}
			}
			typed[p.Name] = nil
			continue
		}
		tv, err := convert(p, v)
		if err != nil {
			return Bound{}, &ParamError{fmt.Sprintf("query %s: parameter %s: %v", q.Name, p.Name, err)}
		}
		typed[p.Name] = tv
	}
	args := append([]any(nil), fromArgs...)
	funcs := template.FuncMap{
		"flows": func() string { return from },
		"p": func(name string) (string, error) {
			v, ok := typed[name]
			if !ok {
				return "", fmt.Errorf("template refers to unknown parameter %q", name)
			}
			args = append(args, v)
			return d.Placeholder(len(args)), nil
		},
		"has":  func(name string) bool { return typed[name] != nil },
		"hour": func(col string) string { return d.HourBucket(col) },
		"ts":   func(col string) string { return d.Timestamp(col) },
	}
	t, err := template.New(q.Name).Funcs(funcs).Parse(q.SQL)
	if err != nil {
		return Bound{}, fmt.Errorf("query %s: %w", q.Name, err)
	}
	var sb strings.Builder
	if err := t.Execute(&sb, nil); err != nil {
		return Bound{}, fmt.Errorf("query %s: %w", q.Name, err)
	}
	return Bound{SQL: strings.TrimSpace(sb.String()), Args: args}, nil
}

func (q Query) hasParam(name string) bool {
	for _, p := range q.Params {
		if p.Name == name {
			return true
		}
	}
	return false
}

func (q Query) paramNames() string {
	if len(q.Params) == 0 {
		return "no parameters"
	}
	var n []string
	for _, p := range q.Params {
		n = append(n, p.Name)
	}
	return strings.Join(n, ", ")
}

func convert(p Param, v string) (any, error) {
	switch p.Type {
	case PInt:
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("%q is not an integer", v)
		}
		if n < 0 {
			return nil, fmt.Errorf("%d is negative", n)
		}
		return n, nil
	case PIP:
		a, err := netip.ParseAddr(v)
		if err != nil {
			return nil, fmt.Errorf("%q is not an IP address", v)
		}
		// Stored addresses are in canonical text form.
		return a.Unmap().String(), nil
	default:
		return v, nil
	}
}
