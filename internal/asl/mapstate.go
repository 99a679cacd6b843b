package asl

import (
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/stepline/stepline/internal/asl/path"
	"github.com/stepline/stepline/internal/jsonv"
)

// mapState reads a Map state: its processor (ItemProcessor or the legacy Iterator), item
// selection, concurrency and failure tolerance, and the distributed-mode fields.
func (p *parser) mapState(st *State, o *jsonv.Object, loc string, lang QueryLanguage) *MapFields {
	f := &MapFields{}
	switch p.oneOf(o, loc, true, "ItemProcessor", "Iterator") {
	case "ItemProcessor":
		if proc, ok := p.obj(o, "ItemProcessor", loc); ok {
			ploc := loc + "/ItemProcessor"
			f.Processor = p.machine(proc, ploc, machineProcessor)
			f.Processor.Processor = p.processorConfig(proc, ploc)
		}
	case "Iterator":
		if it, ok := p.obj(o, "Iterator", loc); ok {
			f.Processor = p.machine(it, loc+"/Iterator", machineIterator)
			f.Processor.Processor = p.processorConfig(it, loc+"/Iterator")
		}
	}

	if lang == JSONPath {
		if pp, ok := p.refPath(o, "ItemsPath", loc); ok {
			f.Items = refPathExpr{pp}
		}
		switch p.oneOf(o, loc, false, "ItemSelector", "Parameters") {
		case "ItemSelector":
			v, _ := o.Get("ItemSelector")
			f.ItemSelector = p.template(v, loc+"/ItemSelector", lang)
		case "Parameters":
			v, _ := o.Get("Parameters")
			f.ItemSelector = p.template(v, loc+"/Parameters", lang)
		}
	} else {
		if e, ok := p.jsonataField(o, "Items", loc, lang, checkArray); ok {
			f.Items = e
		} else if v, ok := o.Get("Items"); ok {
			f.Items = p.template(v, loc+"/Items", lang)
		}
		if v, ok := o.Get("ItemSelector"); ok {
			f.ItemSelector = p.template(v, loc+"/ItemSelector", lang)
		}
	}

	f.MaxConcurrency = p.mapNumber(o, loc, lang, "MaxConcurrency", kindNonNegInt)
	f.ToleratedFailureCount = p.mapNumber(o, loc, lang, "ToleratedFailureCount", kindNonNegInt)
	f.ToleratedFailurePercentage = p.mapNumber(o, loc, lang, "ToleratedFailurePercentage", kindPercentage)

	if s, ok := p.str(o, "Label", loc); ok {
		f.Label = s
		if msg := labelProblem(s); msg != "" {
			p.add(CodeInvalidLabelName, loc+"/Label", "%s", msg)
		}
		// Labels name Map Runs, so they are unique in the whole state machine.
		if p.labels[s] {
			p.add(CodeDuplicateLabel, loc+"/Label", "Duplicate Label name: %s", s)
		}
		p.labels[s] = true
	}
	if r, ok := p.obj(o, "ItemReader", loc); ok {
		f.ItemReader = p.itemReader(r, loc+"/ItemReader", lang)
	}
	if b, ok := p.obj(o, "ItemBatcher", loc); ok {
		f.ItemBatcher = p.itemBatcher(b, loc+"/ItemBatcher", lang)
	}
	if w, ok := p.obj(o, "ResultWriter", loc); ok {
		f.ResultWriter = p.resultWriter(w, loc+"/ResultWriter", lang)
	}
	return f
}

// processorConfig reads an ItemProcessor's ProcessorConfig (INLINE when absent).
func (p *parser) processorConfig(proc *jsonv.Object, ploc string) *ProcessorConfig {
	pc := &ProcessorConfig{Mode: "INLINE"}
	c, ok := p.obj(proc, "ProcessorConfig", ploc)
	if !ok {
		return pc
	}
	cloc := ploc + "/ProcessorConfig"
	if mode, ok := p.str(c, "Mode", cloc); ok {
		if mode != "INLINE" && mode != "DISTRIBUTED" {
			p.schema(cloc+"/Mode", "The field 'Mode' should have one of these values: [INLINE, DISTRIBUTED]")
		} else {
			pc.Mode = mode
		}
	}
	if pc.Mode == "DISTRIBUTED" {
		p.only(c, cloc, "Mode", "ExecutionType")
		p.required(c, cloc, "ExecutionType")
		if et, ok := p.str(c, "ExecutionType", cloc); ok {
			if et != "STANDARD" && et != "EXPRESS" {
				p.schema(cloc+"/ExecutionType", "The field 'ExecutionType' should have one of these values: [STANDARD, EXPRESS]")
			} else {
				pc.ExecutionType = et
			}
		}
	} else {
		p.only(c, cloc, "Mode")
	}
	return pc
}

// mapNumber reads a Map's numeric field or its *Path form.
func (p *parser) mapNumber(o *jsonv.Object, loc string, lang QueryLanguage, field string, kind numberKind) Expr {
	names := []string{field}
	if lang == JSONPath {
		names = append(names, field+"Path")
	}
	switch p.oneOf(o, loc, false, names...) {
	case field:
		chk := checkNonNegInt
		if kind == kindPercentage {
			chk = checkPercentage
		}
		if e, ok := p.jsonataField(o, field, loc, lang, chk); ok {
			return e
		}
		if kind == kindPercentage {
			v, ok := p.typed(o, field, loc, "NUMBER")
			if !ok {
				return nil
			}
			if f := v.(jsonv.Number).Float64(); f < 0 || f > 100 {
				p.schema(loc+"/"+field, "Value must be between 0 and 100")
				return nil
			}
			return literalExpr{v}
		}
		if n, ok := p.integer(o, field, loc, 0, 1<<31-1); ok {
			return literalExpr{jsonv.Int(n)}
		}
	case field + "Path":
		if pp, ok := p.refPath(o, field+"Path", loc); ok {
			return numberPathExpr{pp, field + "Path", kind}
		}
	}
	return nil
}

// labelProblem says why a Map Label is invalid: at most 40 characters, none of them white
// space, brackets, wildcards, special or control characters.
func labelProblem(s string) string {
	if utf8.RuneCountInString(s) > 40 {
		return "Label cannot be longer than 40 characters"
	}
	for _, r := range s {
		if unicode.IsSpace(r) || unicode.IsControl(r) || strings.ContainsRune("<>{}[]?*\"#%\\^|~`$&,;:/", r) {
			return "Label contains invalid characters"
		}
	}
	return ""
}

// itemReader reads a distributed Map's ItemReader.
func (p *parser) itemReader(o *jsonv.Object, loc string, lang QueryLanguage) *ItemReader {
	r := &ItemReader{}
	args := "Parameters"
	if lang == JSONata {
		args = "Arguments"
	}
	p.required(o, loc, "Resource")
	p.only(o, loc, "Resource", args, "ReaderConfig")
	if s, ok := p.str(o, "Resource", loc); ok {
		r.Resource = s
		p.resource(s, loc+"/Resource", readerResource)
	}
	if v, ok := o.Get(args); ok {
		r.Parameters = p.template(v, loc+"/"+args, lang)
	}
	if c, ok := p.obj(o, "ReaderConfig", loc); ok {
		r.ReaderConfig = c
		cloc := loc + "/ReaderConfig"
		fields := []string{"InputType", "CSVHeaderLocation", "CSVHeaders", "CSVDelimiter", "MaxItems", "ManifestType", "Transformation"}
		if lang == JSONPath {
			fields = append(fields, "MaxItemsPath")
		}
		p.only(c, cloc, fields...)
		if s, ok := p.str(c, "InputType", cloc); ok && !slices.Contains([]string{"CSV", "JSON", "JSONL", "MANIFEST", "PARQUET"}, s) {
			p.schema(cloc+"/InputType", "The field 'InputType' should have one of these values: [CSV, JSON, JSONL, MANIFEST, PARQUET]")
		}
		if s, ok := p.str(c, "CSVHeaderLocation", cloc); ok && s != "FIRST_ROW" && s != "GIVEN" {
			p.schema(cloc+"/CSVHeaderLocation", "The field 'CSVHeaderLocation' should have one of these values: [FIRST_ROW, GIVEN]")
		}
		if lang == JSONPath {
			p.oneOf(c, cloc, false, "MaxItems", "MaxItemsPath")
			r.MaxItemsPath, _ = p.refPath(c, "MaxItemsPath", cloc)
			if r.MaxItemsPath != nil {
				r.MaxItems = numberPathExpr{r.MaxItemsPath, "MaxItemsPath", kindInteger}
			}
		}
		if e, ok := p.jsonataField(c, "MaxItems", cloc, lang, checkNonNegInt); ok {
			r.MaxItems = e
		} else if n, ok := p.integer(c, "MaxItems", cloc, 0, 100000000); ok {
			r.MaxItems = literalExpr{jsonv.Int(n)}
		}
	}
	return r
}

// itemBatcher reads a distributed Map's ItemBatcher.
func (p *parser) itemBatcher(o *jsonv.Object, loc string, lang QueryLanguage) *ItemBatcher {
	b := &ItemBatcher{}
	fields := []string{"MaxItemsPerBatch", "MaxInputBytesPerBatch", "BatchInput"}
	if lang == JSONPath {
		fields = append(fields, "MaxItemsPerBatchPath", "MaxInputBytesPerBatchPath")
	}
	p.only(o, loc, fields...)
	b.MaxItemsPerBatch = p.mapNumber(o, loc, lang, "MaxItemsPerBatch", kindNonNegInt)
	b.MaxInputBytesPerBatch = p.mapNumber(o, loc, lang, "MaxInputBytesPerBatch", kindNonNegInt)
	if v, ok := o.Get("BatchInput"); ok {
		b.BatchInput = p.template(v, loc+"/BatchInput", lang)
	}
	return b
}

// resultWriter reads a distributed Map's ResultWriter.
func (p *parser) resultWriter(o *jsonv.Object, loc string, lang QueryLanguage) *ResultWriter {
	w := &ResultWriter{}
	args := "Parameters"
	if lang == JSONata {
		args = "Arguments"
	}
	p.only(o, loc, "Resource", args, "WriterConfig")
	if s, ok := p.str(o, "Resource", loc); ok {
		w.Resource = s
		p.resource(s, loc+"/Resource", writerResource)
	}
	if v, ok := o.Get(args); ok {
		w.Parameters = p.template(v, loc+"/"+args, lang)
	}
	if c, ok := p.obj(o, "WriterConfig", loc); ok {
		w.WriterConfig = c
	}
	return w
}

// ItemsContextPath returns the ItemsPath of a JSONPath Map that reads the context object, as
// AWS quotes it in the error of such a path that does not point to an array: from "$", the
// context object's root ($$.Execution.Input is "$.Execution.Input").
func (m *MapFields) ItemsContextPath() (string, bool) {
	e, ok := m.Items.(refPathExpr)
	if !ok || e.p.Root() != path.RootContext {
		return "", false
	}
	return "$" + strings.TrimPrefix(e.p.String(), "$$"), true
}
