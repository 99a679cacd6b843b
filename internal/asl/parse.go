package asl

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/stepline/stepline/internal/asl/intrinsic"
	"github.com/stepline/stepline/internal/asl/path"
	"github.com/stepline/stepline/internal/jsonv"
)

// ParseOptions selects the rules a definition is checked against.
type ParseOptions struct {
	Type MachineType // STANDARD (the zero value) or EXPRESS
	// JSONataMemory is the memory budget of each evaluation of the definition's JSONata
	// expressions, in bytes (jsonata.EvalOptions.MaxMemory: 0 for jsonata.DefaultMaxMemory,
	// negative for none).
	JSONataMemory int64
}

// Parse parses and validates an ASL definition. A definition AWS would refuse yields a
// *DefinitionError with every diagnostic AWS would report, in AWS's order where known.
//
// Validation runs in two phases, as AWS's does: the schema phase (shapes, types, values, paths,
// templates) and, only when that passes, the graph phase (transition targets, reachability,
// terminal states, state names).
func Parse(definition []byte, opts ParseOptions) (*StateMachine, error) {
	if len(strings.TrimSpace(string(definition))) == 0 {
		return nil, &DefinitionError{[]Diagnostic{{Code: CodeSchema, Message: "Definition must be a valid JSON object"}}}
	}
	v, err := jsonv.Parse(definition)
	if err != nil {
		var se *jsonv.SyntaxError
		if !errors.As(err, &se) {
			return nil, fmt.Errorf("parse definition: %w", err)
		}
		return nil, &DefinitionError{[]Diagnostic{jsonDiagnostic(definition, se)}}
	}
	top, ok := v.(*jsonv.Object)
	if !ok {
		return nil, &DefinitionError{[]Diagnostic{{Code: CodeSchema, Message: "Definition must be a valid JSON object"}}}
	}
	p := &parser{opts: opts, dups: duplicateStates(definition), labels: map[string]bool{}}
	sm := &StateMachine{Source: string(definition)}
	p.top = p.queryLanguage(top, "", JSONPath)
	sm.Machine = *p.machine(top, "", machineTop)
	if n, ok := p.integer(top, "TimeoutSeconds", "", 1, math.MaxInt32); ok {
		sm.TimeoutSeconds = n
	}
	sm.Version, _ = p.str(top, "Version", "")
	if len(p.diags) == 0 {
		p.checkGraph()
	}
	if len(p.diags) > 0 {
		return nil, &DefinitionError{p.diags}
	}
	sm.variableRefs = variableReferences(&sm.Machine)
	return sm, nil
}

// jsonDiagnostic describes a syntax error the way AWS's JSON parser (Jackson) does for the
// common case of a bare word, and plainly otherwise; both carry the line and column.
func jsonDiagnostic(data []byte, se *jsonv.SyntaxError) Diagnostic {
	line, col := se.Line, se.Column
	msg := se.Msg
	if word := bareWord(data, se.Offset); word != "" {
		col += len([]rune(word))
		msg = fmt.Sprintf("Unrecognized token '%s': was expecting (JSON String, Number, Array, Object or token 'null', 'true' or 'false')", word)
	}
	// Jackson quotes the text it parsed, cut at 500 characters.
	source := []rune(string(data))
	quoted := `"` + string(source) + `"`
	if len(source) > 500 {
		quoted = fmt.Sprintf(`"%s"[truncated %d chars]`, string(source[:500]), len(source)-500)
	}
	loc := fmt.Sprintf("[Source: (String)%s; line: %d, column: %d]", quoted, line, col)
	return Diagnostic{Code: CodeInvalidJSON, Message: msg + "\n at " + loc, Location: loc}
}

// bareWord returns the unquoted word starting at offset, if the error is one.
func bareWord(data []byte, offset int) string {
	offset = min(offset, len(data))
	end := offset
	for end < len(data) && (data[end] >= 'a' && data[end] <= 'z' || data[end] >= 'A' && data[end] <= 'Z' || data[end] == '_') {
		end++
	}
	return string(data[offset:end])
}

// parser accumulates diagnostics while building the model.
type parser struct {
	opts  ParseOptions
	top   QueryLanguage
	diags []Diagnostic
	dups  map[string][]string
	// labels holds the Map Labels seen so far.
	labels map[string]bool
	// scopes lists every set of states (top level, branches, processors) for the graph phase.
	scopes []*scope
	// stateLoc is the location of the state being parsed: AWS names a JSONata field by its
	// path within the state ("Output/result").
	stateLoc string
	// inCatch is set while a catcher's Output and Assign are parsed, the only fields where
	// $states.errorOutput exists.
	inCatch bool
}

// scope is one Machine with what the graph phase needs to know about it.
type scope struct {
	m   *Machine
	loc string // "" for the top level
	// startAt is false when StartAt is missing (already reported).
	startAt bool
}

func (p *parser) add(code, loc, format string, args ...any) {
	p.diags = append(p.diags, Diagnostic{Code: code, Message: fmt.Sprintf(format, args...), Location: loc})
}

func (p *parser) schema(loc, format string, args ...any) { p.add(CodeSchema, loc, format, args...) }

// at renders an object location: the top level is "/".
func at(loc string) string {
	if loc == "" {
		return "/"
	}
	return loc
}

// required reports the missing fields of o, in AWS's order.
func (p *parser) required(o *jsonv.Object, loc string, names ...string) bool {
	var missing []string
	for _, n := range names {
		if !o.Has(n) {
			missing = append(missing, n)
		}
	}
	if len(missing) > 0 {
		p.schema(at(loc), "These fields are required: [%s]", strings.Join(javaSetOrder(missing), ", "))
	}
	return len(missing) == 0
}

// only reports the fields of o not in allowed.
func (p *parser) only(o *jsonv.Object, loc string, allowed ...string) {
	for _, m := range o.Members() {
		if !slices.Contains(allowed, m.Key) {
			p.schema(at(loc), "Field '%s' is not supported", m.Key)
		}
	}
}

// oneOf reports unless at most one (or, when needed, exactly one) of names is present; it
// returns the name present.
func (p *parser) oneOf(o *jsonv.Object, loc string, needed bool, names ...string) string {
	var present []string
	for _, n := range names {
		if o.Has(n) {
			present = append(present, n)
		}
	}
	switch {
	case len(present) > 1:
		p.schema(at(loc), "Only one of these fields can be specified: [%s]", strings.Join(names, ", "))
	case len(present) == 0 && needed:
		p.schema(at(loc), "One of these fields is required: [%s]", strings.Join(names, ", "))
	case len(present) == 1:
		return present[0]
	}
	return ""
}

func typeError(v jsonv.Value, want string) bool {
	switch want {
	case "STRING":
		_, ok := v.(string)
		return !ok
	case "BOOLEAN":
		_, ok := v.(bool)
		return !ok
	case "NUMBER":
		_, ok := v.(jsonv.Number)
		return !ok
	case "INTEGER":
		n, ok := v.(jsonv.Number)
		return !ok || !n.IsInteger()
	case "OBJECT":
		_, ok := v.(*jsonv.Object)
		return !ok
	case "ARRAY":
		_, ok := v.([]jsonv.Value)
		return !ok
	}
	return true
}

// typed returns o[key] if it has type want, reporting a wrong type.
func (p *parser) typed(o *jsonv.Object, key, loc, want string) (jsonv.Value, bool) {
	v, ok := o.Get(key)
	if !ok {
		return nil, false
	}
	if typeError(v, want) {
		p.schema(loc+"/"+key, "Expected value of type [%s]", want)
		return nil, false
	}
	return v, true
}

func (p *parser) str(o *jsonv.Object, key, loc string) (string, bool) {
	v, ok := p.typed(o, key, loc, "STRING")
	s, _ := v.(string)
	return s, ok
}

func (p *parser) boolean(o *jsonv.Object, key, loc string) (bool, bool) {
	v, ok := p.typed(o, key, loc, "BOOLEAN")
	b, _ := v.(bool)
	return b, ok
}

func (p *parser) obj(o *jsonv.Object, key, loc string) (*jsonv.Object, bool) {
	v, ok := p.typed(o, key, loc, "OBJECT")
	m, _ := v.(*jsonv.Object)
	return m, ok
}

func (p *parser) array(o *jsonv.Object, key, loc string) ([]jsonv.Value, bool) {
	v, ok := p.typed(o, key, loc, "ARRAY")
	a, _ := v.([]jsonv.Value)
	return a, ok
}

// integer returns o[key] as an integer in [lo, hi].
func (p *parser) integer(o *jsonv.Object, key, loc string, lo, hi int64) (int64, bool) {
	v, ok := p.typed(o, key, loc, "INTEGER")
	if !ok {
		return 0, false
	}
	n, fits := v.(jsonv.Number).Int64()
	switch {
	case !fits || n > hi:
		p.schema(loc+"/"+key, "Value must be less than or equal to %d", hi)
	case n < lo:
		p.schema(loc+"/"+key, "Value must be greater than or equal to %d", lo)
	default:
		return n, true
	}
	return 0, false
}

// queryLanguage reads a QueryLanguage field, defaulting to inherited.
func (p *parser) queryLanguage(o *jsonv.Object, loc string, inherited QueryLanguage) QueryLanguage {
	s, ok := p.str(o, "QueryLanguage", loc)
	switch {
	case !ok:
		return inherited
	case s == "JSONPath":
		return JSONPath
	case s == "JSONata":
		return JSONata
	}
	p.schema(loc+"/QueryLanguage", "The field 'QueryLanguage' should have one of these values: [JSONPath, JSONata]")
	return inherited
}

type machineKind uint8

const (
	machineTop machineKind = iota
	machineBranch
	machineProcessor // ItemProcessor
	machineIterator  // legacy Iterator
)

// machine parses a set of states with its StartAt: the top level, a branch or a processor.
func (p *parser) machine(o *jsonv.Object, loc string, kind machineKind) *Machine {
	m := &Machine{QueryLanguage: p.top, States: map[string]*State{}}
	allowed := []string{"Comment", "StartAt", "States"}
	switch kind {
	case machineTop:
		allowed = append(allowed, "TimeoutSeconds", "Version", "QueryLanguage")
	case machineProcessor, machineIterator:
		// AWS accepts ProcessorConfig in a legacy Iterator too.
		allowed = append(allowed, "ProcessorConfig")
	}
	p.required(o, loc, "States", "StartAt")
	p.only(o, loc, allowed...)
	sc := &scope{m: m, loc: loc}
	p.scopes = append(p.scopes, sc)
	m.Comment, _ = p.str(o, "Comment", loc)
	m.StartAt, sc.startAt = p.str(o, "StartAt", loc)
	if states, ok := p.obj(o, "States", loc); ok {
		for _, mem := range states.Members() {
			m.Order = append(m.Order, mem.Key)
			if st := p.state(mem.Key, mem.Value, loc+"/States/"+mem.Key); st != nil {
				m.States[mem.Key] = st
			}
		}
	}
	return m
}

// state parses one state. It returns nil when the state is too broken to model (its problems are
// reported).
func (p *parser) state(name string, v jsonv.Value, loc string) *State {
	o, ok := v.(*jsonv.Object)
	if !ok {
		p.schema(loc, "Expected value of type [OBJECT]")
		return nil
	}
	if !p.required(o, loc, "Type") {
		return nil
	}
	typeName, _ := o.Get("Type")
	tn, _ := typeName.(string)
	typ, ok := stateTypeByName(tn)
	if !ok {
		p.schema(loc+"/Type", "The field 'Type' should have one of these values: [%s]", strings.Join(typeNamesInAWSOrder, ", "))
		return nil
	}
	st := &State{Name: name, Type: typ}
	outer := p.stateLoc
	p.stateLoc = loc
	defer func() { p.stateLoc = outer }()
	st.QueryLanguage = p.queryLanguage(o, loc, p.top)
	downgraded := false
	if p.top == JSONata && st.QueryLanguage == JSONPath && o.Has("QueryLanguage") {
		p.schema(loc, "'QueryLanguage' can not be 'JSONPath' if set to 'JSONata' for whole state machine")
		downgraded = true
	}
	lang := st.QueryLanguage

	switch typ {
	case Task:
		p.required(o, loc, "Resource")
	case Choice:
		p.required(o, loc, "Choices")
	case Parallel:
		p.required(o, loc, "Branches")
	}
	for _, m := range o.Members() {
		rule, known := stateFields[m.Key]
		switch {
		case !known || !rule.types.has(typ):
			p.schema(loc, "Field '%s' is not supported", m.Key)
		case downgraded:
		case rule.lang == pathOnly && lang == JSONata:
			p.schema(loc, "The QueryLanguage is set to 'JSONata', but field '%s' is only supported for the 'JSONPath' QueryLanguage", m.Key)
		case rule.lang == jsonataOnly && lang == JSONPath:
			p.schema(loc, "The QueryLanguage is set to 'JSONPath', but field '%s' is only supported for the 'JSONata' QueryLanguage", m.Key)
		}
	}

	st.Comment, _ = p.str(o, "Comment", loc)
	if flowTypes.has(typ) {
		p.transition(st, o, loc)
	}
	p.io(st, o, loc, lang)
	if workTypes.has(typ) {
		st.Retry = p.retriers(o, loc)
		st.Catch = p.catchers(o, loc, lang)
	}
	switch typ {
	case Pass:
		if lang == JSONPath {
			st.Result, st.HasResult = o.Get("Result")
		}
	case Task:
		st.Task = p.task(o, loc, lang)
	case Choice:
		st.Choice = p.choice(o, loc, lang)
	case Wait:
		st.Wait = p.wait(o, loc, lang)
	case Fail:
		st.Fail = p.fail(o, loc, lang)
	case Parallel:
		st.Parallel = p.parallel(o, loc)
	case Map:
		st.Map = p.mapState(st, o, loc, lang)
	}
	return st
}

// transition reads Next and End: exactly one of them, End only as true.
func (p *parser) transition(st *State, o *jsonv.Object, loc string) {
	st.Next, _ = p.str(o, "Next", loc)
	end, _ := p.boolean(o, "End", loc)
	st.End = end
	switch {
	case o.Has("Next") && end:
		p.schema(at(loc), "Only one of these fields can be specified: [Next, End]")
	case !o.Has("Next") && !end:
		p.schema(at(loc), "One of these fields is required: [Next, End]")
	}
}

// io reads the input/output fields: paths and templates for JSONPath, Arguments and Output for
// JSONata, and Assign for both.
func (p *parser) io(st *State, o *jsonv.Object, loc string, lang QueryLanguage) {
	if lang == JSONPath {
		st.InputPath = p.optPath(o, "InputPath", loc, false)
		st.OutputPath = p.optPath(o, "OutputPath", loc, false)
		st.ResultPath = p.optPath(o, "ResultPath", loc, true)
		if v, ok := o.Get("Parameters"); ok && st.Type != Map {
			st.Parameters = p.template(v, loc+"/Parameters", JSONPath)
		}
		if v, ok := o.Get("ResultSelector"); ok {
			st.ResultSelector = p.template(v, loc+"/ResultSelector", JSONPath)
		}
	} else {
		if v, ok := o.Get("Arguments"); ok {
			st.Parameters = p.template(v, loc+"/Arguments", JSONata)
		}
		if v, ok := o.Get("Output"); ok {
			st.Output = p.template(v, loc+"/Output", JSONata)
		}
	}
	st.Assign = p.assign(o, loc, lang)
}

// assign compiles an Assign object.
func (p *parser) assign(o *jsonv.Object, loc string, lang QueryLanguage) Expr {
	a, ok := p.obj(o, "Assign", loc)
	if !ok {
		return nil
	}
	return p.template(a, loc+"/Assign", lang)
}

// optPath reads InputPath, OutputPath or ResultPath: absent, null or a path.
func (p *parser) optPath(o *jsonv.Object, key, loc string, reference bool) OptPath {
	v, ok := o.Get(key)
	if !ok {
		return OptPath{}
	}
	if v == nil {
		return OptPath{Null: true}
	}
	pp := p.path(v, key, loc, reference)
	return OptPath{Path: pp}
}

// path compiles the path in field key of the object at loc.
func (p *parser) path(v jsonv.Value, key, loc string, reference bool) *path.Path {
	s, ok := v.(string)
	if ok {
		compile := path.Compile
		if reference {
			compile = path.CompileReference
		}
		if pp, err := compile(s); err == nil {
			return pp
		}
	}
	if reference {
		p.schema(loc+"/"+key, "The value for the field '%s' must be a valid Reference Path", key)
	} else {
		p.schema(loc+"/"+key, "The value for the field '%s' must be a valid JSONPath", key)
	}
	return nil
}

// refPath compiles o[key] as a reference path, if present.
func (p *parser) refPath(o *jsonv.Object, key, loc string) (*path.Path, bool) {
	v, ok := o.Get(key)
	if !ok {
		return nil, false
	}
	pp := p.path(v, key, loc, true)
	return pp, pp != nil
}

// retriers reads Retry.
func (p *parser) retriers(o *jsonv.Object, loc string) []Retrier {
	list, ok := p.array(o, "Retry", loc)
	if !ok {
		return nil
	}
	out := make([]Retrier, 0, len(list))
	for i, v := range list {
		rloc := fmt.Sprintf("%s/Retry[%d]", loc, i)
		r, ok := v.(*jsonv.Object)
		if !ok {
			p.schema(rloc, "Expected value of type [OBJECT]")
			continue
		}
		p.required(r, rloc, "ErrorEquals")
		p.only(r, rloc, "ErrorEquals", "IntervalSeconds", "MaxAttempts", "BackoffRate", "MaxDelaySeconds", "JitterStrategy", "Comment")
		ret := Retrier{IntervalSeconds: 1, MaxAttempts: 3, BackoffRate: 2}
		ret.ErrorEquals = p.errorEquals(r, rloc, i == len(list)-1)
		if n, ok := p.integer(r, "IntervalSeconds", rloc, 1, 99999999); ok {
			ret.IntervalSeconds = n
		}
		if n, ok := p.integer(r, "MaxAttempts", rloc, 0, 99999999); ok {
			ret.MaxAttempts = n
		}
		if n, ok := p.integer(r, "MaxDelaySeconds", rloc, 1, 31622400); ok {
			ret.MaxDelaySeconds = n
		}
		if v, ok := p.typed(r, "BackoffRate", rloc, "NUMBER"); ok {
			if f := v.(jsonv.Number).Float64(); f < 1 {
				p.schema(rloc+"/BackoffRate", "Value must be greater than or equal to 1.0")
			} else {
				ret.BackoffRate = f
			}
		}
		if s, ok := p.str(r, "JitterStrategy", rloc); ok {
			switch s {
			case "FULL":
				ret.JitterFull = true
			case "NONE":
			default:
				p.schema(rloc+"/JitterStrategy", "The field 'JitterStrategy' should have one of these values: [FULL, NONE]")
			}
		}
		out = append(out, ret)
	}
	return out
}

// catchers reads Catch.
func (p *parser) catchers(o *jsonv.Object, loc string, lang QueryLanguage) []Catcher {
	list, ok := p.array(o, "Catch", loc)
	if !ok {
		return nil
	}
	out := make([]Catcher, 0, len(list))
	for i, v := range list {
		cloc := fmt.Sprintf("%s/Catch[%d]", loc, i)
		c, ok := v.(*jsonv.Object)
		if !ok {
			p.schema(cloc, "Expected value of type [OBJECT]")
			continue
		}
		p.required(c, cloc, "ErrorEquals", "Next")
		allowed := []string{"ErrorEquals", "Next", "Comment", "Assign"}
		if lang == JSONPath {
			allowed = append(allowed, "ResultPath")
		} else {
			allowed = append(allowed, "Output")
		}
		p.only(c, cloc, allowed...)
		var cat Catcher
		cat.ErrorEquals = p.errorEquals(c, cloc, i == len(list)-1)
		cat.Next, _ = p.str(c, "Next", cloc)
		p.inCatch = true
		if lang == JSONPath {
			cat.ResultPath = p.optPath(c, "ResultPath", cloc, true)
		} else if v, ok := c.Get("Output"); ok {
			cat.Output = p.template(v, cloc+"/Output", JSONata)
		}
		cat.Assign = p.assign(c, cloc, lang)
		p.inCatch = false
		out = append(out, cat)
	}
	return out
}

// errorEquals reads a non-empty ErrorEquals in which States.ALL stands alone, in the last
// retrier or catcher.
func (p *parser) errorEquals(o *jsonv.Object, loc string, last bool) []string {
	list, ok := p.array(o, "ErrorEquals", loc)
	if !ok {
		return nil
	}
	if len(list) == 0 {
		p.schema(loc+"/ErrorEquals", "Value cannot be empty")
		return nil
	}
	names := make([]string, 0, len(list))
	for i, v := range list {
		s, ok := v.(string)
		if !ok {
			p.schema(fmt.Sprintf("%s/ErrorEquals[%d]", loc, i), "Expected value of type [STRING]")
			continue
		}
		names = append(names, s)
	}
	if slices.Contains(names, "States.ALL") {
		if len(list) > 1 {
			p.schema(loc+"/ErrorEquals", "'States.ALL' must appear alone in 'ErrorEquals'")
		} else if !last {
			p.schema(loc, "A retrier or catcher with 'States.ALL' in 'ErrorEquals' must be the last one")
		}
	}
	return names
}

// task reads a Task state's own fields.
func (p *parser) task(o *jsonv.Object, loc string, lang QueryLanguage) *TaskFields {
	t := &TaskFields{}
	if s, ok := p.str(o, "Resource", loc); ok {
		t.Resource = s
		p.resource(s, loc+"/Resource", taskResource)
	}
	var timeout, heartbeat int64
	t.TimeoutSeconds, timeout = p.seconds(o, loc, lang, "TimeoutSeconds")
	t.HeartbeatSeconds, heartbeat = p.seconds(o, loc, lang, "HeartbeatSeconds")
	if timeout > 0 && heartbeat > 0 && heartbeat >= timeout {
		p.schema(loc+"/HeartbeatSeconds", "The value of 'HeartbeatSeconds' must be less than the value of 'TimeoutSeconds'")
	}
	if c, ok := p.obj(o, "Credentials", loc); ok {
		cloc := loc + "/Credentials"
		if !c.Has("RoleArn") && !(lang == JSONPath && c.Has("RoleArn.$")) {
			p.schema(cloc, "The field 'RoleArn' is required but was missing")
		} else {
			t.Credentials = p.template(c, cloc, lang)
		}
	}
	return t
}

// seconds reads TimeoutSeconds or HeartbeatSeconds with its *Path form; it returns the literal
// value too (0 when not literal).
func (p *parser) seconds(o *jsonv.Object, loc string, lang QueryLanguage, field string) (Expr, int64) {
	switch p.oneOf(o, loc, false, field, field+"Path") {
	case field:
		if e, ok := p.jsonataField(o, field, loc, lang, checkPositiveInt); ok {
			return e, 0
		}
		if n, ok := p.integer(o, field, loc, 1, 99999999); ok {
			return literalExpr{jsonv.Int(n)}, n
		}
	case field + "Path":
		if pp, ok := p.refPath(o, field+"Path", loc); ok {
			return numberPathExpr{pp, field + "Path", kindInteger}, 0
		}
	}
	return nil, 0
}

// jsonataField compiles o[key] when, in a JSONata state, it holds a JSONata expression whose
// value must pass chk.
func (p *parser) jsonataField(o *jsonv.Object, key, loc string, lang QueryLanguage, chk check) (Expr, bool) {
	if lang != JSONata {
		return nil, false
	}
	v, _ := o.Get(key)
	s, ok := v.(string)
	if !ok {
		return nil, false
	}
	text, ok := jsonataText(s)
	if !ok {
		return nil, false
	}
	return p.jsonata(text, loc+"/"+key, chk), true
}

// wait reads a Wait state: exactly one of Seconds, SecondsPath, Timestamp, TimestampPath.
func (p *parser) wait(o *jsonv.Object, loc string, lang QueryLanguage) *WaitFields {
	names := []string{"Seconds", "Timestamp"}
	if lang == JSONPath {
		names = []string{"Seconds", "SecondsPath", "Timestamp", "TimestampPath"}
	}
	w := &WaitFields{}
	field := p.oneOf(o, loc, true, names...)
	w.FieldName = field
	switch field {
	case "Seconds":
		if e, ok := p.jsonataField(o, field, loc, lang, checkSeconds); ok {
			w.Seconds = e
		} else if n, ok := p.integer(o, field, loc, 0, 99999999); ok {
			w.Seconds = literalExpr{jsonv.Int(n)}
		}
	case "Timestamp":
		if e, ok := p.jsonataField(o, field, loc, lang, checkTimestamp); ok {
			w.Timestamp = e
		} else if s, ok := p.str(o, field, loc); ok {
			if isRFC3339(s) {
				w.Timestamp = literalExpr{s}
			} else {
				p.schema(loc+"/Timestamp", "String does not match RFC3339 timestamp")
			}
		}
	case "SecondsPath":
		if pp, ok := p.refPath(o, field, loc); ok {
			w.Seconds = secondsPathExpr{pp}
		}
	case "TimestampPath":
		if pp, ok := p.refPath(o, field, loc); ok {
			w.Timestamp = timestampPathExpr{pp}
		}
	}
	return w
}

// fail reads a Fail state's Error and Cause, literal or from a path or intrinsic.
func (p *parser) fail(o *jsonv.Object, loc string, lang QueryLanguage) *FailFields {
	f := &FailFields{}
	f.Error = p.failField(o, loc, lang, "Error")
	f.Cause = p.failField(o, loc, lang, "Cause")
	return f
}

func (p *parser) failField(o *jsonv.Object, loc string, lang QueryLanguage, field string) Expr {
	switch p.oneOf(o, loc, false, field, field+"Path") {
	case field:
		if e, ok := p.jsonataField(o, field, loc, lang, checkString); ok {
			return e
		}
		if s, ok := p.str(o, field, loc); ok {
			return literalExpr{s}
		}
	case field + "Path":
		key := field + "Path"
		if s, ok := p.str(o, key, loc); ok {
			if strings.HasPrefix(s, "$") {
				if pp, err := path.CompileReference(s); err == nil {
					return fieldPathExpr{pp, key}
				}
			} else if c, err := intrinsic.Parse(s); err == nil && strings.HasPrefix(s, "States.") {
				return intrinsicExpr{c}
			}
			p.schema(loc+"/"+key, "The value for the field '%s' must be a valid JSONPath or a valid intrinsic function call", key)
		}
	}
	return nil
}

// parallel reads Branches: a non-empty array of machines.
func (p *parser) parallel(o *jsonv.Object, loc string) *ParallelFields {
	f := &ParallelFields{}
	list, ok := p.array(o, "Branches", loc)
	if !ok {
		return f
	}
	if len(list) == 0 {
		p.schema(loc+"/Branches", "Value cannot be empty")
	}
	for i, v := range list {
		bloc := fmt.Sprintf("%s/Branches[%d]", loc, i)
		b, ok := v.(*jsonv.Object)
		if !ok {
			p.schema(bloc, "Expected value of type [OBJECT]")
			continue
		}
		f.Branches = append(f.Branches, p.machine(b, bloc, machineBranch))
	}
	return f
}
