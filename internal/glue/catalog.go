package glue

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/stepline/stepline/internal/store"
)

// Database is a Data Catalog database as GetDatabase returns it.
type Database struct {
	Name        string            `json:"Name"`
	Description string            `json:"Description,omitempty"`
	LocationURI string            `json:"LocationUri,omitempty"`
	Parameters  map[string]string `json:"Parameters,omitempty"`
	CreateTime  *epoch            `json:"CreateTime,omitempty"`
	CatalogID   string            `json:"CatalogId,omitempty"`
}

// Column is a table or partition column.
type Column struct {
	Name       string            `json:"Name"`
	Type       string            `json:"Type,omitempty"`
	Comment    string            `json:"Comment,omitempty"`
	Parameters map[string]string `json:"Parameters,omitempty"`
}

// SerDeInfo names a table's serializer/deserializer.
type SerDeInfo struct {
	Name                 string            `json:"Name,omitempty"`
	SerializationLibrary string            `json:"SerializationLibrary,omitempty"`
	Parameters           map[string]string `json:"Parameters,omitempty"`
}

// StorageDescriptor says where a table's or partition's data is and how it is stored.
type StorageDescriptor struct {
	Columns                []Column          `json:"Columns,omitempty"`
	Location               string            `json:"Location,omitempty"`
	AdditionalLocations    []string          `json:"AdditionalLocations,omitempty"`
	InputFormat            string            `json:"InputFormat,omitempty"`
	OutputFormat           string            `json:"OutputFormat,omitempty"`
	Compressed             bool              `json:"Compressed"`
	NumberOfBuckets        int               `json:"NumberOfBuckets"`
	SerdeInfo              *SerDeInfo        `json:"SerdeInfo,omitempty"`
	BucketColumns          []string          `json:"BucketColumns"`
	SortColumns            []json.RawMessage `json:"SortColumns"`
	Parameters             map[string]string `json:"Parameters,omitempty"`
	StoredAsSubDirectories bool              `json:"StoredAsSubDirectories"`
}

// Table is a Data Catalog table as GetTable returns it.
type Table struct {
	Name              string             `json:"Name"`
	DatabaseName      string             `json:"DatabaseName"`
	Description       string             `json:"Description,omitempty"`
	Owner             string             `json:"Owner,omitempty"`
	CreateTime        *epoch             `json:"CreateTime,omitempty"`
	UpdateTime        *epoch             `json:"UpdateTime,omitempty"`
	LastAccessTime    *epoch             `json:"LastAccessTime,omitempty"`
	Retention         int                `json:"Retention"`
	StorageDescriptor *StorageDescriptor `json:"StorageDescriptor,omitempty"`
	PartitionKeys     []Column           `json:"PartitionKeys"`
	ViewOriginalText  string             `json:"ViewOriginalText,omitempty"`
	ViewExpandedText  string             `json:"ViewExpandedText,omitempty"`
	TableType         string             `json:"TableType,omitempty"`
	Parameters        map[string]string  `json:"Parameters,omitempty"`
	CreatedBy         string             `json:"CreatedBy,omitempty"`
	CatalogID         string             `json:"CatalogId,omitempty"`
	// IsRegisteredWithLakeFormation is always false here, as AWS reports it for such tables.
	IsRegisteredWithLakeFormation bool   `json:"IsRegisteredWithLakeFormation"`
	VersionID                     string `json:"VersionId,omitempty"`
}

// Partition is one partition of a table.
type Partition struct {
	Values            []string           `json:"Values"`
	DatabaseName      string             `json:"DatabaseName"`
	TableName         string             `json:"TableName"`
	CreationTime      *epoch             `json:"CreationTime,omitempty"`
	LastAccessTime    *epoch             `json:"LastAccessTime,omitempty"`
	StorageDescriptor *StorageDescriptor `json:"StorageDescriptor,omitempty"`
	Parameters        map[string]string  `json:"Parameters,omitempty"`
	CatalogID         string             `json:"CatalogId,omitempty"`
}

// Glue's names are lowercased by the catalog: a table created as "Sales" is "sales".
func catalogName(n string) string { return strings.ToLower(n) }

func (s *Service) checkName(field, n string) error {
	if n == "" || len(n) > 255 || strings.ContainsAny(n, "\x00\x1f") {
		return invalidInput("1 validation error detected: Value at '%s' failed to satisfy constraint: Member must have length between 1 and 255", field)
	}
	return nil
}

func (s *Service) readDatabase(ctx context.Context, name string) (*Database, *store.GlueEntity, error) {
	e, err := s.o.Store.GlueGet(ctx, &store.GlueGetParams{Kind: store.GlueDatabase, Name: catalogName(name)})
	if err != nil {
		return nil, nil, storeErr(err, "Database "+name)
	}
	var d Database
	if err := json.Unmarshal(e.Doc, &d); err != nil {
		return nil, nil, fmt.Errorf("glue: database %s: %w", name, err)
	}
	return &d, e, nil
}

func (s *Service) createDatabase(ctx context.Context, body []byte) (any, error) {
	var in struct {
		DatabaseInput *Database
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	if in.DatabaseInput == nil {
		return nil, invalidInput("DatabaseInput is required")
	}
	d := *in.DatabaseInput
	if err := s.checkName("databaseInput.name", d.Name); err != nil {
		return nil, err
	}
	d.Name, d.CatalogID = catalogName(d.Name), s.o.Account
	d.CreateTime = at(s.o.Clock.Now())
	doc, _ := json.Marshal(d)
	_, err := s.o.Store.GlueCreate(ctx, &store.GlueCreateParams{Kind: store.GlueDatabase, Name: d.Name, Doc: doc, Now: s.o.Clock.Now()})
	if errors.Is(err, store.ErrGlueAlreadyExists) {
		return nil, errorf("AlreadyExistsException", "Database already exists.")
	}
	if err != nil {
		return nil, err
	}
	return struct{}{}, nil
}

func (s *Service) getDatabase(ctx context.Context, body []byte) (any, error) {
	var in struct{ Name string }
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	d, _, err := s.readDatabase(ctx, in.Name)
	if err != nil {
		return nil, err
	}
	return map[string]any{"Database": d}, nil
}

func (s *Service) getDatabases(ctx context.Context, body []byte) (any, error) {
	var in struct {
		NextToken  string
		MaxResults int
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	limit, err := page(in.MaxResults)
	if err != nil {
		return nil, err
	}
	res, err := s.o.Store.GlueList(ctx, &store.GlueListParams{Kind: store.GlueDatabase, Limit: limit, Cursor: in.NextToken})
	if err != nil {
		return nil, storeErr(err, "")
	}
	list := []json.RawMessage{}
	for _, e := range res.Entities {
		list = append(list, e.Doc)
	}
	return map[string]any{"DatabaseList": list, "NextToken": omit(res.NextCursor)}, nil
}

func (s *Service) updateDatabase(ctx context.Context, body []byte) (any, error) {
	var in struct {
		Name          string
		DatabaseInput *Database
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	if in.DatabaseInput == nil {
		return nil, invalidInput("DatabaseInput is required")
	}
	old, e, err := s.readDatabase(ctx, in.Name)
	if err != nil {
		return nil, err
	}
	d := *in.DatabaseInput
	d.Name, d.CatalogID, d.CreateTime = old.Name, s.o.Account, old.CreateTime
	doc, _ := json.Marshal(d)
	if _, err := s.o.Store.GlueUpdate(ctx, &store.GlueUpdateParams{Kind: store.GlueDatabase, Name: d.Name, IfVersion: e.Version,
		Doc: doc, Now: s.o.Clock.Now()}); err != nil {
		return nil, conflictRetry(err)
	}
	return struct{}{}, nil
}

// conflictRetry words a lost compare-and-swap as Glue words concurrent changes.
func conflictRetry(err error) error {
	if errors.Is(err, store.ErrConflict) {
		return errorf("ConcurrentModificationException", "the entity was modified concurrently; try again")
	}
	return storeErr(err, "Entity")
}

func (s *Service) deleteDatabase(ctx context.Context, body []byte) (any, error) {
	var in struct{ Name string }
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	name := catalogName(in.Name)
	err := s.o.Store.GlueDelete(ctx, &store.GlueDeleteParams{Kind: store.GlueDatabase, Name: name, Children: []store.GlueChildren{
		{Kind: store.GlueTable, Parent: name}, {Kind: store.GluePartition, Parent: name, ParentPrefix: true}}})
	if err != nil {
		return nil, storeErr(err, "Database "+in.Name)
	}
	return struct{}{}, nil
}

func (s *Service) readTable(ctx context.Context, db, name string) (*Table, *store.GlueEntity, error) {
	e, err := s.o.Store.GlueGet(ctx, &store.GlueGetParams{Kind: store.GlueTable, Parent: catalogName(db), Name: catalogName(name)})
	if errors.Is(err, store.ErrNotFound) {
		if _, _, dbErr := s.readDatabase(ctx, db); dbErr != nil {
			return nil, nil, dbErr
		}
		return nil, nil, notFound("Table %s not found.", name)
	}
	if err != nil {
		return nil, nil, err
	}
	var t Table
	if err := json.Unmarshal(e.Doc, &t); err != nil {
		return nil, nil, fmt.Errorf("glue: table %s: %w", name, err)
	}
	return &t, e, nil
}

// tableInput fills the fields Glue sets itself on a table created or updated through the API.
func (s *Service) tableFrom(db string, in *Table) (*Table, error) {
	if err := s.checkName("tableInput.name", in.Name); err != nil {
		return nil, err
	}
	t := *in
	t.Name, t.DatabaseName, t.CatalogID = catalogName(t.Name), catalogName(db), s.o.Account
	if t.PartitionKeys == nil {
		t.PartitionKeys = []Column{}
	}
	for _, c := range append(append([]Column{}, t.PartitionKeys...), columnsOf(t.StorageDescriptor)...) {
		if c.Name == "" {
			return nil, invalidInput("a column needs a name")
		}
	}
	if t.StorageDescriptor != nil {
		fixSD(t.StorageDescriptor)
	}
	return &t, nil
}

func columnsOf(sd *StorageDescriptor) []Column {
	if sd == nil {
		return nil
	}
	return sd.Columns
}

// fixSD gives a storage descriptor's lists their empty values, as Glue returns them.
func fixSD(sd *StorageDescriptor) {
	if sd.BucketColumns == nil {
		sd.BucketColumns = []string{}
	}
	if sd.SortColumns == nil {
		sd.SortColumns = []json.RawMessage{}
	}
}

func (s *Service) createTable(ctx context.Context, body []byte) (any, error) {
	return s.writeTable(ctx, body, true)
}

// writeTable is CreateTable (create set) and UpdateTable, which take the same input.
func (s *Service) writeTable(ctx context.Context, body []byte, create bool) (any, error) {
	var in struct {
		DatabaseName string
		TableInput   *Table
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	if in.TableInput == nil {
		return nil, invalidInput("TableInput is required")
	}
	t, err := s.tableFrom(in.DatabaseName, in.TableInput)
	if err != nil {
		return nil, err
	}
	if err := s.putTable(ctx, t, create); err != nil {
		return nil, err
	}
	return struct{}{}, nil
}

// putTable creates a table (create) or replaces it, checking that its database exists.
func (s *Service) putTable(ctx context.Context, t *Table, create bool) error {
	if _, _, err := s.readDatabase(ctx, t.DatabaseName); err != nil {
		return err
	}
	now := s.o.Clock.Now()
	if create {
		t.CreateTime, t.UpdateTime, t.VersionID = at(now), at(now), "0"
		doc, _ := json.Marshal(t)
		_, err := s.o.Store.GlueCreate(ctx, &store.GlueCreateParams{Kind: store.GlueTable, Parent: t.DatabaseName, Name: t.Name, Doc: doc, Now: now})
		if errors.Is(err, store.ErrGlueAlreadyExists) {
			return errorf("AlreadyExistsException", "Table already exists.")
		}
		return err
	}
	old, e, err := s.readTable(ctx, t.DatabaseName, t.Name)
	if err != nil {
		return err
	}
	t.CreateTime, t.UpdateTime = old.CreateTime, at(now)
	t.VersionID = fmt.Sprint(e.Version)
	doc, _ := json.Marshal(t)
	_, err = s.o.Store.GlueUpdate(ctx, &store.GlueUpdateParams{Kind: store.GlueTable, Parent: t.DatabaseName, Name: t.Name,
		IfVersion: e.Version, Doc: doc, Now: now})
	return conflictRetry(err)
}

func (s *Service) getTable(ctx context.Context, body []byte) (any, error) {
	var in struct{ DatabaseName, Name string }
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	t, _, err := s.readTable(ctx, in.DatabaseName, in.Name)
	if err != nil {
		return nil, err
	}
	return map[string]any{"Table": t}, nil
}

// namePattern compiles GetTables' Expression as Glue reads it: Hive's pattern, where * is any
// run of characters and | separates alternatives, matched case-insensitively on the whole name.
func namePattern(expr string) (*regexp.Regexp, error) {
	var alts []string
	for _, alt := range strings.Split(expr, "|") {
		var b strings.Builder
		for i, r := range alt {
			if r == '*' && (i == 0 || alt[i-1] != '.') {
				b.WriteString(".*")
				continue
			}
			b.WriteRune(r)
		}
		alts = append(alts, b.String())
	}
	re, err := regexp.Compile(`(?i)^(?:` + strings.Join(alts, "|") + `)$`)
	if err != nil {
		return nil, invalidInput("Expression is not a valid pattern: %s", err)
	}
	return re, nil
}

func (s *Service) getTables(ctx context.Context, body []byte) (any, error) {
	var in struct {
		DatabaseName, Expression, NextToken string
		MaxResults                          int
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	limit, err := page(in.MaxResults)
	if err != nil {
		return nil, err
	}
	if _, _, err := s.readDatabase(ctx, in.DatabaseName); err != nil {
		return nil, err
	}
	var re *regexp.Regexp
	if in.Expression != "" {
		if re, err = namePattern(in.Expression); err != nil {
			return nil, err
		}
	}
	// A filtered page reads on until it holds limit matches, so that pages are never empty
	// while more tables match.
	list, cursor := []json.RawMessage{}, in.NextToken
	for len(list) < limit {
		res, err := s.o.Store.GlueList(ctx, &store.GlueListParams{Kind: store.GlueTable, Parent: catalogName(in.DatabaseName),
			Limit: limit - len(list), Cursor: cursor})
		if err != nil {
			return nil, storeErr(err, "")
		}
		for _, e := range res.Entities {
			if re == nil || re.MatchString(e.Name) {
				list = append(list, e.Doc)
			}
		}
		if cursor = res.NextCursor; cursor == "" {
			break
		}
	}
	return map[string]any{"TableList": list, "NextToken": omit(cursor)}, nil
}

func (s *Service) updateTable(ctx context.Context, body []byte) (any, error) {
	return s.writeTable(ctx, body, false)
}

func (s *Service) dropTable(ctx context.Context, db, name string) error {
	db, name = catalogName(db), catalogName(name)
	err := s.o.Store.GlueDelete(ctx, &store.GlueDeleteParams{Kind: store.GlueTable, Parent: db, Name: name,
		Children: []store.GlueChildren{{Kind: store.GluePartition, Parent: store.GlueParent(db, name)}}})
	if errors.Is(err, store.ErrNotFound) {
		if _, _, dbErr := s.readDatabase(ctx, db); dbErr != nil {
			return dbErr
		}
		return notFound("Table %s not found.", name)
	}
	return err
}

func (s *Service) deleteTable(ctx context.Context, body []byte) (any, error) {
	var in struct{ DatabaseName, Name string }
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	if err := s.dropTable(ctx, in.DatabaseName, in.Name); err != nil {
		return nil, err
	}
	return struct{}{}, nil
}

func (s *Service) batchDeleteTable(ctx context.Context, body []byte) (any, error) {
	var in struct {
		DatabaseName   string
		TablesToDelete []string
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	errs := []any{}
	for _, n := range in.TablesToDelete {
		if err := s.dropTable(ctx, in.DatabaseName, n); err != nil {
			ae, ok := err.(*Error)
			if !ok {
				return nil, err
			}
			errs = append(errs, map[string]any{"TableName": n, "ErrorDetail": map[string]string{"ErrorCode": ae.Code, "ErrorMessage": ae.Message}})
		}
	}
	return map[string]any{"Errors": errs}, nil
}

// omit makes an empty NextToken absent from a response.
func omit(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}
