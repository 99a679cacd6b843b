package glue

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/stepline/stepline/internal/store"
)

// partitionKey is a partition's entity name: its values joined with a separator no value holds.
func partitionKey(values []string) string { return store.GlueParent(values...) }

// newPartition checks a PartitionInput against its table and fills what Glue fills.
func (s *Service) newPartition(t *Table, in *Partition) (*Partition, *Error) {
	if len(in.Values) != len(t.PartitionKeys) {
		return nil, invalidInput("The number of partition keys do not match the number of partition values")
	}
	for _, v := range in.Values {
		if strings.ContainsRune(v, '\x1f') {
			return nil, invalidInput("partition value holds a control character")
		}
	}
	p := *in
	p.DatabaseName, p.TableName, p.CatalogID = t.DatabaseName, t.Name, s.o.Account
	p.CreationTime = at(s.o.Clock.Now())
	if p.StorageDescriptor != nil {
		fixSD(p.StorageDescriptor)
	}
	return &p, nil
}

func (s *Service) putPartition(ctx context.Context, p *Partition, update bool) error {
	doc, _ := json.Marshal(p)
	parent, name := store.GlueParent(p.DatabaseName, p.TableName), partitionKey(p.Values)
	if update {
		_, err := s.o.Store.GlueUpdate(ctx, &store.GlueUpdateParams{Kind: store.GluePartition, Parent: parent, Name: name, Doc: doc, Now: s.o.Clock.Now()})
		if !errors.Is(err, store.ErrNotFound) {
			return err
		}
	}
	_, err := s.o.Store.GlueCreate(ctx, &store.GlueCreateParams{Kind: store.GluePartition, Parent: parent, Name: name, Doc: doc, Now: s.o.Clock.Now()})
	if errors.Is(err, store.ErrGlueAlreadyExists) {
		return errorf("AlreadyExistsException", "Partition already exists.")
	}
	return err
}

func (s *Service) createPartition(ctx context.Context, body []byte) (any, error) {
	var in struct {
		DatabaseName, TableName string
		PartitionInput          *Partition
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	if in.PartitionInput == nil {
		return nil, invalidInput("PartitionInput is required")
	}
	t, _, err := s.readTable(ctx, in.DatabaseName, in.TableName)
	if err != nil {
		return nil, err
	}
	p, ae := s.newPartition(t, in.PartitionInput)
	if ae != nil {
		return nil, ae
	}
	if err := s.putPartition(ctx, p, false); err != nil {
		return nil, err
	}
	return struct{}{}, nil
}

func (s *Service) batchCreatePartition(ctx context.Context, body []byte) (any, error) {
	var in struct {
		DatabaseName, TableName string
		PartitionInputList      []*Partition
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	if len(in.PartitionInputList) > 100 {
		return nil, invalidInput("1 validation error detected: Value at 'partitionInputList' failed to satisfy constraint: Member must have length less than or equal to 100")
	}
	t, _, err := s.readTable(ctx, in.DatabaseName, in.TableName)
	if err != nil {
		return nil, err
	}
	errs := []any{}
	for _, pin := range in.PartitionInputList {
		if pin == nil {
			continue
		}
		p, ae := s.newPartition(t, pin)
		if ae == nil {
			if err := s.putPartition(ctx, p, false); err != nil {
				if !errors.As(err, &ae) {
					return nil, err
				}
			}
		}
		if ae != nil {
			errs = append(errs, map[string]any{"PartitionValues": pin.Values,
				"ErrorDetail": map[string]string{"ErrorCode": ae.Code, "ErrorMessage": ae.Message}})
		}
	}
	return map[string]any{"Errors": errs}, nil
}

func (s *Service) getPartition(ctx context.Context, body []byte) (any, error) {
	var in struct {
		DatabaseName, TableName string
		PartitionValues         []string
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	t, _, err := s.readTable(ctx, in.DatabaseName, in.TableName)
	if err != nil {
		return nil, err
	}
	e, err := s.o.Store.GlueGet(ctx, &store.GlueGetParams{Kind: store.GluePartition, Parent: store.GlueParent(t.DatabaseName, t.Name),
		Name: partitionKey(in.PartitionValues)})
	if err != nil {
		return nil, storeErr(err, "Partition")
	}
	return map[string]any{"Partition": json.RawMessage(e.Doc)}, nil
}

func (s *Service) deletePartition(ctx context.Context, body []byte) (any, error) {
	var in struct {
		DatabaseName, TableName string
		PartitionValues         []string
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	t, _, err := s.readTable(ctx, in.DatabaseName, in.TableName)
	if err != nil {
		return nil, err
	}
	err = s.o.Store.GlueDelete(ctx, &store.GlueDeleteParams{Kind: store.GluePartition, Parent: store.GlueParent(t.DatabaseName, t.Name),
		Name: partitionKey(in.PartitionValues)})
	if err != nil {
		return nil, storeErr(err, "Partition")
	}
	return struct{}{}, nil
}

func (s *Service) getPartitions(ctx context.Context, body []byte) (any, error) {
	var in struct {
		DatabaseName, TableName, Expression, NextToken string
		MaxResults                                     int
		ExcludeColumnSchema                            bool
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	limit, err := page(in.MaxResults)
	if err != nil {
		return nil, err
	}
	t, _, err := s.readTable(ctx, in.DatabaseName, in.TableName)
	if err != nil {
		return nil, err
	}
	filter, err := parseFilter(in.Expression, t.PartitionKeys)
	if err != nil {
		return nil, err
	}
	list, cursor := []*Partition{}, in.NextToken
	for len(list) < limit {
		res, err := s.o.Store.GlueList(ctx, &store.GlueListParams{Kind: store.GluePartition, Parent: store.GlueParent(t.DatabaseName, t.Name),
			Limit: limit - len(list), Cursor: cursor})
		if err != nil {
			return nil, storeErr(err, "")
		}
		for _, e := range res.Entities {
			var p Partition
			if err := json.Unmarshal(e.Doc, &p); err != nil {
				return nil, fmt.Errorf("glue: partition: %w", err)
			}
			if filter.match(p.Values) {
				if in.ExcludeColumnSchema && p.StorageDescriptor != nil {
					p.StorageDescriptor.Columns = nil
				}
				list = append(list, &p)
			}
		}
		if cursor = res.NextCursor; cursor == "" {
			break
		}
	}
	return map[string]any{"Partitions": list, "NextToken": omit(cursor)}, nil
}

// filter is GetPartitions' Expression: comparisons of partition keys with literals joined by
// AND and OR (AND binding tighter), the subset of the SQL WHERE syntax that callers use to
// pick partitions by key. Numbers compare as numbers when the key is a number type.
type filter [][]comparison // OR of ANDs

type comparison struct {
	key     int
	op      string
	value   string
	numeric bool
}

func (f filter) match(values []string) bool {
	if len(f) == 0 {
		return true
	}
	for _, and := range f {
		ok := true
		for _, c := range and {
			if c.key >= len(values) || !c.match(values[c.key]) {
				ok = false
				break
			}
		}
		if ok {
			return true
		}
	}
	return false
}

func (c comparison) match(v string) bool {
	cmp := strings.Compare(v, c.value)
	if c.numeric {
		a, err1 := strconv.ParseFloat(v, 64)
		b, err2 := strconv.ParseFloat(c.value, 64)
		if err1 != nil || err2 != nil {
			return false
		}
		switch {
		case a < b:
			cmp = -1
		case a > b:
			cmp = 1
		default:
			cmp = 0
		}
	}
	switch c.op {
	case "=":
		return cmp == 0
	case "<>", "!=":
		return cmp != 0
	case "<":
		return cmp < 0
	case "<=":
		return cmp <= 0
	case ">":
		return cmp > 0
	case ">=":
		return cmp >= 0
	}
	return false
}

// parseFilter parses an Expression; an empty one matches every partition.
func parseFilter(expr string, keys []Column) (filter, error) {
	toks, err := tokens(expr)
	if err != nil {
		return nil, err
	}
	var f filter
	var and []comparison
	for i := 0; i < len(toks); {
		if len(toks)-i < 3 {
			return nil, invalidInput("Unsupported expression %q: expected KEY OP VALUE", expr)
		}
		key, op, val := toks[i], toks[i+1], toks[i+2]
		idx := -1
		for k, c := range keys {
			if strings.EqualFold(c.Name, key) {
				idx = k
			}
		}
		if idx < 0 {
			return nil, invalidInput("Unknown column '%s' in expression %q", key, expr)
		}
		switch op {
		case "=", "<>", "!=", "<", "<=", ">", ">=":
		default:
			return nil, invalidInput("Unsupported operator %q in expression %q", op, expr)
		}
		numeric := !strings.HasPrefix(val, "'")
		and = append(and, comparison{key: idx, op: op, value: strings.Trim(val, "'"), numeric: numeric && keys[idx].Type != "string"})
		i += 3
		if i == len(toks) {
			break
		}
		switch strings.ToUpper(toks[i]) {
		case "AND":
		case "OR":
			f, and = append(f, and), nil
		default:
			return nil, invalidInput("Unsupported expression %q: expected AND or OR", expr)
		}
		i++
		if i == len(toks) {
			return nil, invalidInput("Unsupported expression %q: ends with a conjunction", expr)
		}
	}
	if len(and) > 0 {
		f = append(f, and)
	}
	return f, nil
}

// tokens splits an expression into words, operators and quoted strings (kept with quotes).
func tokens(expr string) ([]string, error) {
	var out []string
	for i := 0; i < len(expr); {
		c := expr[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n':
			i++
		case c == '\'':
			j := strings.IndexByte(expr[i+1:], '\'')
			if j < 0 {
				return nil, invalidInput("Unterminated string in expression %q", expr)
			}
			out = append(out, expr[i:i+j+2])
			i += j + 2
		case strings.IndexByte("=<>!", c) >= 0:
			j := i + 1
			for j < len(expr) && strings.IndexByte("=<>", expr[j]) >= 0 {
				j++
			}
			out = append(out, expr[i:j])
			i = j
		default:
			j := i
			for j < len(expr) && strings.IndexByte(" \t\n'=<>!", expr[j]) < 0 {
				j++
			}
			out = append(out, strings.Trim(expr[i:j], "`"))
			i = j
		}
	}
	return out, nil
}
