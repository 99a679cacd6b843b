package task

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/stepline/stepline/internal/asl/sferr"
	"github.com/stepline/stepline/internal/engine"
	"github.com/stepline/stepline/internal/jsonv"
)

// resultStatuses are the files a ResultWriter writes, in the manifest's order.
var resultStatuses = []string{"FAILED", "PENDING", "SUCCEEDED"}

// writeResults carries out a ResultWriter's task. A part ({"Write": {STATUS: {"Index",
// "Records"}}}) is written as an object of its own beside the results; the manifest
// ({"Manifest": true, "Parts": {STATUS: n}}) joins each status's parts into STATUS_0.json,
// streaming them, writes manifest.json as AWS does, deletes the parts and answers {"Bucket",
// "Key"} of the manifest. A redrive of the Map Run ("RedriveCount": n) writes its files and
// manifest under Redrive-n/ in the Map Run's folder, leaving the earlier ones as they are, and
// its manifest lists the files of every generation: together they hold the whole Map Run's
// results, as AWS's redriven Map Runs leave them. Either may run twice (at least once): a part is written under the
// same name, and a manifest already written is answered again. Any failure is
// States.ResultWriterFailed.
func (r *Runner) writeResults(ctx context.Context, t *engine.Task) (string, error) {
	fail := func(cause string) error { return &engine.TaskError{Name: sferr.ResultWriterFailed, Cause: cause} }
	if r.o.S3 == nil {
		return "", fail("S3 is not available to this runner: the ResultWriter cannot write")
	}
	v, err := jsonv.ParseString(t.Parameters)
	o, _ := v.(*jsonv.Object)
	if err != nil || o == nil {
		return "", fail("the result writer's parameters are not a JSON object")
	}
	params, _ := get(o, "Parameters").(*jsonv.Object)
	if params == nil {
		params = jsonv.NewObject(0)
	}
	bucket, _ := get(params, "Bucket").(string)
	prefix, _ := get(params, "Prefix").(string)
	if bucket == "" {
		return "", fail("The field 'Bucket' is required")
	}
	arn, _ := get(o, "MapRunArn").(string)
	jsonl := get(o, "OutputType") == "JSONL"
	dir := strings.TrimSuffix(prefix, "/")
	if dir != "" {
		dir += "/"
	}
	dir += arn[strings.LastIndexByte(arn, ':')+1:] + "/"
	w := &resultFiles{r: r, bucket: bucket, dir: dir, jsonl: jsonl}
	if n, _ := readNumber(o, "RedriveCount"); n > 0 {
		w.previous = generationDir(dir, n-1) + "manifest.json"
		w.dir = generationDir(dir, n)
		w.earlier = n
		w.base = dir
	}
	if parts, ok := get(o, "Write").(*jsonv.Object); ok {
		for _, m := range parts.Members() {
			p, _ := m.Value.(*jsonv.Object)
			idx, _ := readNumber(p, "Index")
			recs, _ := get(p, "Records").([]jsonv.Value)
			if err := w.writePart(ctx, m.Key, idx, recs); err != nil {
				return "", fail(causeOf(err))
			}
		}
		return "{}", nil
	}
	counts, _ := get(o, "Parts").(*jsonv.Object)
	if counts == nil {
		counts = jsonv.NewObject(0)
	}
	key, err := w.finish(ctx, arn, counts)
	if err != nil {
		return "", fail(causeOf(err))
	}
	return jsonv.String(jsonv.ObjectOf(
		jsonv.Member{Key: "Bucket", Value: bucket},
		jsonv.Member{Key: "Key", Value: key},
	)), nil
}

func causeOf(err error) string {
	var te *engine.TaskError
	if errors.As(err, &te) {
		return te.Cause
	}
	return err.Error()
}

// resultFiles writes one Map Run's result files.
type resultFiles struct {
	r      *Runner
	bucket string
	dir    string // PREFIX/MAPRUNID/, or PREFIX/MAPRUNID/Redrive-n/ for the nth redrive
	jsonl  bool
	// previous is the manifest of the generation before a redrive's, whose files the
	// redrive's manifest lists too.
	previous string
	// earlier counts the generations before a redrive's, under base (PREFIX/MAPRUNID/).
	earlier int64
	base    string
}

// completeEarlier finishes the earlier generations of a redriven Map Run that wrote no
// manifest (stopped, or their writer failed): the parts they left are joined into their
// result files and manifest, as their own last task would have done, and deleted. So no part
// is left behind, and the redrive's manifest lists their records too.
func (w *resultFiles) completeEarlier(ctx context.Context, arn string) error {
	objs := &s3Objects{r: w.r}
	for g := range w.earlier {
		dir := generationDir(w.base, g)
		if _, err := w.size(ctx, dir+"manifest.json"); err == nil {
			continue
		}
		parts := map[string][]string{}
		idx := map[string]int64{}
		after := ""
		for {
			list, more, err := objs.List(ctx, w.bucket, dir+".parts/", after, 1000)
			if err != nil {
				return err
			}
			for _, o := range list {
				name := strings.TrimPrefix(o.Key, dir+".parts/")
				status, n, ok := strings.Cut(name, "_")
				i, err := strconv.ParseInt(n, 10, 64)
				if !ok || err != nil {
					continue
				}
				parts[status] = append(parts[status], o.Key)
				idx[o.Key] = i
				after = o.Key
			}
			if !more || len(list) == 0 {
				break
			}
		}
		for _, keys := range parts {
			slices.SortFunc(keys, func(a, b string) int { return cmp.Compare(idx[a], idx[b]) })
		}
		gw := &resultFiles{r: w.r, bucket: w.bucket, dir: dir, jsonl: w.jsonl}
		if g > 0 {
			gw.previous = generationDir(w.base, g-1) + "manifest.json"
		}
		if err := gw.writeManifest(ctx, arn, parts); err != nil {
			return err
		}
		for _, keys := range parts {
			for _, k := range keys {
				_, _ = w.r.s3Call(ctx, http.MethodDelete, objectPath(w.bucket, k), url.Values{}, nil, nil)
			}
		}
	}
	return nil
}

// generationDir is where the files of a Map Run's nth redrive go (n = 0: the first run's).
func generationDir(dir string, n int64) string {
	if n == 0 {
		return dir
	}
	return dir + "Redrive-" + strconv.FormatInt(n, 10) + "/"
}

// previousFiles returns the result files the manifest of the generation before lists, by
// status; none when there is no such manifest (that run wrote none).
func (w *resultFiles) previousFiles(ctx context.Context) (map[string][]jsonv.Value, error) {
	if w.previous == "" {
		return nil, nil
	}
	if _, err := w.size(ctx, w.previous); err != nil {
		return nil, nil // no manifest: that run failed before it wrote one
	}
	body, err := (&s3Objects{r: w.r}).Get(ctx, w.bucket, w.previous, 0)
	if err != nil {
		return nil, err
	}
	defer body.Close()
	text, err := io.ReadAll(io.LimitReader(body, 64<<20))
	if err != nil {
		return nil, err
	}
	v, err := jsonv.ParseString(string(text))
	if err != nil {
		return nil, fmt.Errorf("the manifest %s of the Map Run's previous run: %w", w.previous, err)
	}
	m, _ := v.(*jsonv.Object)
	files, _ := get(m, "ResultFiles").(*jsonv.Object)
	out := map[string][]jsonv.Value{}
	for _, status := range resultStatuses {
		list, _ := get(files, status).([]jsonv.Value)
		out[status] = list
	}
	return out, nil
}

func (w *resultFiles) partKey(status string, i int64) string {
	return w.dir + ".parts/" + status + "_" + strconv.FormatInt(i, 10)
}

// writePart writes records as one part: the records' JSON texts joined by commas (JSON) or
// one per line (JSONL).
func (w *resultFiles) writePart(ctx context.Context, status string, i int64, recs []jsonv.Value) error {
	var buf []byte
	for k, rec := range recs {
		if k > 0 && !w.jsonl {
			buf = append(buf, ',')
		}
		buf = jsonv.Append(buf, rec)
		if w.jsonl {
			buf = append(buf, '\n')
		}
	}
	return w.put(ctx, w.partKey(status, i), bytes.NewReader(buf), int64(len(buf)))
}

func (w *resultFiles) put(ctx context.Context, key string, body io.Reader, n int64) error {
	res, err := w.r.s3Stream(ctx, http.MethodPut, objectPath(w.bucket, key), nil, nil, body, n)
	if err != nil {
		return err
	}
	_, _ = io.Copy(io.Discard, res.Body)
	return res.Body.Close()
}

func (w *resultFiles) size(ctx context.Context, key string) (int64, error) {
	return (&s3Objects{r: w.r}).Size(ctx, w.bucket, key)
}

// finish joins each status's parts into its file, writes the manifest and deletes the parts.
func (w *resultFiles) finish(ctx context.Context, arn string, counts *jsonv.Object) (string, error) {
	manifestKey := w.dir + "manifest.json"
	if _, err := w.size(ctx, manifestKey); err == nil && !w.partsLeft(ctx, counts) {
		// Written by an earlier run of this task, which deleted the parts after it. (A
		// redriven Map Run writes parts anew, and its manifest again.)
		return manifestKey, nil
	}
	if err := w.completeEarlier(ctx, arn); err != nil {
		return "", err
	}
	parts := map[string][]string{}
	for _, status := range resultStatuses {
		n, _ := readNumber(counts, status)
		for i := range n {
			parts[status] = append(parts[status], w.partKey(status, i))
		}
	}
	if err := w.writeManifest(ctx, arn, parts); err != nil {
		return "", err
	}
	w.deleteParts(ctx, counts)
	return manifestKey, nil
}

// writeManifest joins each status's parts (keys in order) into its file and writes the
// manifest, which lists the files of the generations before too.
func (w *resultFiles) writeManifest(ctx context.Context, arn string, parts map[string][]string) error {
	earlier, err := w.previousFiles(ctx)
	if err != nil {
		return err
	}
	files := jsonv.NewObject(3)
	for _, status := range resultStatuses {
		list := append([]jsonv.Value{}, earlier[status]...)
		if keys := parts[status]; len(keys) > 0 {
			written, err := w.joinFiles(ctx, status, keys)
			if err != nil {
				return err
			}
			list = append(list, written...)
		}
		files.Set(status, list)
	}
	manifest := []byte(jsonv.String(jsonv.ObjectOf(
		jsonv.Member{Key: "DestinationBucket", Value: w.bucket},
		jsonv.Member{Key: "MapRunArn", Value: arn},
		jsonv.Member{Key: "ResultFiles", Value: files},
	)))
	return w.put(ctx, w.dir+"manifest.json", bytes.NewReader(manifest), int64(len(manifest)))
}

// maxResultFile is the size of a result file past which AWS goes on in the next file of the
// same status (SUCCEEDED_0.json, SUCCEEDED_1.json, …): 5 GB, S3's largest single PUT.
var maxResultFile int64 = 5 << 30

// joinFiles joins a status's parts (keys in order) into its files, STATUS_0.json and the
// next ones when the records outgrow maxResultFile (a file holds whole parts, at least one),
// and returns their manifest entries.
func (w *resultFiles) joinFiles(ctx context.Context, status string, parts []string) ([]jsonv.Value, error) {
	sizes := make([]int64, len(parts))
	for i, p := range parts {
		s, err := w.size(ctx, p)
		if err != nil {
			return nil, err
		}
		sizes[i] = s
	}
	var files []jsonv.Value
	for start := 0; start < len(parts); {
		end, sum := start+1, sizes[start]
		for end < len(parts) && w.fileSize(sum+sizes[end], end+1-start) <= maxResultFile {
			sum += sizes[end]
			end++
		}
		key := w.dir + status + "_" + strconv.Itoa(len(files)) + ".json"
		size, err := w.join(ctx, key, parts[start:end], sizes[start:end])
		if err != nil {
			return nil, err
		}
		files = append(files, jsonv.ObjectOf(
			jsonv.Member{Key: "Key", Value: key},
			jsonv.Member{Key: "Size", Value: jsonv.Int(size)},
		))
		start = end
	}
	return files, nil
}

// fileSize is the size of a file of n parts of sum bytes: a JSON file adds its brackets and
// the commas between parts.
func (w *resultFiles) fileSize(sum int64, n int) int64 {
	if w.jsonl {
		return sum
	}
	return sum + 2 + int64(n-1)
}

// join writes the file key from the parts named, of the sizes given, streamed one after the
// other, and returns its size.
func (w *resultFiles) join(ctx context.Context, key string, parts []string, sizes []int64) (int64, error) {
	sum := int64(0)
	for _, s := range sizes {
		sum += s
	}
	total := w.fileSize(sum, len(parts))
	pr, pw := io.Pipe()
	go func() {
		pw.CloseWithError(w.copyParts(ctx, pw, parts))
	}()
	err := w.put(ctx, key, pr, total)
	pr.CloseWithError(io.ErrClosedPipe)
	return total, err
}

func (w *resultFiles) copyParts(ctx context.Context, dst io.Writer, parts []string) error {
	objs := &s3Objects{r: w.r}
	if !w.jsonl {
		if _, err := io.WriteString(dst, "["); err != nil {
			return err
		}
	}
	for i, p := range parts {
		if i > 0 && !w.jsonl {
			if _, err := io.WriteString(dst, ","); err != nil {
				return err
			}
		}
		body, err := objs.Get(ctx, w.bucket, p, 0)
		if err != nil {
			return err
		}
		_, err = io.Copy(dst, body)
		body.Close()
		if err != nil {
			return err
		}
	}
	if !w.jsonl {
		_, err := io.WriteString(dst, "]")
		return err
	}
	return nil
}

// partsLeft reports whether the first part of a status is still there.
func (w *resultFiles) partsLeft(ctx context.Context, counts *jsonv.Object) bool {
	for _, status := range resultStatuses {
		if n, _ := readNumber(counts, status); n > 0 {
			if _, err := w.size(ctx, w.partKey(status, 0)); err == nil {
				return true
			}
		}
	}
	return false
}

// deleteParts deletes the parts; one already gone is no matter.
func (w *resultFiles) deleteParts(ctx context.Context, counts *jsonv.Object) {
	for _, status := range resultStatuses {
		n, _ := readNumber(counts, status)
		for i := range n {
			_, _ = w.r.s3Call(ctx, http.MethodDelete, objectPath(w.bucket, w.partKey(status, i)), url.Values{}, nil, nil)
		}
	}
}
