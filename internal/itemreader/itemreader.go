// Package itemreader reads the items of a distributed Map from S3, as the Map's ItemReader
// asks: the rows of a CSV object, the elements of a JSON array, the lines of a JSON Lines
// object, the rows of a Parquet object, the rows of the files an S3 inventory manifest lists,
// or the objects a ListObjectsV2 lists. It never holds an object whole: a Read returns the
// next chunk of items and a Cursor that says where the next Read starts, so that a Map over
// millions of rows reads them a chunk at a time, and a reader that crashed starts again from
// the last cursor its execution recorded.
//
// It knows nothing of where objects live: Objects is the S3 API it reads through.
package itemreader

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/stepline/stepline/internal/jsonv"
)

// Object is one object of a listing.
type Object struct {
	Key          string
	ETag         string
	StorageClass string
	Size         int64
	LastModified time.Time
}

// Objects is the S3 API a reader reads through.
type Objects interface {
	// Get opens the object's bytes from offset on.
	Get(ctx context.Context, bucket, key string, offset int64) (io.ReadCloser, error)
	// ReadAt reads len(p) bytes of the object at off (a ranged GET), for formats read out of
	// order (Parquet); size is the object's size.
	ReadAt(ctx context.Context, bucket, key string, p []byte, off int64) (int, error)
	// Size returns the object's size.
	Size(ctx context.Context, bucket, key string) (int64, error)
	// List lists up to max objects of bucket under prefix whose keys come after startAfter, in
	// key order; more tells whether the listing goes on.
	List(ctx context.Context, bucket, prefix, startAfter string, max int) (objs []Object, more bool, err error)
}

// Error is a failure of the reader that AWS reports as States.ItemReaderFailed, with Cause
// as the cause.
type Error struct{ Cause string }

func (e *Error) Error() string { return e.Cause }

func failf(format string, args ...any) error { return &Error{Cause: fmt.Sprintf(format, args...)} }

// The resources an ItemReader names.
const (
	ResourceGetObject     = "arn:aws:states:::s3:getObject"
	ResourceListObjectsV2 = "arn:aws:states:::s3:listObjectsV2"
)

// Spec is what to read: the ItemReader's resource, its Parameters evaluated, and its
// ReaderConfig.
type Spec struct {
	Resource string
	Bucket   string
	Key      string // getObject
	Prefix   string // listObjectsV2

	InputType      string   // CSV, JSON, JSONL, PARQUET, MANIFEST; "" for a plain listing
	HeaderLocation string   // CSV: FIRST_ROW or GIVEN
	Headers        []string // CSV, GIVEN
	Delimiter      string   // CSV: COMMA (default), PIPE, SEMICOLON, SPACE, TAB
	// Transformation is listObjectsV2's: NONE lists the objects, LOAD_AND_FLATTEN reads each
	// listed object as InputType and gives its items.
	Transformation string
	// MaxItems bounds the items read; 0 reads them all.
	MaxItems int64
}

// SpecOf reads a Spec from the JSON the interpreter sends (see interp's reader effect):
// {"Resource", "Parameters": {...}, "ReaderConfig": {...}} with MaxItems resolved.
func SpecOf(v jsonv.Value) (Spec, error) {
	o, ok := v.(*jsonv.Object)
	if !ok {
		return Spec{}, failf("the item reader's specification must be an object")
	}
	var s Spec
	s.Resource, _ = getString(o, "Resource")
	params, _ := get(o, "Parameters").(*jsonv.Object)
	if params == nil {
		params = jsonv.NewObject(0)
	}
	var ok1 bool
	if s.Bucket, ok1 = getString(params, "Bucket"); !ok1 || s.Bucket == "" {
		return s, failf("The field 'Bucket' is required")
	}
	switch s.Resource {
	case ResourceGetObject:
		if s.Key, ok1 = getString(params, "Key"); !ok1 || s.Key == "" {
			return s, failf("The field 'Key' is required")
		}
	case ResourceListObjectsV2:
		s.Prefix, _ = getString(params, "Prefix")
	default:
		return s, failf("The item reader resource %s is not supported", s.Resource)
	}
	cfg, _ := get(o, "ReaderConfig").(*jsonv.Object)
	if cfg == nil {
		cfg = jsonv.NewObject(0)
	}
	s.InputType, _ = getString(cfg, "InputType")
	s.HeaderLocation, _ = getString(cfg, "CSVHeaderLocation")
	s.Delimiter, _ = getString(cfg, "CSVDelimiter")
	s.Transformation, _ = getString(cfg, "Transformation")
	if hs, ok := get(cfg, "CSVHeaders").([]jsonv.Value); ok {
		for _, h := range hs {
			str, _ := h.(string)
			s.Headers = append(s.Headers, str)
		}
	}
	if n, ok := get(cfg, "MaxItems").(jsonv.Number); ok {
		s.MaxItems, _ = n.Int64()
	}
	if s.Resource == ResourceGetObject && s.InputType == "" {
		return s, failf("The field 'InputType' is required to read an object")
	}
	// S3 Inventory manifests are read (InputType MANIFEST); Athena's data manifests are not
	// yet, and reading one as anything else would give wrong items rather than none.
	if mt, ok := getString(cfg, "ManifestType"); ok && mt != "S3_INVENTORY" {
		return s, failf("The ManifestType %s is not supported by Stepline: only S3_INVENTORY manifests are read", mt)
	}
	return s, nil
}

func get(o *jsonv.Object, key string) jsonv.Value {
	v, _ := o.Get(key)
	return v
}

func getString(o *jsonv.Object, key string) (string, bool) {
	s, ok := get(o, key).(string)
	return s, ok
}

// Cursor is where a Read starts: its zero value is the beginning. It is JSON so that the
// execution keeps it in its snapshot.
type Cursor struct {
	// Offset is the byte offset in the object being read (CSV, JSON, JSONL).
	Offset int64 `json:"o,omitempty"`
	// Header is a CSV object's first row, once read (FIRST_ROW).
	Header []string `json:"h,omitempty"`
	// Count is the items read so far, for MaxItems.
	Count int64 `json:"n,omitempty"`
	// After is the last key of a listing whose objects were all read.
	After string `json:"a,omitempty"`
	// Key is the object a LOAD_AND_FLATTEN listing is reading.
	Key string `json:"k,omitempty"`
	// File is the index of the manifest file being read, Row the row within it (and within
	// a Parquet object).
	File int   `json:"f,omitempty"`
	Row  int64 `json:"r,omitempty"`
	// Started marks a read under way (JSON: the array was opened).
	Started bool `json:"s,omitempty"`
}

// Limits bound one Read: at most Items items, and the chunk stops after the item that makes it
// reach Bytes bytes of JSON text.
type Limits struct {
	Items int
	Bytes int
}

// Chunk is what one Read returns: Items is a JSON array's text.
type Chunk struct {
	Items []byte
	Count int
	Next  Cursor
	Done  bool
}

// chunk collects items into a JSON array.
type chunk struct {
	buf []byte
	n   int
	lim Limits
	cur *Cursor
	max int64 // MaxItems; 0 none
}

func newChunk(lim Limits, cur *Cursor, max int64) *chunk {
	if lim.Items <= 0 {
		lim.Items = 1000
	}
	if lim.Bytes <= 0 {
		lim.Bytes = 4 << 20
	}
	return &chunk{buf: append(make([]byte, 0, 4096), '['), lim: lim, cur: cur, max: max}
}

// exhausted reports that MaxItems items were read.
func (c *chunk) exhausted() bool { return c.max > 0 && c.cur.Count >= c.max }

// full reports that the chunk holds as much as one Read returns.
func (c *chunk) full() bool { return c.n >= c.lim.Items || len(c.buf) >= c.lim.Bytes }

// add appends one item's JSON text.
func (c *chunk) add(item []byte) {
	if c.n > 0 {
		c.buf = append(c.buf, ',')
	}
	c.buf = append(c.buf, item...)
	c.n++
	c.cur.Count++
}

func (c *chunk) result(done bool) Chunk {
	return Chunk{Items: append(c.buf, ']'), Count: c.n, Next: *c.cur, Done: done || c.exhausted()}
}

// Read reads the next chunk of items from cur on.
func Read(ctx context.Context, objs Objects, s Spec, cur Cursor, lim Limits) (Chunk, error) {
	c := newChunk(lim, &cur, s.MaxItems)
	if c.exhausted() {
		return c.result(true), nil
	}
	var done bool
	var err error
	switch s.Resource {
	case ResourceGetObject:
		done, err = readObject(ctx, objs, s, s.Bucket, s.Key, c)
	case ResourceListObjectsV2:
		done, err = readListing(ctx, objs, s, c)
	default:
		err = failf("The item reader resource %s is not supported", s.Resource)
	}
	if err != nil {
		return Chunk{}, err
	}
	return c.result(done), nil
}

// readObject reads items of one object from c.cur on, until the chunk is full (false) or the
// object ends (true).
func readObject(ctx context.Context, objs Objects, s Spec, bucket, key string, c *chunk) (bool, error) {
	switch s.InputType {
	case "CSV":
		return readCSV(ctx, objs, s, bucket, key, c)
	case "JSON":
		return readJSON(ctx, objs, bucket, key, c)
	case "JSONL":
		return readJSONL(ctx, objs, bucket, key, c)
	case "PARQUET":
		return readParquet(ctx, objs, bucket, key, c)
	case "MANIFEST":
		return readManifest(ctx, objs, s, bucket, key, c)
	}
	return false, failf("The InputType %s is not supported", s.InputType)
}

// readListing lists the objects under the prefix, one item each, or with LOAD_AND_FLATTEN
// reads each listed object's items in turn.
func readListing(ctx context.Context, objs Objects, s Spec, c *chunk) (bool, error) {
	flatten := s.Transformation == "LOAD_AND_FLATTEN"
	for !c.full() && !c.exhausted() {
		if flatten && c.cur.Key != "" {
			done, err := readObject(ctx, objs, s, s.Bucket, c.cur.Key, c)
			if err != nil {
				return false, err
			}
			if !done {
				return false, nil
			}
			c.cur.After, c.cur.Key = c.cur.Key, ""
			c.cur.Offset, c.cur.Header, c.cur.Row, c.cur.File, c.cur.Started = 0, nil, 0, 0, false
			continue
		}
		max := 1000
		if flatten {
			max = 1
		}
		list, more, err := objs.List(ctx, s.Bucket, s.Prefix, c.cur.After, max)
		if err != nil {
			return false, err
		}
		if len(list) == 0 {
			return true, nil
		}
		for _, o := range list {
			if flatten {
				c.cur.Key = o.Key
				break
			}
			if c.full() || c.exhausted() {
				return false, nil
			}
			c.add(listedItem(o))
			c.cur.After = o.Key
		}
		if !flatten && !more {
			return true, nil
		}
	}
	return false, nil
}

// listedItem is one object of a listing as the Map's item: AWS's members, in AWS's order, its
// date in epoch seconds.
func listedItem(o Object) []byte {
	b := make([]byte, 0, 128+len(o.Key))
	b = append(b, `{"Etag":`...)
	b = jsonv.AppendString(b, o.ETag)
	b = append(b, `,"LastModified":`...)
	b = strconv.AppendInt(b, o.LastModified.Unix(), 10)
	b = append(b, `,"Key":`...)
	b = jsonv.AppendString(b, o.Key)
	b = append(b, `,"Size":`...)
	b = strconv.AppendInt(b, o.Size, 10)
	b = append(b, `,"StorageClass":`...)
	sc := o.StorageClass
	if sc == "" {
		sc = "STANDARD"
	}
	b = jsonv.AppendString(b, sc)
	return append(b, '}')
}
