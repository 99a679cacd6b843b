package itemreader

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"io"
	"strings"

	"github.com/stepline/stepline/internal/jsonv"
)

// delimiters are CSVDelimiter's values.
var delimiters = map[string]rune{"": ',', "COMMA": ',', "PIPE": '|', "SEMICOLON": ';', "SPACE": ' ', "TAB": '\t'}

// readCSV reads rows as objects of strings keyed by the headers: the first row's
// (FIRST_ROW) or the given ones. A short row's missing fields are empty strings, a long
// row's extra fields are dropped, as AWS does.
func readCSV(ctx context.Context, objs Objects, s Spec, bucket, key string, c *chunk) (bool, error) {
	delim, ok := delimiters[s.Delimiter]
	if !ok {
		return false, failf("The CSVDelimiter %s is not supported", s.Delimiter)
	}
	headers := s.Headers
	firstRow := s.HeaderLocation != "GIVEN"
	if firstRow {
		headers = c.cur.Header
	}
	body, err := objs.Get(ctx, bucket, key, c.cur.Offset)
	if err != nil {
		return false, err
	}
	defer body.Close()
	r := csv.NewReader(bufio.NewReaderSize(body, 64<<10))
	r.Comma = delim
	r.FieldsPerRecord = -1
	r.LazyQuotes = true
	r.ReuseRecord = true
	base := c.cur.Offset
	if firstRow && headers == nil {
		rec, err := r.Read()
		if err == io.EOF {
			return true, nil
		}
		if err != nil {
			return false, failf("%s", csvError(err))
		}
		headers = append([]string(nil), rec...)
		c.cur.Header = headers
		c.cur.Offset = base + r.InputOffset()
	}
	if err := uniqueHeaders(headers); err != nil {
		return false, err
	}
	keys := make([][]byte, len(headers))
	for i, h := range headers {
		keys[i] = jsonv.AppendString(nil, h)
	}
	var item []byte
	for !c.full() && !c.exhausted() {
		if err := ctx.Err(); err != nil {
			return false, err
		}
		rec, err := r.Read()
		if err == io.EOF {
			return true, nil
		}
		if err != nil {
			return false, failf("%s", csvError(err))
		}
		item = append(item[:0], '{')
		for i, k := range keys {
			if i > 0 {
				item = append(item, ',')
			}
			item = append(item, k...)
			item = append(item, ':')
			v := ""
			if i < len(rec) {
				v = rec[i]
			}
			item = jsonv.AppendString(item, v)
		}
		item = append(item, '}')
		c.add(item)
		c.cur.Offset = base + r.InputOffset()
	}
	return false, nil
}

func csvError(err error) string {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return "The CSV object could not be read: " + pe.Error()
	}
	return err.Error()
}

func uniqueHeaders(hs []string) error {
	seen := make(map[string]bool, len(hs))
	for _, h := range hs {
		if seen[h] {
			return failf("CSV headers cannot contain duplicates.")
		}
		seen[h] = true
	}
	return nil
}

// nonIterable is AWS's cause for a JSON object that is not an array.
const nonIterable = "Attempting to map over non-iterable node."

// readJSON reads the elements of the JSON array the object holds. The cursor is the offset
// just after the last element read, so a later Read resumes at the ',' or ']' that follows.
func readJSON(ctx context.Context, objs Objects, bucket, key string, c *chunk) (bool, error) {
	body, err := objs.Get(ctx, bucket, key, c.cur.Offset)
	if err != nil {
		return false, err
	}
	defer body.Close()
	br := bufio.NewReaderSize(body, 64<<10)
	base := c.cur.Offset
	var dec *json.Decoder
	prefix := int64(0)
	if !c.cur.Started {
		dec = json.NewDecoder(br)
		tok, err := dec.Token()
		if d, ok := tok.(json.Delim); err != nil || !ok || d != '[' {
			return false, failf(nonIterable)
		}
		c.cur.Started = true
		c.cur.Offset = base + dec.InputOffset()
	} else {
		skipped := int64(0)
		for {
			b, err := br.ReadByte()
			if err != nil {
				return false, failf("The JSON object ended before its array did")
			}
			skipped++
			if b == ' ' || b == '\t' || b == '\n' || b == '\r' {
				continue
			}
			if b == ']' {
				return true, nil
			}
			if b != ',' {
				return false, failf("The JSON object is not a valid array at offset %d", base+skipped-1)
			}
			break
		}
		// The rest reads as the remainder of an array: "[" stands in for what came before.
		base += skipped
		prefix = 1
		dec = json.NewDecoder(io.MultiReader(strings.NewReader("["), br))
		if _, err := dec.Token(); err != nil {
			return false, err
		}
	}
	var raw json.RawMessage
	for !c.full() && !c.exhausted() {
		if err := ctx.Err(); err != nil {
			return false, err
		}
		if !dec.More() {
			if _, err := dec.Token(); err != nil {
				return false, failf("The JSON object is not a valid array: %v", err)
			}
			return true, nil
		}
		raw = raw[:0]
		if err := dec.Decode(&raw); err != nil {
			return false, failf("The JSON object is not a valid array: %v", err)
		}
		c.add(raw)
		c.cur.Offset = base + dec.InputOffset() - prefix
	}
	return false, nil
}

// readJSONL reads one JSON value per line; blank lines are skipped.
func readJSONL(ctx context.Context, objs Objects, bucket, key string, c *chunk) (bool, error) {
	body, err := objs.Get(ctx, bucket, key, c.cur.Offset)
	if err != nil {
		return false, err
	}
	defer body.Close()
	br := bufio.NewReaderSize(body, 64<<10)
	for !c.full() && !c.exhausted() {
		if err := ctx.Err(); err != nil {
			return false, err
		}
		line, err := br.ReadBytes('\n')
		if len(line) == 0 && err == io.EOF {
			return true, nil
		}
		if err != nil && err != io.EOF {
			return false, err
		}
		c.cur.Offset += int64(len(line))
		v := bytes.TrimSpace(line)
		if len(v) > 0 {
			if !json.Valid(v) {
				return false, failf("The JSONL object has a line that is not valid JSON at offset %d", c.cur.Offset-int64(len(line)))
			}
			c.add(v)
		}
		if err == io.EOF {
			return true, nil
		}
	}
	return false, nil
}

// manifest is an S3 Inventory manifest.json.
type manifest struct {
	SourceBucket      string `json:"sourceBucket"`
	DestinationBucket string `json:"destinationBucket"`
	FileFormat        string `json:"fileFormat"`
	FileSchema        string `json:"fileSchema"`
	Files             []struct {
		Key string `json:"key"`
	} `json:"files"`
}

// maxManifest bounds the manifest.json a MANIFEST reader reads whole.
const maxManifest = 16 << 20

// readManifest reads the rows of the CSV files an S3 Inventory manifest lists (gzipped or
// not), each row an object keyed by the manifest's fileSchema. The cursor is the file and the
// row within it: a compressed file cannot be entered in the middle, so a later Read skips the
// rows already read.
func readManifest(ctx context.Context, objs Objects, s Spec, bucket, key string, c *chunk) (bool, error) {
	body, err := objs.Get(ctx, bucket, key, 0)
	if err != nil {
		return false, err
	}
	data, err := io.ReadAll(io.LimitReader(body, maxManifest+1))
	body.Close()
	if err != nil {
		return false, err
	}
	var m manifest
	if len(data) > maxManifest || json.Unmarshal(data, &m) != nil {
		return false, failf("The manifest %s is not a valid S3 Inventory manifest", key)
	}
	if m.FileFormat != "CSV" {
		return false, failf("The manifest's fileFormat %s is not supported: an S3 Inventory manifest must list CSV files", m.FileFormat)
	}
	dest := strings.TrimPrefix(m.DestinationBucket, "arn:aws:s3:::")
	if dest == "" {
		dest = bucket
	}
	var cols [][]byte
	for _, f := range strings.Split(m.FileSchema, ",") {
		cols = append(cols, jsonv.AppendString(nil, strings.TrimSpace(f)))
	}
	for c.cur.File < len(m.Files) {
		done, err := readInventoryFile(ctx, objs, dest, m.Files[c.cur.File].Key, cols, c)
		if err != nil || !done {
			return false, err
		}
		c.cur.File++
		c.cur.Row = 0
	}
	return true, nil
}

func readInventoryFile(ctx context.Context, objs Objects, bucket, key string, cols [][]byte, c *chunk) (bool, error) {
	body, err := objs.Get(ctx, bucket, key, 0)
	if err != nil {
		return false, err
	}
	defer body.Close()
	var rd io.Reader = bufio.NewReaderSize(body, 64<<10)
	if strings.HasSuffix(key, ".gz") {
		zr, err := gzip.NewReader(rd)
		if err != nil {
			return false, failf("The inventory file %s is not gzip: %v", key, err)
		}
		defer zr.Close()
		rd = zr
	}
	r := csv.NewReader(rd)
	r.FieldsPerRecord = -1
	r.ReuseRecord = true
	for i := int64(0); i < c.cur.Row; i++ {
		if _, err := r.Read(); err != nil {
			return false, failf("The inventory file %s changed while it was read", key)
		}
	}
	var item []byte
	for !c.full() && !c.exhausted() {
		if err := ctx.Err(); err != nil {
			return false, err
		}
		rec, err := r.Read()
		if err == io.EOF {
			return true, nil
		}
		if err != nil {
			return false, failf("%s", csvError(err))
		}
		item = append(item[:0], '{')
		for i, k := range cols {
			if i > 0 {
				item = append(item, ',')
			}
			item = append(append(item, k...), ':')
			v := ""
			if i < len(rec) {
				v = rec[i]
			}
			item = jsonv.AppendString(item, v)
		}
		c.add(append(item, '}'))
		c.cur.Row++
	}
	return false, nil
}
