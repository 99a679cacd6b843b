package interp

import (
	"time"

	"github.com/stepline/stepline/internal/asl/sferr"
	"github.com/stepline/stepline/internal/history"
	"github.com/stepline/stepline/internal/jsonv"
)

// A distributed Map's data plane: its ItemReader reads the items from S3 and its ResultWriter
// writes the children's results there. Both are I/O, which the interpreter does not do: they
// are tasks (ScheduleTask effects) of resources of Stepline's own, carried out by the runner
// like any task (durably, at least once, by whichever node claims them), whose results come
// back as TaskSucceeded or TaskFailed for the Map's thread and are recorded in no history.
//
// The reader is asked for a chunk of items at a time, from a cursor the execution keeps: it
// is asked again only once the items it gave have all started, so that a Map over millions
// of rows never holds more than a chunk of them, and the snapshot holds a cursor rather than
// the items. Items are selected (ItemSelector) and batched (ItemBatcher) as they arrive; a
// child's input is dropped when the child ends.
//
// A ResultWriter with a bucket receives the records of the children that ended (AWS's shape,
// with the Transformation applied) in parts, a part whenever enough gathered, and writes
// manifest.json and the result files once every child ended; the Map's output is then the
// Map Run's ARN and where the manifest is.

// ReadItemsResource and WriteResultsResource are the resources of the reader's and the
// writer's tasks.
const (
	ReadItemsResource    = "stepline:itemReader"
	WriteResultsResource = "stepline:resultWriter"
)

// ReadChunkItems bounds the items one read returns, ReadChunkBatches the batches; the reader
// bounds their bytes too.
const (
	ReadChunkItems   = 2500
	ReadChunkBatches = 100
)

// writePartBytes is how much the records waiting to be written may grow within a step before
// a part of them is written (a step writes what it gathered at its end anyway): the bound of
// what a Map with a ResultWriter keeps of its children's results.
const writePartBytes = 2 << 20

// maxBatchBytes is AWS's bound on a batch's input, the default of MaxInputBytesPerBatch.
const maxBatchBytes = 256 * 1024

// ioKind tells what a fan-out's task in flight does.
type ioKind uint8

const (
	ioNone ioKind = iota
	ioRead
	ioWritePart
	ioWriteFinal
)

// itemSource is the state of a Map's ItemReader.
type itemSource struct {
	spec   jsonv.Value // {"Resource", "Parameters", "ReaderConfig"}, evaluated
	cursor jsonv.Value // where the next read starts; nil at the beginning
	done   bool        // the reader gave its last item
	raw    int64       // items read so far: the index of the next one ($$.Map.Item.Index)
	// count is the Map's items made so far (batches, when batched); a redriven Map Run's
	// items are known in number before they are read again.
	count int

	batched    bool
	batchItems int64 // MaxItemsPerBatch; 0 none
	batchBytes int64 // MaxInputBytesPerBatch
	batchInput jsonv.Value
	batch      []jsonv.Value // items of the batch being filled
	batchSize  int64
}

// resultSink is the state of a Map's ResultWriter.
type resultSink struct {
	params         jsonv.Value // {"Bucket", "Prefix"}; nil when the writer only shapes the output
	transformation string      // NONE, COMPACT, FLATTEN
	outputType     string      // JSON, JSONL
	// records are the records not yet written, by status file (SUCCEEDED, FAILED).
	records map[string][]jsonv.Value
	bytes   int
	parts   map[string]int64 // parts written (or being written) by status file
	details jsonv.Value      // {"Bucket", "Key"} of the manifest, once written
	// writing holds the ids of the part tasks in flight: parts are written while items are
	// read, and the manifest waits for them.
	writing map[string]bool
}

func (w *resultSink) sink() bool { return w != nil && w.params != nil }

// execMapReader runs a distributed Map whose items an ItemReader reads: the Map and its Map
// Run start before any item is read (AWS's MapStateStarted has length 0), then the first
// chunk is asked for.
func (r *run) execMapReader(th *thread) {
	st := th.state
	m := st.Map
	sc := r.scope(th, th.effective)
	var params jsonv.Value = jsonv.NewObject(0)
	if m.ItemReader.Parameters != nil {
		v, err := r.eval(th, m.ItemReader.Parameters, sc)
		if err != nil {
			r.fail(th, err)
			return
		}
		params = v
	}
	maxConc, err := r.number(th, m.MaxConcurrency, 0)
	if err != nil {
		r.fail(th, err)
		return
	}
	src := &itemSource{}
	if b := m.ItemBatcher; b != nil {
		src.batched = true
		n, err := r.number(th, b.MaxItemsPerBatch, 0)
		if err != nil {
			r.fail(th, err)
			return
		}
		src.batchItems = int64(n)
		if n, err = r.number(th, b.MaxInputBytesPerBatch, maxBatchBytes); err != nil {
			r.fail(th, err)
			return
		}
		src.batchBytes = min(int64(n), maxBatchBytes)
		if src.batchBytes <= 0 {
			src.batchBytes = maxBatchBytes
		}
		if b.BatchInput != nil {
			if src.batchInput, err = r.eval(th, b.BatchInput, r.scope(th, th.effective)); err != nil {
				r.fail(th, err)
				return
			}
		}
	}
	r.emitOn(th, "MapStateStarted", history.Details{Length: ptr(int64(0))})
	tolCount, err := r.number(th, m.ToleratedFailureCount, -1)
	if err != nil {
		r.fail(th, err)
		return
	}
	tolPct, err := r.number(th, m.ToleratedFailurePercentage, -1)
	if err != nil {
		r.fail(th, err)
		return
	}
	fan := &fanOut{children: map[int64]*thread{}, maxConc: int(maxConc), tolCount: tolCount, tolPct: tolPct, reader: src}
	th.fan = fan
	th.waiting = waitChildren
	fan.writer = r.newSink(th)
	if mr := r.redrivenReaderRun(th); mr != nil {
		// The redrive of the Map Run reads the items again, in the same batches, and runs
		// again those whose child did not succeed; the record keeps the others.
		delete(r.x.redone.at, th)
		if mr.redriveCount >= MaxMapRunRedrives {
			th.fan, th.waiting = nil, notWaiting
			r.stateFailedAfter(th, mapRunRedriveLimit(mr), true)
			return
		}
		fan.run = mr
		fan.items = make([]jsonv.Value, len(mr.iters))
		fan.results = make([]jsonv.Value, len(mr.iters))
		r.redriveMapRun(th, mr)
		fan.mapRunArn = mr.arn
		count := mr.redriveCount
		r.emitOn(th, "MapRunRedriven", history.Details{MapRunArn: mr.arn, RedriveCount: &count})
	} else {
		fan.run = r.newMapRun(th, 0)
		fan.mapRunArn = fan.run.arn
		r.emitOn(th, "MapRunStarted", history.Details{MapRunArn: fan.mapRunArn})
	}
	fan.lastEvent = th.prev
	// The reader's settings are the reader's to check: AWS fails the Map Run with them.
	cfg := jsonv.NewObject(8)
	if c, ok := m.ItemReader.ReaderConfig.(*jsonv.Object); ok {
		for _, mem := range c.Members() {
			if mem.Key != "MaxItems" && mem.Key != "MaxItemsPath" {
				cfg.Set(mem.Key, mem.Value)
			}
		}
	}
	if m.ItemReader.MaxItems != nil {
		v, err := m.ItemReader.MaxItems.Eval(r.scope(th, th.effective))
		n, isNumber := v.(jsonv.Number)
		i, isInt := n.Int64()
		if err != nil || !isNumber || !isInt || i < 0 {
			r.ioFailed(th, failure{name: ptr(sferr.ItemReaderFailed), cause: ptr("field MaxItems must be positive")})
			return
		}
		cfg.Set("MaxItems", jsonv.Int(min(i, 100000000)))
	}
	src.spec = jsonv.ObjectOf(
		jsonv.Member{Key: "Resource", Value: m.ItemReader.Resource},
		jsonv.Member{Key: "Parameters", Value: params},
		jsonv.Member{Key: "ReaderConfig", Value: cfg},
	)
	r.pumpIO(th)
}

// redrivenReaderRun is redrivenMapRun for a Map whose items a reader reads: how many there
// were is known only from the record.
func (r *run) redrivenReaderRun(th *thread) *mapRun {
	p := r.redrivePointOf(th)
	if p == nil || p.mapRunArn == "" {
		return nil
	}
	for _, mr := range r.x.mapRuns {
		if mr.arn == p.mapRunArn && mr.status != MapRunRunning && mr.status != MapRunSucceeded {
			return mr
		}
	}
	return nil
}

// newSink is the state of th's Map's ResultWriter, if it has one.
func (r *run) newSink(th *thread) *resultSink {
	w := th.state.Map.ResultWriter
	if w == nil {
		return nil
	}
	s := &resultSink{transformation: "COMPACT", outputType: "JSON"}
	if w.Resource != "" {
		s.transformation = "NONE"
		var params jsonv.Value = jsonv.NewObject(0)
		if w.Parameters != nil {
			v, err := r.eval(th, w.Parameters, r.scope(th, th.effective))
			if err == nil {
				params = v
			}
		}
		s.params = params
		s.records = map[string][]jsonv.Value{}
		s.parts = map[string]int64{}
		s.writing = map[string]bool{}
	}
	if c, ok := w.WriterConfig.(*jsonv.Object); ok {
		if v, ok := c.Get("Transformation"); ok {
			s.transformation, _ = v.(string)
		}
		if v, ok := c.Get("OutputType"); ok {
			s.outputType, _ = v.(string)
		}
	}
	return s
}

// pumpIO asks for the next chunk of items, if no read is in flight, once the items read have
// all started and MaxConcurrency lets more start.
func (r *run) pumpIO(th *thread) {
	fan := th.fan
	if fan == nil || fan.ioTask != "" || fan.failing != nil {
		return
	}
	src := fan.reader
	if src != nil && !src.done && fan.nextIndex >= fan.available() && (fan.maxConc == 0 || fan.running < fan.maxConc) {
		r.scheduleIO(th, ioRead, ReadItemsResource, jsonv.ObjectOf(
			jsonv.Member{Key: "Reader", Value: src.spec},
			jsonv.Member{Key: "Cursor", Value: src.cursor},
			jsonv.Member{Key: "Limit", Value: jsonv.Int(src.limit())},
		))
	}
}

// scheduleIO starts a task of the fan-out's own.
func (r *run) scheduleIO(th *thread, kind ioKind, resource string, params jsonv.Value) {
	id := "task-" + r.seq()
	th.fan.ioTask, th.fan.ioKind = id, kind
	r.x.tasks[id] = th
	r.effects = append(r.effects, ScheduleTask{TaskID: id, StateName: th.state.Name, Resource: resource, Parameters: params})
}

// ioThread returns the Map thread whose own task id is, if it is one.
func (r *run) ioThread(id string) *thread {
	th := r.x.tasks[id]
	if th == nil || th.done || th.fan == nil || th.fan.ioTask != id && !th.fan.writer.writingPart(id) {
		return nil
	}
	return th
}

func (w *resultSink) writingPart(id string) bool { return w.sink() && w.writing[id] }

// ioSucceeded takes the result of a fan-out's task.
func (r *run) ioSucceeded(th *thread, id, output string) {
	fan := th.fan
	if fan.writer.writingPart(id) {
		delete(fan.writer.writing, id)
		delete(r.x.tasks, id)
		r.fanMaybeDone(th)
		return
	}
	kind := fan.ioKind
	delete(r.x.tasks, fan.ioTask)
	fan.ioTask, fan.ioKind = "", ioNone
	v, err := jsonv.ParseString(output)
	o, _ := v.(*jsonv.Object)
	if err != nil || o == nil {
		name := sferr.ItemReaderFailed
		if kind != ioRead {
			name = sferr.ResultWriterFailed
		}
		r.ioFailed(th, failure{name: &name, cause: ptr("the runner's answer is not a JSON object")})
		return
	}
	switch kind {
	case ioRead:
		r.itemsRead(th, o)
	case ioWritePart:
	case ioWriteFinal:
		fan.writer.details = o
	}
	if th.fan == fan {
		r.pumpIO(th)
		r.fanMaybeDone(th)
	}
}

// itemsRead takes a chunk of items: each is selected (ItemSelector) and batched as it
// arrives, and the Map's items, results and record grow by what that made.
func (r *run) itemsRead(th *thread, o *jsonv.Object) {
	fan := th.fan
	src := fan.reader
	items, _ := o.Get("Items")
	list, _ := items.([]jsonv.Value)
	if c, ok := o.Get("Cursor"); ok {
		src.cursor = c
	}
	if d, ok := o.Get("Done"); ok {
		src.done = d == true
	}
	m := th.state.Map
	for _, it := range list {
		input := it
		if m.ItemSelector != nil {
			sc := r.scope(th, th.effective)
			sc.mapItem = &mapItem{index: src.raw, value: it}
			v, err := r.eval(th, m.ItemSelector, sc)
			if err != nil {
				r.mapRunFailed(th)
				r.abortChildren(th)
				r.fail(th, err)
				return
			}
			input = v
		}
		src.raw++
		if !src.batched {
			fan.addItem(input)
			continue
		}
		size := int64(len(jsonv.String(input))) + 1
		if len(src.batch) > 0 && (src.batchItems > 0 && int64(len(src.batch)) >= src.batchItems || src.batchSize+size > src.batchBytes) {
			fan.addItem(src.flushBatch())
		}
		src.batch = append(src.batch, input)
		src.batchSize += size
	}
	if src.done && len(src.batch) > 0 {
		fan.addItem(src.flushBatch())
	}
	if src.done && fan.failed > 0 && !r.tolerated(fan) {
		// The total is known now: the failures so far are more than the percentage allows.
		r.mapFailed(th, exceededThreshold())
		return
	}
	r.startIterations(th, th.prev)
}

// mapFailed fails th's distributed Map with f: its Map Run fails, its children are aborted,
// and a ResultWriter first writes what the Map Run did (failWithResults).
func (r *run) mapFailed(th *thread, f failure) {
	if th.fan.writer.sink() {
		r.failWithResults(th, f)
		return
	}
	r.mapRunFailed(th)
	r.abortChildren(th)
	r.stateFailedAfter(th, f, true)
	r.advance(th)
}

// failWithResults fails a Map whose ResultWriter writes to S3 as AWS does: the Map Run fails
// and its running children are aborted at once, but the Map fails with f only once the result
// files and manifest.json are written: the children that ended in SUCCEEDED_n and FAILED_n
// (aborted ones too, with their status), the items read that never started in PENDING_n.
// Items a reader had not read yet are in no file: AWS documents none for them.
func (r *run) failWithResults(th *thread, f failure) {
	fan := th.fan
	fan.failing = &f
	if fan.ioTask != "" && fan.ioKind == ioRead {
		delete(r.x.tasks, fan.ioTask)
		r.effects = append(r.effects, CancelTask{TaskID: fan.ioTask})
		fan.ioTask, fan.ioKind = "", ioNone
	}
	r.cancelTimer(th.timerID) // a Map's next children (moreChildrenLater)
	th.timerID = ""
	for _, c := range fan.children {
		r.abortThread(c)
		r.childAborted(fan.run, int(c.index))
		r.childRecord(th, int(c.index), nil, &failure{})
	}
	fan.children = map[int64]*thread{}
	r.abortGroups(th, fan)
	fan.running = 0
	r.mapRunFailed(th)
	for i := fan.nextIndex; i < fan.available(); i++ {
		if fan.results[i] != nil || fan.run != nil && fan.run.iters[i].state == iterSucceeded {
			continue
		}
		r.pendingRecord(th, i)
	}
	fan.nextIndex = fan.available()
	r.fanMaybeDone(th)
}

// pendingRecord keeps the record of item i, which never started: its input and status, as
// AWS writes them in PENDING_n.
func (r *run) pendingRecord(th *thread, i int) {
	fan := th.fan
	w := fan.writer
	input := fan.items[i]
	if m := th.state.Map; m.ItemSelector != nil && fan.reader == nil {
		sc := r.scope(th, th.effective)
		sc.mapItem = &mapItem{index: int64(i), value: input}
		if v, err := r.eval(th, m.ItemSelector, sc); err == nil {
			input = v
		}
	}
	fan.items[i] = nil
	rec := jsonv.ObjectOf(
		jsonv.Member{Key: "Input", Value: jsonv.String(input)},
		jsonv.Member{Key: "InputDetails", Value: jsonv.ObjectOf(jsonv.Member{Key: "Included", Value: true})},
		jsonv.Member{Key: "Status", Value: "PENDING"},
	)
	if w.bytes == 0 {
		r.sinks = append(r.sinks, th)
	}
	w.records["PENDING"] = append(w.records["PENDING"], rec)
	w.bytes += len(jsonv.String(rec))
	if w.bytes >= writePartBytes {
		r.writePart(th)
	}
}

// limit is how many items a read may return: ReadChunkItems, or for batches of many items
// enough for ReadChunkBatches of them (the reader bounds the chunk's bytes as well).
func (src *itemSource) limit() int64 {
	if src.batched && src.batchItems > 0 {
		return min(max(ReadChunkItems, src.batchItems*ReadChunkBatches), 1<<20)
	}
	return ReadChunkItems
}

// flushBatch returns the batch filled so far as a child's input and starts the next.
func (src *itemSource) flushBatch() jsonv.Value {
	b := jsonv.NewObject(2)
	if src.batchInput != nil {
		b.Set("BatchInput", src.batchInput)
	}
	b.Set("Items", src.batch)
	src.batch, src.batchSize = nil, 0
	if src.batchInput != nil {
		src.batchSize = int64(len(jsonv.String(src.batchInput)))
	}
	return b
}

// available is how many of a fan-out's items are there to start: with a reader, those read.
func (f *fanOut) available() int {
	if f.reader != nil {
		return f.reader.count
	}
	return len(f.items)
}

// addItem adds the next item that a reader gave to a Map's items.
func (f *fanOut) addItem(v jsonv.Value) {
	i := f.reader.count
	f.reader.count++
	if i < len(f.items) { // a redriven Map Run's
		f.items[i] = v
		return
	}
	f.items = append(f.items, v)
	f.results = append(f.results, nil)
	if f.run != nil {
		f.run.iters = append(f.run.iters, mapIter{})
		f.run.results = f.results
	}
}

// ioFailed fails the Map with the failure of its reader or writer (States.ItemReaderFailed,
// States.ResultWriterFailed): its Map Run fails with that error and cause, its children are
// aborted.
func (r *run) ioFailed(th *thread, f failure) {
	fan := th.fan
	if fan.ioTask != "" {
		delete(r.x.tasks, fan.ioTask)
		fan.ioTask, fan.ioKind = "", ioNone
	}
	r.cancelParts(fan)
	if fan.failing == nil {
		r.endMapRun(fan.run, MapRunFailed)
		r.emitOn(th, "MapRunFailed", history.Details{Error: f.name, Cause: f.cause})
	}
	r.abortChildren(th)
	r.stateFailedAfter(th, f, true)
	r.advance(th)
}

// fanMaybeDone completes th's fan-out if everything it waits on ended: with a reader, the
// reader too; with a writer to S3, the writing of the last records and of the manifest,
// which it starts when the children are done.
func (r *run) fanMaybeDone(th *thread) {
	fan := th.fan
	if fan != nil && fan.failing != nil {
		r.failingMaybeDone(th)
		return
	}
	if fan == nil || fan.completed < len(fan.results) || fan.reader != nil && !fan.reader.done {
		return
	}
	if w := fan.writer; w.sink() && w.details == nil {
		if fan.ioTask != "" || len(w.writing) > 0 {
			return
		}
		if w.bytes > 0 {
			r.writePart(th)
			return
		}
		r.scheduleIO(th, ioWriteFinal, WriteResultsResource, r.writeParams(th, jsonv.ObjectOf(
			jsonv.Member{Key: "Manifest", Value: true},
			jsonv.Member{Key: "Parts", Value: partCounts(w.parts)},
		)))
		return
	}
	if fan.ioTask != "" {
		return
	}
	r.fanDone(th)
}

// failingMaybeDone writes a failing Map's last records and its manifest, then fails the Map.
func (r *run) failingMaybeDone(th *thread) {
	fan := th.fan
	w := fan.writer
	if fan.ioTask != "" || len(w.writing) > 0 {
		return
	}
	if w.bytes > 0 {
		r.writePart(th)
		return
	}
	if w.details == nil {
		r.scheduleIO(th, ioWriteFinal, WriteResultsResource, r.writeParams(th, jsonv.ObjectOf(
			jsonv.Member{Key: "Manifest", Value: true},
			jsonv.Member{Key: "Parts", Value: partCounts(w.parts)},
		)))
		return
	}
	f := *fan.failing
	r.abortChildren(th)
	r.stateFailedAfter(th, f, true)
	r.advance(th)
}

func partCounts(parts map[string]int64) *jsonv.Object {
	o := jsonv.NewObject(3)
	for _, s := range []string{"FAILED", "PENDING", "SUCCEEDED"} {
		o.Set(s, jsonv.Int(parts[s]))
	}
	return o
}

// writeParams are the parameters of a writer's task: where, and how, with what more.
func (r *run) writeParams(th *thread, more *jsonv.Object) jsonv.Value {
	w := th.fan.writer
	o := jsonv.ObjectOf(
		jsonv.Member{Key: "Parameters", Value: w.params},
		jsonv.Member{Key: "MapRunArn", Value: th.fan.mapRunArn},
		jsonv.Member{Key: "OutputType", Value: w.outputType},
	)
	if mr := th.fan.run; mr != nil && mr.redriveCount > 0 {
		// A redrive's files are a generation of their own beside the earlier ones.
		o.Set("RedriveCount", jsonv.Int(mr.redriveCount))
	}
	for _, m := range more.Members() {
		o.Set(m.Key, m.Value)
	}
	return o
}

// cancelParts withdraws the part tasks in flight of a fan-out that ends without its manifest.
func (r *run) cancelParts(fan *fanOut) {
	if !fan.writer.sink() {
		return
	}
	for id := range fan.writer.writing {
		delete(r.x.tasks, id)
		r.effects = append(r.effects, CancelTask{TaskID: id})
	}
	fan.writer.writing = map[string]bool{}
}

// flushSinks writes, at the end of a step, the records the step gathered.
func (r *run) flushSinks() {
	for _, th := range r.sinks {
		if !th.done && th.fan != nil && th.fan.writer.sink() && th.fan.writer.bytes > 0 {
			r.writePart(th)
		}
	}
	r.sinks = nil
}

// writePart hands the records gathered so far to a task that writes them as the next part of
// each status file.
func (r *run) writePart(th *thread) {
	w := th.fan.writer
	parts := jsonv.NewObject(3)
	for _, s := range []string{"FAILED", "PENDING", "SUCCEEDED"} {
		if recs := w.records[s]; len(recs) > 0 {
			parts.Set(s, jsonv.ObjectOf(
				jsonv.Member{Key: "Index", Value: jsonv.Int(w.parts[s])},
				jsonv.Member{Key: "Records", Value: recs},
			))
			w.parts[s]++
		}
	}
	w.records = map[string][]jsonv.Value{}
	w.bytes = 0
	id := "task-" + r.seq()
	w.writing[id] = true
	r.x.tasks[id] = th
	r.effects = append(r.effects, ScheduleTask{TaskID: id, StateName: th.state.Name, Resource: WriteResultsResource,
		Parameters: r.writeParams(th, jsonv.ObjectOf(jsonv.Member{Key: "Write", Value: parts}))})
}

// childRecord keeps what a ResultWriter writes of item i's child execution of th's Map, which
// ended with out (succeeded) or f, and lets go of the item's input and output. The records
// are written at the end of the step, or sooner when they grow past writePartBytes.
func (r *run) childRecord(th *thread, i int, out jsonv.Value, f *failure) {
	fan := th.fan
	w := fan.writer
	if !w.sink() {
		return
	}
	if w.bytes == 0 {
		r.sinks = append(r.sinks, th)
	}
	defer func() {
		if w.bytes >= writePartBytes {
			r.writePart(th)
		}
	}()
	input := fan.items[i]
	fan.items[i], fan.results[i] = nil, nil
	status := "SUCCEEDED"
	if f != nil {
		status = "FAILED"
	}
	if f == nil && w.transformation != "NONE" {
		vals := []jsonv.Value{out}
		if arr, ok := out.([]jsonv.Value); ok && w.transformation == "FLATTEN" {
			vals = arr
		}
		for _, v := range vals {
			w.records[status] = append(w.records[status], v)
			w.bytes += len(jsonv.String(v))
		}
		return
	}
	mr := fan.run
	it := &mr.iters[i]
	arn, name := r.x.childArn(mr, i)
	rec := jsonv.NewObject(16)
	rec.Set("ExecutionArn", arn)
	rec.Set("Input", jsonv.String(input))
	rec.Set("InputDetails", jsonv.ObjectOf(jsonv.Member{Key: "Included", Value: true}))
	rec.Set("Name", name)
	if f == nil {
		rec.Set("Output", jsonv.String(out))
		rec.Set("OutputDetails", jsonv.ObjectOf(jsonv.Member{Key: "Included", Value: true}))
	} else {
		if f.name != nil {
			rec.Set("Error", *f.name)
		}
		if f.cause != nil {
			rec.Set("Cause", *f.cause)
		}
	}
	if mr.executionType != "EXPRESS" {
		rec.Set("RedriveCount", jsonv.Int(it.redrives))
		if f == nil {
			rec.Set("RedriveStatus", "NOT_REDRIVABLE")
			rec.Set("RedriveStatusReason", "Execution is SUCCEEDED and cannot be redriven")
		} else {
			rec.Set("RedriveStatus", "REDRIVABLE")
		}
	}
	rec.Set("StartDate", isoDate(it.start))
	rec.Set("StateMachineArn", "arn:aws:states:"+r.x.ID.Region+":"+r.x.ID.Account+":stateMachine:"+r.x.ID.StateMachineName+"/"+mr.label)
	switch it.state {
	case iterTimedOut:
		status = "TIMED_OUT"
	case iterAborted:
		status = "ABORTED"
	}
	if f == nil {
		rec.Set("Status", "SUCCEEDED")
	} else {
		rec.Set("Status", status)
		status = "FAILED"
	}
	rec.Set("StopDate", isoDate(r.now))
	w.records[status] = append(w.records[status], rec)
	w.bytes += len(jsonv.String(rec))
}

func isoDate(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

// writerOutput is a Map's output when it has a ResultWriter: the Map Run's ARN and where the
// manifest is, or (a writer without a bucket) the results shaped by its Transformation.
func (r *run) writerOutput(fan *fanOut, results []jsonv.Value) jsonv.Value {
	w := fan.writer
	if w.sink() {
		return jsonv.ObjectOf(
			jsonv.Member{Key: "MapRunArn", Value: fan.mapRunArn},
			jsonv.Member{Key: "ResultWriterDetails", Value: w.details},
		)
	}
	if w.transformation != "FLATTEN" {
		return results
	}
	out := make([]jsonv.Value, 0, len(results))
	for _, v := range results {
		if arr, ok := v.([]jsonv.Value); ok {
			out = append(out, arr...)
		} else {
			out = append(out, v)
		}
	}
	return out
}

// snapIO is what a snapshot keeps of a fan-out's reader and writer.
type snapIO struct {
	Task string `json:"task,omitempty"`
	Kind ioKind `json:"kind,omitempty"`
	// Failing is the failure of a Map that writes its results before it fails.
	Failing *struct {
		Error *string `json:"error,omitempty"`
		Cause *string `json:"cause,omitempty"`
	} `json:"failing,omitempty"`
	Reader *struct {
		Spec       snapValue   `json:"spec"`
		Cursor     snapValue   `json:"cursor"`
		Done       bool        `json:"done,omitempty"`
		Raw        int64       `json:"raw,omitempty"`
		Count      int         `json:"count,omitempty"`
		Batched    bool        `json:"batched,omitempty"`
		BatchItems int64       `json:"batchItems,omitempty"`
		BatchBytes int64       `json:"batchBytes,omitempty"`
		BatchInput snapValue   `json:"batchInput"`
		Batch      []snapValue `json:"batch,omitempty"`
		BatchSize  int64       `json:"batchSize,omitempty"`
	} `json:"reader,omitempty"`
	Writer *struct {
		Params         snapValue              `json:"params"`
		Transformation string                 `json:"transformation"`
		OutputType     string                 `json:"outputType"`
		Records        map[string][]snapValue `json:"records,omitempty"`
		Bytes          int                    `json:"bytes,omitempty"`
		Parts          map[string]int64       `json:"parts,omitempty"`
		Details        snapValue              `json:"details"`
		Writing        []string               `json:"writing,omitempty"`
	} `json:"writer,omitempty"`
}

func (x *Execution) snapshotIO(f *fanOut) *snapIO {
	if f.reader == nil && f.writer == nil {
		return nil
	}
	s := &snapIO{Task: f.ioTask, Kind: f.ioKind}
	if f.failing != nil {
		s.Failing = &struct {
			Error *string `json:"error,omitempty"`
			Cause *string `json:"cause,omitempty"`
		}{Error: f.failing.name, Cause: f.failing.cause}
	}
	if src := f.reader; src != nil {
		s.Reader = &struct {
			Spec       snapValue   `json:"spec"`
			Cursor     snapValue   `json:"cursor"`
			Done       bool        `json:"done,omitempty"`
			Raw        int64       `json:"raw,omitempty"`
			Count      int         `json:"count,omitempty"`
			Batched    bool        `json:"batched,omitempty"`
			BatchItems int64       `json:"batchItems,omitempty"`
			BatchBytes int64       `json:"batchBytes,omitempty"`
			BatchInput snapValue   `json:"batchInput"`
			Batch      []snapValue `json:"batch,omitempty"`
			BatchSize  int64       `json:"batchSize,omitempty"`
		}{Spec: x.snapOpt(src.spec), Cursor: x.snapOpt(src.cursor), Done: src.done, Raw: src.raw, Count: src.count, Batched: src.batched,
			BatchItems: src.batchItems, BatchBytes: src.batchBytes, BatchInput: x.snapOpt(src.batchInput), BatchSize: src.batchSize}
		for _, v := range src.batch {
			s.Reader.Batch = append(s.Reader.Batch, x.snapValue(v))
		}
	}
	if w := f.writer; w != nil {
		s.Writer = &struct {
			Params         snapValue              `json:"params"`
			Transformation string                 `json:"transformation"`
			OutputType     string                 `json:"outputType"`
			Records        map[string][]snapValue `json:"records,omitempty"`
			Bytes          int                    `json:"bytes,omitempty"`
			Parts          map[string]int64       `json:"parts,omitempty"`
			Details        snapValue              `json:"details"`
			Writing        []string               `json:"writing,omitempty"`
		}{Params: x.snapOpt(w.params), Transformation: w.transformation, OutputType: w.outputType, Bytes: w.bytes,
			Parts: w.parts, Details: x.snapOpt(w.details)}
		for id := range w.writing {
			s.Writer.Writing = append(s.Writer.Writing, id)
		}
		if len(w.records) > 0 {
			s.Writer.Records = map[string][]snapValue{}
			for st, recs := range w.records {
				for _, v := range recs {
					s.Writer.Records[st] = append(s.Writer.Records[st], x.snapValue(v))
				}
			}
		}
	}
	return s
}

// snapOpt is snapValue for a value that may be absent (Go nil), which stays absent.
func (x *Execution) snapOpt(v jsonv.Value) snapValue {
	if v == nil {
		return snapValue{}
	}
	return x.snapValue(v)
}

func (x *Execution) restoreIO(f *fanOut, s *snapIO) error {
	if s == nil {
		return nil
	}
	f.ioTask, f.ioKind = s.Task, s.Kind
	if s.Failing != nil {
		f.failing = &failure{name: s.Failing.Error, cause: s.Failing.Cause}
	}
	var err error
	if sr := s.Reader; sr != nil {
		src := &itemSource{done: sr.Done, raw: sr.Raw, count: sr.Count, batched: sr.Batched, batchItems: sr.BatchItems,
			batchBytes: sr.BatchBytes, batchSize: sr.BatchSize}
		if src.spec, err = x.restoreValue(sr.Spec); err != nil {
			return err
		}
		if src.cursor, err = x.restoreValue(sr.Cursor); err != nil {
			return err
		}
		if src.batchInput, err = x.restoreValue(sr.BatchInput); err != nil {
			return err
		}
		for _, v := range sr.Batch {
			it, err := x.restoreValue(v)
			if err != nil {
				return err
			}
			src.batch = append(src.batch, it)
		}
		f.reader = src
	}
	if sw := s.Writer; sw != nil {
		w := &resultSink{transformation: sw.Transformation, outputType: sw.OutputType, bytes: sw.Bytes, parts: sw.Parts}
		if w.params, err = x.restoreValue(sw.Params); err != nil {
			return err
		}
		if w.details, err = x.restoreValue(sw.Details); err != nil {
			return err
		}
		if w.params != nil {
			w.records = map[string][]jsonv.Value{}
			if w.parts == nil {
				w.parts = map[string]int64{}
			}
			w.writing = map[string]bool{}
			for _, id := range sw.Writing {
				w.writing[id] = true
			}
		}
		for st, recs := range sw.Records {
			for _, v := range recs {
				it, err := x.restoreValue(v)
				if err != nil {
					return err
				}
				w.records[st] = append(w.records[st], it)
			}
		}
		f.writer = w
	}
	return nil
}
