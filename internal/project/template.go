package project

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// A SAM or CloudFormation template, or a CDK app's synthesized template, read as a project:
// each resource Stepline runs is translated into the entry stepline.yaml would have for it
// and checked by the same code (so a template's project deploys, and fails, as any other),
// with errors naming the template's Resources.ID.Properties.X. Intrinsics are evaluated over
// yaml.v3 nodes (intrinsic.go), which keep line numbers; goformation was weighed and left
// out (docs/ARCHITECTURE.md says why).

// TemplateFiles are the names a SAM or CloudFormation template has in a project folder, in
// the order they are looked for.
var TemplateFiles = []string{"template.yaml", "template.yml", "template.json"}

// LoadOptions are what a template's intrinsics need beyond the template.
type LoadOptions struct {
	// Account and Region are AWS::AccountId and AWS::Region, and complete ARNs (defaults
	// 123456789012 and us-east-1, as the server's).
	Account, Region string
	// StackName is AWS::StackName: by default the project folder's name, or the CDK
	// stack's. With several stacks in cdk.out it chooses one.
	StackName string
	// Parameters override the template's parameters' defaults.
	Parameters map[string]string
}

// Skipped is a template resource Stepline does not deploy, and why.
type Skipped struct {
	LogicalID, Type, Reason string
	Line                    int
}

// ParseParameters reads --parameter-overrides: K=V pairs separated by commas or spaces, or
// SAM CLI's ParameterKey=K,ParameterValue=V form; a value may be double-quoted (K="a b"), as
// samconfig.toml writes them.
func ParseParameters(s string, into map[string]string) error {
	var fields []string
	var cur strings.Builder
	quoted, started := false, false
	for _, r := range s {
		switch {
		case r == '"':
			quoted, started = !quoted, true
		case !quoted && (r == ',' || r == ' ' || r == '\n' || r == '\t'):
			if started {
				fields = append(fields, cur.String())
			}
			cur.Reset()
			started = false
		default:
			cur.WriteRune(r)
			started = true
		}
	}
	if quoted {
		return fmt.Errorf("%q: a quote is not closed", s)
	}
	if started {
		fields = append(fields, cur.String())
	}
	for i := 0; i < len(fields); i++ {
		k, v, ok := strings.Cut(fields[i], "=")
		if !ok || k == "" {
			return fmt.Errorf("%q is not KEY=VALUE", fields[i])
		}
		if k == "ParameterKey" {
			if i+1 >= len(fields) || !strings.HasPrefix(fields[i+1], "ParameterValue=") {
				return fmt.Errorf("ParameterKey=%s without ParameterValue=", v)
			}
			i++
			k, v = v, strings.TrimPrefix(fields[i], "ParameterValue=")
		}
		into[k] = v
	}
	return nil
}

// findTemplate looks for a template in dir: template.yaml, .yml, .json, then cdk.out's. It
// returns "" when there is none.
func findTemplate(dir, stack string) (string, string, error) {
	for _, name := range TemplateFiles {
		file := filepath.Join(dir, name)
		if st, err := os.Stat(file); err == nil && st.Mode().IsRegular() {
			// As sam local does, the template `sam build` wrote (its functions' folders
			// hold their installed dependencies) is preferred, unless the template
			// changed after the build.
			built := filepath.Join(dir, ".aws-sam", "build", "template.yaml")
			if bst, err := os.Stat(built); err == nil && bst.Mode().IsRegular() && !bst.ModTime().Before(st.ModTime()) {
				return built, "", nil
			}
			return file, "", nil
		}
	}
	out := filepath.Join(dir, "cdk.out")
	files, _ := filepath.Glob(filepath.Join(out, "*.template.json"))
	switch {
	case len(files) == 1:
		return files[0], "CDK app", nil
	case len(files) > 1:
		if stack != "" {
			file := filepath.Join(out, stack+".template.json")
			if slices.Contains(files, file) {
				return file, "CDK app", nil
			}
		}
		var stacks []string
		for _, f := range files {
			stacks = append(stacks, strings.TrimSuffix(filepath.Base(f), ".template.json"))
		}
		return "", "", &Error{File: out, Msg: fmt.Sprintf("several stacks (%s): choose one with --stack-name", strings.Join(stacks, ", "))}
	}
	if _, err := os.Stat(filepath.Join(dir, "cdk.json")); err == nil {
		return "", "", &Error{File: filepath.Join(dir, "cdk.json"), Msg: "a CDK app without cdk.out/*.template.json: synthesize it first (npx cdk synth)"}
	}
	return "", "", nil
}

// resource is one entry of Resources.
type resource struct {
	id, typ string
	key     *yaml.Node // the logical ID, for its line
	props   *yaml.Node // Properties, nil when absent
	attrs   map[string]*yaml.Node
}

// param is one of Parameters, with its value.
type param struct {
	value *yaml.Node
	// err says why it has no value; it is an error only where it is used.
	err string
}

// tmpl is one template being translated.
type tmpl struct {
	p                    *parser
	projDir              string // the project folder, whose .stepline holds inline code
	o                    LoadOptions
	partition, urlSuffix string
	params               map[string]*param
	conditions, mappings *yaml.Node
	condValues           map[string]bool
	condBusy, nameBusy   map[string]bool
	resources            map[string]*resource
	order                []*resource
	names                map[string]string
	globals              *yaml.Node // Globals.Function
	budget               int
	// cdkOut is the cdk.out folder of a CDK app; assets maps the S3 object keys of its
	// file assets to their local paths.
	cdkOut string
	assets map[string]string
	// keys maps the entries' key paths (functions.NAME) to the template's (Resources.ID).
	keys map[string]entryKeys
}

// entryKeys is how one entry's key paths read in the template.
type entryKeys struct {
	id string
	// props maps an entry's first key (code, definition) to its property path.
	props map[string]string
}

var (
	templateKeys = []string{"AWSTemplateFormatVersion", "Description", "Metadata", "Parameters", "Mappings", "Conditions",
		"Transform", "Resources", "Outputs", "Rules", "Globals"}
	resourceKeys = []string{"Type", "Properties", "Metadata", "Condition", "DependsOn", "DeletionPolicy",
		"UpdateReplacePolicy", "UpdatePolicy", "CreationPolicy", "Version", "Connectors", "IgnoreGlobals"}
	parameterKeys = []string{"Type", "Default", "AllowedValues", "AllowedPattern", "Description", "NoEcho", "MinLength",
		"MaxLength", "MinValue", "MaxValue", "ConstraintDescription"}
	logicalID = regexp.MustCompile(`^[A-Za-z0-9]+$`)
)

// runTypes are the resource types Stepline deploys.
var runTypes = []string{"AWS::Serverless::Function", "AWS::Lambda::Function", "AWS::Serverless::StateMachine",
	"AWS::StepFunctions::StateMachine", "AWS::S3::Bucket", "AWS::Glue::Database", "AWS::Glue::Crawler", "AWS::Glue::Job",
	"AWS::Events::Rule", "AWS::Scheduler::Schedule"}

// loadTemplate reads a template and translates it into a Project.
func loadTemplate(dir, file, kind string, o LoadOptions) (*Project, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, &Error{File: file, Msg: err.Error()}
	}
	if o.Account == "" {
		o.Account = "123456789012"
	}
	if o.Region == "" {
		o.Region = "us-east-1"
	}
	if o.StackName == "" {
		o.StackName = filepath.Base(abs)
		if kind == "CDK app" {
			// cdk deploy names the stack as cdk.out names its template.
			o.StackName = strings.TrimSuffix(filepath.Base(file), ".template.json")
		}
	}
	if kind != "CDK app" {
		conf, err := samConfigParameters(dir)
		if err != nil {
			return nil, err
		}
		if len(conf) > 0 {
			// The command line's overrides win over samconfig.toml's.
			for k, v := range o.Parameters {
				conf[k] = v
			}
			o.Parameters = conf
		}
	}
	text, err := os.ReadFile(file)
	if err != nil {
		return nil, &Error{File: file, Msg: fileError(filepath.Base(file), err)}
	}
	return parseTemplate(dir, file, kind, text, o)
}

// samConfigParameters reads the parameter_overrides that SAM CLI's samconfig.toml gives its
// default environment (sections [default.global.parameters], then
// [default.deploy.parameters]), so that a SAM project whose parameters have no defaults runs
// as `sam deploy` deploys it. Only that key is read, of the TOML that samconfig files hold: a
// string, or a list of strings on one line.
func samConfigParameters(dir string) (map[string]string, error) {
	file := filepath.Join(dir, "samconfig.toml")
	text, err := os.ReadFile(file)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, &Error{File: file, Msg: err.Error()}
	}
	values := map[string]string{}
	sections := map[string]string{}
	section := ""
	for i, line := range strings.Split(string(text), "\n") {
		line = strings.TrimSpace(line)
		if strings.HasPrefix(line, "[") {
			section = strings.Trim(line, "[] ")
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok || strings.TrimSpace(k) != "parameter_overrides" ||
			(section != "default.global.parameters" && section != "default.deploy.parameters") {
			continue
		}
		var parts []string
		v = strings.TrimSpace(v)
		items := []string{v}
		if strings.HasPrefix(v, "[") && strings.HasSuffix(v, "]") {
			items = strings.Split(strings.Trim(v, "[]"), "\",")
		}
		for _, it := range items {
			it = strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(it), ","))
			if it == "" {
				continue
			}
			if len(it) >= 2 && it[0] == '\'' && it[len(it)-1] == '\'' { // a TOML literal string
				parts = append(parts, it[1:len(it)-1])
				continue
			}
			if !strings.HasSuffix(it, "\"") {
				it += "\""
			}
			if !strings.HasPrefix(it, "\"") {
				it = "\"" + it
			}
			u, err := strconv.Unquote(it)
			if err != nil {
				return nil, &Error{File: file, Line: i + 1, Key: section + ".parameter_overrides", Msg: "must be a string or a list of strings"}
			}
			parts = append(parts, u)
		}
		sections[section] = strings.Join(parts, " ")
	}
	for _, sec := range []string{"default.global.parameters", "default.deploy.parameters"} {
		if s, ok := sections[sec]; ok {
			if err := ParseParameters(s, values); err != nil {
				return nil, &Error{File: file, Key: sec + ".parameter_overrides", Msg: err.Error()}
			}
		}
	}
	return values, nil
}

// parseTemplate translates a template's text; files it names are read beside it.
func parseTemplate(dir, file, kind string, text []byte, o LoadOptions) (*Project, error) {
	t, kind, err := newTmpl(file, kind, text, o)
	if err != nil {
		return nil, err
	}
	t.projDir = dir
	proj := &Project{Dir: dir, File: file, Source: kind, StackName: t.o.StackName, Reserved: map[string]*yaml.Node{}, rename: t.rename}
	if err := t.translate(proj); err != nil {
		return nil, err
	}
	slices.SortFunc(proj.Functions, func(a, b *Function) int { return strings.Compare(a.Name, b.Name) })
	slices.SortFunc(proj.StateMachines, func(a, b *StateMachine) int { return strings.Compare(a.Name, b.Name) })
	slices.SortFunc(proj.Buckets, func(a, b *Bucket) int { return strings.Compare(a.Name, b.Name) })
	slices.SortFunc(proj.Glue.Databases, func(a, b *GlueDatabase) int { return strings.Compare(a.Name, b.Name) })
	slices.SortFunc(proj.Glue.Crawlers, func(a, b *GlueCrawler) int { return strings.Compare(a.Name, b.Name) })
	slices.SortFunc(proj.Glue.Jobs, func(a, b *GlueJob) int { return strings.Compare(a.Name, b.Name) })
	slices.SortFunc(proj.Schedules, func(a, b *Schedule) int { return strings.Compare(a.Name, b.Name) })
	slices.SortFunc(proj.Rules, func(a, b *Rule) int { return strings.Compare(a.Name, b.Name) })
	if err := proj.checkRuleTargets(); err != nil {
		return nil, err
	}
	proj.Warnings = proj.references()
	return proj, nil
}

// newTmpl reads a template's sections, parameters and resources, and says what kind of
// template it is (when kind is "").
func newTmpl(file, kind string, text []byte, o LoadOptions) (*tmpl, string, error) {
	if o.Account == "" {
		o.Account = "123456789012"
	}
	if o.Region == "" {
		o.Region = "us-east-1"
	}
	if o.StackName == "" {
		o.StackName = "stack"
	}
	t := &tmpl{p: &parser{file: file, dir: filepath.Dir(file)}, o: o, params: map[string]*param{},
		condValues: map[string]bool{}, condBusy: map[string]bool{}, nameBusy: map[string]bool{},
		resources: map[string]*resource{}, names: map[string]string{}, budget: evalBudget, keys: map[string]entryKeys{}}
	t.partition, t.urlSuffix = partitionOf(o.Region)
	t.p.rename = t.rename
	if kind == "CDK app" {
		t.cdkOut = filepath.Dir(file)
		t.assets = cdkAssets(file)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(text, &doc); err != nil {
		return nil, "", t.p.yamlError(err)
	}
	if doc.Kind == 0 || len(doc.Content) == 0 || resolve(doc.Content[0]) == nil || resolve(doc.Content[0]).Kind != yaml.MappingNode {
		return nil, "", &Error{File: file, Msg: "the template must be a mapping with Resources"}
	}
	top := resolve(doc.Content[0])
	for i := 0; i+1 < len(top.Content); i += 2 {
		if k := top.Content[i]; !slices.Contains(templateKeys, k.Value) {
			return nil, "", t.p.errAt(k, k.Value, "unknown template section (known: %s)", strings.Join(templateKeys, ", "))
		}
	}
	if kind == "" {
		kind = "CloudFormation template"
		if tr := mapGet(top, "Transform"); tr != nil && strings.Contains(nodeText(tr), "AWS::Serverless") {
			kind = "SAM template"
		}
	}
	t.conditions = mapGet(top, "Conditions")
	t.mappings = mapGet(top, "Mappings")
	if g := mapGet(top, "Globals"); g != nil {
		t.globals = mapGet(g, "Function")
	}
	if err := t.readParameters(mapGet(top, "Parameters")); err != nil {
		return nil, "", err
	}
	res := mapGet(top, "Resources")
	if res == nil || res.Kind != yaml.MappingNode || len(res.Content) == 0 {
		at := res
		if at == nil {
			at = top
		}
		return nil, "", t.p.errAt(at, "Resources", "missing: the template declares no resources")
	}
	for i := 0; i+1 < len(res.Content); i += 2 {
		k, v := res.Content[i], resolve(res.Content[i+1])
		if err := t.readResource(k, v); err != nil {
			return nil, "", err
		}
	}
	return t, kind, nil
}

// nodeText is a scalar's value, or a list's values joined.
func nodeText(n *yaml.Node) string {
	if n.Kind == yaml.SequenceNode {
		var s []string
		for _, c := range n.Content {
			s = append(s, c.Value)
		}
		return strings.Join(s, ",")
	}
	return n.Value
}

func (t *tmpl) readParameters(n *yaml.Node) error {
	if n == nil {
		for k := range t.o.Parameters {
			return &Error{File: t.p.file, Msg: fmt.Sprintf("parameter override %s: the template has no Parameters", k)}
		}
		return nil
	}
	if n.Kind != yaml.MappingNode {
		return t.p.errAt(n, "Parameters", "must be a mapping of names to parameters")
	}
	var names []string
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], resolve(n.Content[i+1])
		path := "Parameters." + k.Value
		names = append(names, k.Value)
		f, err := t.p.fields(v, path, parameterKeys)
		if err != nil {
			return err
		}
		typ := f["Type"]
		if typ == nil {
			return t.p.errAt(v, path+".Type", "missing: String, Number, CommaDelimitedList, …")
		}
		prm := &param{}
		t.params[k.Value] = prm
		val, given := t.o.Parameters[k.Value]
		at := k
		if !given {
			d := f["Default"]
			if d == nil {
				prm.err = fmt.Sprintf("no Default and no value: give one with --parameter-overrides %s=VALUE", k.Value)
				continue
			}
			if d.Kind != yaml.ScalarNode {
				return t.p.errAt(d, path+".Default", "must be a string")
			}
			val, at = d.Value, d
		}
		if strings.HasPrefix(typ.Value, "AWS::SSM::Parameter::Value<") && !given {
			prm.err = fmt.Sprintf("an SSM parameter (%s) is not read locally: give its value with --parameter-overrides %s=VALUE", val, k.Value)
			continue
		}
		if msg := checkParameter(typ.Value, val, f); msg != "" {
			if given {
				return &Error{File: t.p.file, Key: path, Msg: fmt.Sprintf("the override %q %s", val, msg)}
			}
			return t.p.errAt(at, path+".Default", "%q %s", val, msg)
		}
		if strings.HasPrefix(typ.Value, "List<") || typ.Value == "CommaDelimitedList" || strings.HasPrefix(typ.Value, "AWS::SSM::Parameter::Value<List<") {
			list := &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq", Line: at.Line}
			for _, s := range strings.Split(val, ",") {
				list.Content = append(list.Content, strNode(strings.TrimSpace(s), at.Line))
			}
			prm.value = list
		} else {
			prm.value = strNode(val, at.Line)
		}
	}
	for k := range t.o.Parameters {
		if t.params[k] == nil {
			return &Error{File: t.p.file, Msg: fmt.Sprintf("parameter override %s: the template's parameters are %s", k, strings.Join(names, ", "))}
		}
	}
	return nil
}

// checkParameter checks a parameter's value against its type and constraints; it returns
// what is wrong, or "".
func checkParameter(typ, val string, f map[string]*yaml.Node) string {
	if typ == "Number" {
		if _, err := strconv.ParseFloat(val, 64); err != nil {
			return "is not a number"
		}
	}
	if a := f["AllowedValues"]; a != nil && a.Kind == yaml.SequenceNode {
		var allowed []string
		for _, c := range a.Content {
			allowed = append(allowed, c.Value)
		}
		if !slices.Contains(allowed, val) {
			return "is not one of the AllowedValues (" + strings.Join(allowed, ", ") + ")"
		}
	}
	if a := f["AllowedPattern"]; a != nil {
		re, err := regexp.Compile("^(?:" + a.Value + ")$")
		if err == nil && !re.MatchString(val) {
			return "does not match the AllowedPattern " + a.Value
		}
	}
	return ""
}

func (t *tmpl) readResource(k, v *yaml.Node) error {
	path := "Resources." + k.Value
	if !logicalID.MatchString(k.Value) {
		return t.p.errAt(k, path, "a logical ID is letters and digits only")
	}
	if t.resources[k.Value] != nil {
		return t.p.errAt(k, path, "declared twice")
	}
	if t.params[k.Value] != nil {
		return t.p.errAt(k, path, "a parameter has the same name")
	}
	f, err := t.p.fields(v, path, resourceKeys)
	if err != nil {
		return err
	}
	typ := f["Type"]
	if typ == nil || typ.Kind != yaml.ScalarNode || typ.Value == "" {
		return t.p.errAt(v, path+".Type", "missing: the resource's type, such as AWS::Serverless::Function")
	}
	r := &resource{id: k.Value, typ: typ.Value, key: k, props: f["Properties"], attrs: f}
	if r.props != nil && r.props.Kind != yaml.MappingNode && r.props.ShortTag() != "!!null" {
		return t.p.errAt(r.props, path+".Properties", "must be a mapping")
	}
	t.resources[r.id] = r
	t.order = append(t.order, r)
	return nil
}

// rename maps a key path of stepline.yaml's shape to the template's.
func (t *tmpl) rename(key string) string {
	best := ""
	for prefix := range t.keys {
		if (key == prefix || strings.HasPrefix(key, prefix+".")) && len(prefix) > len(best) {
			best = prefix
		}
	}
	if best == "" {
		return key
	}
	ek := t.keys[best]
	rest := strings.TrimPrefix(strings.TrimPrefix(key, best), ".")
	if rest == "" {
		return "Resources." + ek.id
	}
	segs := strings.Split(rest, ".")
	first, idx, _ := strings.Cut(segs[0], "[")
	if idx != "" {
		idx = "[" + idx
	}
	if p, ok := ek.props[first]; ok {
		segs[0] = p + idx
	}
	for i := range segs {
		if _, ok := ek.props[first]; ok && i == 0 {
			continue
		}
		if segs[i] != "" {
			segs[i] = strings.ToUpper(segs[i][:1]) + segs[i][1:]
		}
	}
	if strings.HasPrefix(segs[0], "Metadata.") {
		return "Resources." + ek.id + "." + strings.Join(segs, ".")
	}
	return "Resources." + ek.id + ".Properties." + strings.Join(segs, ".")
}

// entry is a stepline.yaml entry being built from a resource's properties.
type entry struct {
	n *yaml.Node
}

func newEntry(line int) *entry {
	return &entry{n: &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", Line: line}}
}

// set adds key: v (nil v adds nothing); retag re-infers a scalar's type, as CloudFormation
// takes "10" for 10.
func (e *entry) set(key string, v *yaml.Node, retag bool) {
	if v == nil || v == noValue {
		return
	}
	if retag && v.Kind == yaml.ScalarNode {
		c := *v
		c.Tag = ""
		c.Style = 0
		v = &c
	}
	e.n.Content = append(e.n.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: key, Line: v.Line}, v)
}

// translate turns each resource into the project's entries, in template order; rules and
// SAM events last, once the state machines and functions they target are known.
func (t *tmpl) translate(proj *Project) error {
	var later []func() error
	for _, r := range t.order {
		if !slices.Contains(runTypes, r.typ) {
			proj.Skipped = append(proj.Skipped, Skipped{LogicalID: r.id, Type: r.typ, Line: r.key.Line,
				Reason: "Stepline does not run " + r.typ})
			continue
		}
		if c := r.attrs["Condition"]; c != nil {
			ok, err := t.condition(c.Value, c, "Resources."+r.id+".Condition", 0)
			if err != nil {
				return err
			}
			if !ok {
				proj.Skipped = append(proj.Skipped, Skipped{LogicalID: r.id, Type: r.typ, Line: r.key.Line,
					Reason: "its Condition " + c.Value + " is false"})
				continue
			}
		}
		props := r.props
		if r.typ == "AWS::Serverless::Function" && t.globals != nil {
			props = mergeGlobals(ignoreGlobals(t.globals, r.attrs["IgnoreGlobals"]), props)
		}
		if props == nil || props.Kind != yaml.MappingNode {
			props = &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", Line: r.key.Line}
		}
		// SAM Events are not the resource's own properties: those that are rules or schedules
		// are translated on their own, the others listed as skipped.
		var samEvents []samEvent
		if list := mapGet(props, "Events"); list != nil && strings.HasPrefix(r.typ, "AWS::Serverless::") {
			var err error
			if samEvents, err = t.samEvents(proj, r, list); err != nil {
				return err
			}
			props = without(props, "Events")
		}
		ev, err := t.eval(props, "Resources."+r.id+".Properties", 0)
		if err != nil {
			return err
		}
		if ev == noValue {
			ev = &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", Line: r.key.Line}
		}
		name, err := t.physicalName(r, 0)
		if err != nil {
			return err
		}
		for _, se := range samEvents {
			later = append(later, func() error { return t.samEvent(proj, r, name, se) })
		}
		key := &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: name, Line: r.key.Line}
		switch r.typ {
		case "AWS::Serverless::Function", "AWS::Lambda::Function":
			err = t.function(proj, r, name, key, ev)
		case "AWS::Serverless::StateMachine", "AWS::StepFunctions::StateMachine":
			err = t.stateMachine(proj, r, name, key, ev)
		case "AWS::S3::Bucket":
			err = t.bucket(proj, r, name, key)
		case "AWS::Glue::Database", "AWS::Glue::Crawler", "AWS::Glue::Job":
			err = t.glue(proj, r, name, key, ev)
		case "AWS::Scheduler::Schedule":
			err = t.schedule(proj, r, name, key, ev)
		case "AWS::Events::Rule":
			later = append(later, func() error { return t.eventsRule(proj, r, name, key, ev) })
		}
		if err != nil {
			return err
		}
	}
	for _, f := range later {
		if err := f(); err != nil {
			return err
		}
	}
	return nil
}

// mergeGlobals merges SAM's Globals.Function into a function's properties: mappings key by
// key, lists one after the other, the function's own scalars winning.
func mergeGlobals(global, local *yaml.Node) *yaml.Node {
	global, local = resolve(global), resolve(local)
	if local == nil || local.ShortTag() == "!!null" {
		return global
	}
	if global == nil || global.Kind != local.Kind || global.Tag != local.Tag || isIntrinsic(global) || isIntrinsic(local) {
		return local
	}
	switch local.Kind {
	case yaml.MappingNode:
		out := &yaml.Node{Kind: yaml.MappingNode, Tag: local.Tag, Line: local.Line, Column: local.Column}
		for i := 0; i+1 < len(global.Content); i += 2 {
			k := global.Content[i]
			v := global.Content[i+1]
			if lv := mapGet(local, k.Value); lv != nil {
				v = mergeGlobals(v, lv)
			}
			out.Content = append(out.Content, k, v)
		}
		for i := 0; i+1 < len(local.Content); i += 2 {
			if mapGet(global, local.Content[i].Value) == nil {
				out.Content = append(out.Content, local.Content[i], local.Content[i+1])
			}
		}
		return out
	case yaml.SequenceNode:
		out := *local
		out.Content = append(slices.Clone(global.Content), local.Content...)
		return &out
	}
	return local
}

// ignoreGlobals is globals without what a resource's IgnoreGlobals names: "*" for all, or a
// list of property names.
func ignoreGlobals(globals, ignore *yaml.Node) *yaml.Node {
	switch {
	case ignore == nil:
		return globals
	case ignore.Kind == yaml.ScalarNode && ignore.Value == "*":
		return nil
	case ignore.Kind == yaml.SequenceNode:
		for _, c := range ignore.Content {
			globals = without(globals, c.Value)
		}
	}
	return globals
}

// isIntrinsic reports whether n is an intrinsic function's call ({Ref: X}, {Fn::…: …}), a
// value that merges as a whole.
func isIntrinsic(n *yaml.Node) bool {
	if n.Kind != yaml.MappingNode || len(n.Content) != 2 {
		return false
	}
	k := n.Content[0].Value
	return k == "Ref" || strings.HasPrefix(k, "Fn::")
}

// without is mapping n without key.
func without(n *yaml.Node, key string) *yaml.Node {
	out := *n
	out.Content = nil
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value != key {
			out.Content = append(out.Content, n.Content[i], n.Content[i+1])
		}
	}
	return &out
}

// localPath is a path the template names relative to its folder (or, in a CDK app, to
// cdk.out), for the entry to name: made absolute, so that the parser reads it as is.
func (t *tmpl) localPath(p string) string {
	if filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(t.p.dir, p)
}

// s3Location resolves {Bucket, Key} (or {S3Bucket, S3Key}) that a CDK app wrote for one of
// its assets to the asset's local path; what is not an asset is an error: the object lives
// in S3, not here.
func (t *tmpl) s3Location(r *resource, n *yaml.Node, path, bucketKey, keyKey string) (string, error) {
	if meta := mapGet(r.attrs["Metadata"], "aws:asset:path"); meta != nil && meta.Kind == yaml.ScalarNode && t.cdkOut != "" {
		return filepath.Join(t.cdkOut, meta.Value), nil
	}
	key := mapGet(n, keyKey)
	if key != nil && key.Kind == yaml.ScalarNode {
		if p, ok := t.assets[key.Value]; ok {
			return p, nil
		}
	}
	bucket := mapGet(n, bucketKey)
	where := "an S3 object"
	if bucket != nil && key != nil {
		where = "s3://" + bucket.Value + "/" + key.Value
	}
	return "", t.p.errAt(n, path, "%s is not on this machine: Stepline reads local paths (the template before `sam package`, or a CDK asset)", where)
}

// cdkAssets reads the asset manifests beside a CDK template: S3 object key → local path.
func cdkAssets(file string) map[string]string {
	out := map[string]string{}
	dir := filepath.Dir(file)
	manifests, _ := filepath.Glob(filepath.Join(dir, "*.assets.json"))
	for _, m := range manifests {
		b, err := os.ReadFile(m)
		if err != nil {
			continue
		}
		var man struct {
			Files map[string]struct {
				Source struct {
					Path string `json:"path"`
				} `json:"source"`
				Destinations map[string]struct {
					ObjectKey string `json:"objectKey"`
				} `json:"destinations"`
			} `json:"files"`
		}
		if json.Unmarshal(b, &man) != nil {
			continue
		}
		for _, f := range man.Files {
			for _, d := range f.Destinations {
				if f.Source.Path != "" && d.ObjectKey != "" {
					out[d.ObjectKey] = filepath.Join(dir, f.Source.Path)
				}
			}
		}
	}
	return out
}

func (t *tmpl) function(proj *Project, r *resource, name string, key, props *yaml.Node) error {
	path := "Resources." + r.id + ".Properties"
	codeKey := "CodeUri"
	if r.typ == "AWS::Lambda::Function" {
		codeKey = "Code"
	}
	t.keys["functions."+name] = entryKeys{id: r.id, props: map[string]string{"code": codeKey, "environment": "Environment.Variables"}}
	if pt := mapGet(props, "PackageType"); pt != nil && pt.Value == "Image" {
		return t.p.errAt(pt, path+".PackageType", "container image functions are not run: Stepline runs zip functions (python, nodejs, provided)")
	}
	e := newEntry(r.key.Line)
	for _, k := range []string{"Runtime", "Handler", "Description"} {
		e.set(strings.ToLower(k[:1])+k[1:], mapGet(props, k), false)
	}
	e.set("timeout", mapGet(props, "Timeout"), true)
	e.set("memorySize", mapGet(props, "MemorySize"), true)
	if env := mapGet(props, "Environment"); env != nil {
		e.set("environment", mapGet(env, "Variables"), false)
	}
	var code string
	codeNode := mapGet(props, codeKey)
	switch {
	case r.typ == "AWS::Serverless::Function" && mapGet(props, "InlineCode") != nil:
		n := mapGet(props, "InlineCode")
		p, err := t.inlineCode(r, props, n, path+".InlineCode")
		if err != nil {
			return err
		}
		code, codeNode, codeKey = p, n, "InlineCode"
	case codeNode == nil && r.typ == "AWS::Serverless::Function":
		return t.p.errAt(r.key, path+".CodeUri", "missing: the function's code folder")
	case codeNode == nil:
		return t.p.errAt(r.key, path+".Code", "missing: the function's code")
	case codeNode.Kind == yaml.ScalarNode:
		code = t.localPath(codeNode.Value)
	case mapGet(codeNode, "ZipFile") != nil:
		p, err := t.inlineCode(r, props, mapGet(codeNode, "ZipFile"), path+".Code.ZipFile")
		if err != nil {
			return err
		}
		code = p
	case mapGet(codeNode, "ImageUri") != nil:
		return t.p.errAt(codeNode, path+".Code.ImageUri", "container image functions are not run: Stepline runs zip functions")
	default:
		bk, kk := "Bucket", "Key"
		if r.typ == "AWS::Lambda::Function" {
			bk, kk = "S3Bucket", "S3Key"
		}
		p, err := t.s3Location(r, codeNode, path+"."+codeKey, bk, kk)
		if err != nil {
			return err
		}
		code = p
	}
	if st, err := os.Stat(code); err == nil && st.Mode().IsRegular() {
		return t.p.errAt(codeNode, path+"."+codeKey, "%s is a file: Stepline packages code from a folder (unzip it, or name its folder)", filepath.Base(code))
	}
	// The entry names the folder relative to the template, as errors then show it.
	if rel, err := filepath.Rel(t.p.dir, code); err == nil && !strings.HasPrefix(rel, "..") {
		code = rel
	}
	at := &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: code, Line: codeNode.Line}
	e.set("code", at, false)
	fn, err := t.p.function(name, key, e.n)
	if err != nil {
		return err
	}
	proj.Functions = append(proj.Functions, fn)
	return nil
}

// inlineCode writes a function's inline source (SAM's InlineCode, Code.ZipFile) as its
// handler's module, index.py or index.js, into a folder of its own under the project's
// .stepline, and returns the folder: packaged as any other, so unchanged source deploys as
// unchanged code. The file is rewritten only when its text changed.
func (t *tmpl) inlineCode(r *resource, props, n *yaml.Node, path string) (string, error) {
	if n.Kind != yaml.ScalarNode {
		return "", t.p.errAt(n, path, "must be the source as a string")
	}
	runtime, handler := mapGet(props, "Runtime"), mapGet(props, "Handler")
	ext := ""
	switch {
	case runtime != nil && strings.HasPrefix(runtime.Value, "python"):
		ext = ".py"
	case runtime != nil && strings.HasPrefix(runtime.Value, "nodejs"):
		ext = ".js"
	default:
		return "", t.p.errAt(n, path, "inline code runs on a python or nodejs runtime")
	}
	module := "index"
	if handler != nil {
		if m, _, ok := cutLast(handler.Value); ok && !strings.ContainsAny(m, "/\\") && m != ".." {
			module = m
		}
	}
	dir := filepath.Join(t.projDir, ".stepline", "inline", r.id)
	file := filepath.Join(dir, strings.ReplaceAll(module, ".", "/")+ext)
	if old, err := os.ReadFile(file); err == nil && string(old) == n.Value {
		return dir, nil
	}
	if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
		return "", t.p.errAt(n, path, "%v", err)
	}
	if err := os.WriteFile(file, []byte(n.Value), 0o644); err != nil {
		return "", t.p.errAt(n, path, "%v", err)
	}
	return dir, nil
}

func (t *tmpl) stateMachine(proj *Project, r *resource, name string, key, props *yaml.Node) error {
	path := "Resources." + r.id + ".Properties"
	sam := r.typ == "AWS::Serverless::StateMachine"
	typeKey, roleKey := "StateMachineType", "RoleArn"
	if sam {
		typeKey, roleKey = "Type", "Role"
	}
	defKeys := []string{"Definition", "DefinitionString", "DefinitionS3Location"}
	if sam {
		defKeys = []string{"Definition", "DefinitionUri"}
	}
	defKey := ""
	for _, k := range defKeys {
		if mapGet(props, k) != nil {
			if defKey != "" {
				return t.p.errAt(mapGet(props, k), path+"."+k, "give one of %s and %s, not both", defKey, k)
			}
			defKey = k
		}
	}
	t.keys["stateMachines."+name] = entryKeys{id: r.id, props: map[string]string{"definition": defKey, "type": typeKey, "roleArn": roleKey,
		"logging": map[bool]string{true: "Logging", false: "LoggingConfiguration"}[sam]}}
	e := newEntry(r.key.Line)
	e.set("type", mapGet(props, typeKey), false)
	if role := mapGet(props, roleKey); role != nil && role.Kind == yaml.ScalarNode && roleArn.MatchString(role.Value) {
		e.set("roleArn", role, false)
	}
	logKey := "LoggingConfiguration"
	if sam {
		logKey = "Logging"
	}
	if lg := mapGet(props, logKey); lg != nil {
		le := newEntry(lg.Line)
		le.set("level", mapGet(lg, "Level"), false)
		le.set("includeExecutionData", mapGet(lg, "IncludeExecutionData"), true)
		e.set("logging", le.n, false)
	}
	if subs := mapGet(props, "DefinitionSubstitutions"); subs != nil {
		e.set("definitionSubstitutions", subs, false)
	}
	tags := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
	if tg := mapGet(props, "Tags"); tg != nil {
		tags.Line = tg.Line
		switch {
		case sam && tg.Kind == yaml.MappingNode:
			tags.Content = append(tags.Content, tg.Content...)
		case !sam && tg.Kind == yaml.SequenceNode:
			for i, item := range tg.Content {
				k, v := mapGet(item, "Key"), mapGet(item, "Value")
				if k == nil || v == nil {
					return t.p.errAt(item, fmt.Sprintf("%s.Tags[%d]", path, i), "must be {Key, Value}")
				}
				tags.Content = append(tags.Content, k, v)
			}
		default:
			return t.p.errAt(tg, path+".Tags", "must be %s", map[bool]string{true: "a mapping of keys to values", false: "a list of {Key, Value}"}[sam])
		}
	}
	if sam {
		// As SAM tags what it creates.
		tags.Content = append(tags.Content, strNode("stateMachine:createdBy", r.key.Line), strNode("SAM", r.key.Line))
	}
	if len(tags.Content) > 0 {
		e.set("tags", tags, false)
	}
	sm, _, subs, err := t.p.machineSettings(name, key, e.n)
	if err != nil {
		return err
	}
	sm.LogicalID = r.id
	if cp := mapGet(r.attrs["Metadata"], "aws:cdk:path"); cp != nil && cp.Kind == yaml.ScalarNode {
		_, rest, _ := strings.Cut(cp.Value, "/")
		sm.Construct = strings.TrimSuffix(rest, "/Resource")
	}
	rel, _ := filepath.Rel(filepath.Dir(t.p.file), t.p.file)
	var text []byte
	def := mapGet(props, defKey)
	dpath := path + "." + defKey
	switch defKey {
	case "":
		return t.p.errAt(r.key, path+".Definition", "missing: one of %s", strings.Join(defKeys, ", "))
	case "Definition":
		if def.Kind != yaml.MappingNode {
			return t.p.errAt(def, dpath, "must be the definition as a mapping (or give DefinitionString)")
		}
		buf, err := nodeJSON(def)
		if err != nil {
			return t.p.errAt(def, dpath, "%v", err)
		}
		sm.File, text = rel, buf
	case "DefinitionString":
		if def.Kind != yaml.ScalarNode {
			return t.p.errAt(def, dpath, "must be a string")
		}
		sm.File, text = rel, []byte(def.Value)
	default: // DefinitionUri, DefinitionS3Location: a local path, or a CDK asset
		file := ""
		if def.Kind == yaml.ScalarNode {
			file = t.localPath(def.Value)
		} else {
			if file, err = t.s3Location(&resource{attrs: map[string]*yaml.Node{}}, def, dpath, "Bucket", "Key"); err != nil {
				return err
			}
		}
		sm.File, _ = filepath.Rel(filepath.Dir(t.p.file), file)
		if text, err = os.ReadFile(file); err != nil {
			return t.p.errAt(def, dpath, "%s", fileError(sm.File, err))
		}
	}
	if _, err := t.p.machineDefinition(sm, def, "stateMachines."+name+".definition", text, subs); err != nil {
		return err
	}
	proj.StateMachines = append(proj.StateMachines, sm)
	return nil
}

// schedule translates an AWS::Scheduler::Schedule into an entry of schedules, checked as
// stepline.yaml's are; its target is the ARN the template gives (a state machine's Ref).
func (t *tmpl) schedule(proj *Project, r *resource, name string, key, props *yaml.Node) error {
	t.keys["schedules."+name] = entryKeys{id: r.id, props: map[string]string{"expression": "ScheduleExpression",
		"timezone": "ScheduleExpressionTimezone", "target": "Target.Arn", "input": "Target.Input", "group": "GroupName",
		"flexibleWindow": "FlexibleTimeWindow.MaximumWindowInMinutes", "retryPolicy": "Target.RetryPolicy"}}
	e := newEntry(r.key.Line)
	e.set("expression", mapGet(props, "ScheduleExpression"), false)
	e.set("timezone", mapGet(props, "ScheduleExpressionTimezone"), false)
	e.set("state", mapGet(props, "State"), false)
	e.set("group", mapGet(props, "GroupName"), false)
	e.set("startDate", mapGet(props, "StartDate"), false)
	e.set("endDate", mapGet(props, "EndDate"), false)
	e.set("actionAfterCompletion", mapGet(props, "ActionAfterCompletion"), false)
	e.set("description", mapGet(props, "Description"), false)
	if fw := mapGet(props, "FlexibleTimeWindow"); fw != nil {
		if m := mapGet(fw, "Mode"); m != nil && m.Value == "FLEXIBLE" {
			e.set("flexibleWindow", mapGet(fw, "MaximumWindowInMinutes"), true)
		}
	}
	tg := mapGet(props, "Target")
	if tg == nil {
		return t.p.errAt(r.key, "Resources."+r.id+".Properties.Target", "missing")
	}
	e.set("target", mapGet(tg, "Arn"), false)
	e.set("input", mapGet(tg, "Input"), false)
	if rp := mapGet(tg, "RetryPolicy"); rp != nil {
		re := newEntry(rp.Line)
		re.set("maximumEventAgeInSeconds", mapGet(rp, "MaximumEventAgeInSeconds"), true)
		re.set("maximumRetryAttempts", mapGet(rp, "MaximumRetryAttempts"), true)
		e.set("retryPolicy", re.n, false)
	}
	s, err := t.p.schedule(name, key, e.n)
	if err != nil {
		return err
	}
	proj.Schedules = append(proj.Schedules, s)
	return nil
}

// nodeJSON writes an evaluated mapping as JSON, in the template's key order.
func nodeJSON(n *yaml.Node) ([]byte, error) {
	var b bytes.Buffer
	if err := writeJSON(&b, n, 0); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

func (t *tmpl) bucket(proj *Project, r *resource, name string, key *yaml.Node) error {
	t.keys["buckets."+name] = entryKeys{id: r.id, props: map[string]string{"from": "Metadata.stepline.from"}}
	v := &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!null", Line: r.key.Line}
	// Metadata: {stepline: {from: FOLDER}} fills the bucket from a folder, as
	// stepline.yaml's from does; CloudFormation ignores it.
	if from := mapGet(mapGet(r.attrs["Metadata"], "stepline"), "from"); from != nil {
		e := newEntry(r.key.Line)
		e.set("from", from, false)
		v = e.n
	}
	b, err := t.p.bucket(name, key, v)
	if err != nil {
		return err
	}
	proj.Buckets = append(proj.Buckets, b)
	return nil
}

// glue translates a Glue database, crawler or job.
func (t *tmpl) glue(proj *Project, r *resource, name string, key, props *yaml.Node) error {
	e := newEntry(r.key.Line)
	switch r.typ {
	case "AWS::Glue::Database":
		t.keys["glue.databases."+name] = entryKeys{id: r.id, props: map[string]string{"description": "DatabaseInput.Description",
			"locationUri": "DatabaseInput.LocationUri", "parameters": "DatabaseInput.Parameters"}}
		in := mapGet(props, "DatabaseInput")
		if in == nil {
			return t.p.errAt(r.key, "Resources."+r.id+".Properties.DatabaseInput", "missing")
		}
		e.set("description", mapGet(in, "Description"), false)
		e.set("locationUri", mapGet(in, "LocationUri"), false)
		e.set("parameters", mapGet(in, "Parameters"), false)
		if len(e.n.Content) == 0 {
			e.n = &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!null", Line: r.key.Line}
		}
		d, err := t.p.glueDatabase(name, key, e.n)
		if err != nil {
			return err
		}
		proj.Glue.Databases = append(proj.Glue.Databases, d)
	case "AWS::Glue::Crawler":
		t.keys["glue.crawlers."+name] = entryKeys{id: r.id, props: map[string]string{}}
		for _, k := range []string{"DatabaseName", "Role", "Description", "TablePrefix"} {
			e.set(strings.ToLower(k[:1])+k[1:], mapGet(props, k), false)
		}
		if tg := mapGet(props, "Targets"); tg != nil {
			te := newEntry(tg.Line)
			if s3 := mapGet(tg, "S3Targets"); s3 != nil {
				list := &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq", Line: s3.Line}
				for _, item := range s3.Content {
					ie := newEntry(item.Line)
					ie.set("path", mapGet(item, "Path"), false)
					ie.set("exclusions", mapGet(item, "Exclusions"), false)
					list.Content = append(list.Content, ie.n)
				}
				te.set("s3Targets", list, false)
			}
			e.set("targets", te.n, false)
		}
		if sc := mapGet(props, "SchemaChangePolicy"); sc != nil {
			se := newEntry(sc.Line)
			se.set("updateBehavior", mapGet(sc, "UpdateBehavior"), false)
			se.set("deleteBehavior", mapGet(sc, "DeleteBehavior"), false)
			e.set("schemaChangePolicy", se.n, false)
		}
		c, err := t.p.glueCrawler(name, key, e.n)
		if err != nil {
			return err
		}
		proj.Glue.Crawlers = append(proj.Glue.Crawlers, c)
	case "AWS::Glue::Job":
		t.keys["glue.jobs."+name] = entryKeys{id: r.id, props: map[string]string{"maxConcurrentRuns": "ExecutionProperty.MaxConcurrentRuns"}}
		if cmd := mapGet(props, "Command"); cmd != nil {
			ce := newEntry(cmd.Line)
			ce.set("name", mapGet(cmd, "Name"), false)
			ce.set("scriptLocation", mapGet(cmd, "ScriptLocation"), false)
			ce.set("pythonVersion", mapGet(cmd, "PythonVersion"), false)
			e.set("command", ce.n, false)
		}
		e.set("defaultArguments", mapGet(props, "DefaultArguments"), false)
		e.set("timeout", mapGet(props, "Timeout"), true)
		e.set("maxRetries", mapGet(props, "MaxRetries"), true)
		e.set("maxConcurrentRuns", mapGet(mapGet(props, "ExecutionProperty"), "MaxConcurrentRuns"), true)
		e.set("role", mapGet(props, "Role"), false)
		e.set("description", mapGet(props, "Description"), false)
		j, err := t.p.glueJob(name, key, e.n)
		if err != nil {
			return err
		}
		proj.Glue.Jobs = append(proj.Glue.Jobs, j)
	}
	return nil
}
