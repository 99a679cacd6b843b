package project

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	goparser "go/parser"
	"go/token"
	"math"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/stepline/stepline/internal/asl"
)

// parser reads one project file; every error it returns is an *Error.
type parser struct {
	file, dir string
	// rename turns a key path of stepline.yaml's shape into the one the file has (a
	// template's Resources.ID.Properties.X); nil for stepline.yaml itself.
	rename func(string) string
}

func (p *parser) errAt(n *yaml.Node, key, format string, args ...any) *Error {
	line := 0
	if n != nil {
		line = n.Line
	}
	if p.rename != nil {
		key = p.rename(key)
	}
	return &Error{File: p.file, Line: line, Key: key, Msg: fmt.Sprintf(format, args...)}
}

var yamlLine = regexp.MustCompile(`^yaml: line (\d+): `)

// yamlError turns a YAML syntax error into one line with its line number.
func (p *parser) yamlError(err error) *Error {
	msg := strings.ReplaceAll(err.Error(), "\n", " ")
	e := &Error{File: p.file, Msg: msg}
	if m := yamlLine.FindStringSubmatch(msg); m != nil {
		e.Line, _ = strconv.Atoi(m[1])
		e.Msg = "invalid YAML: " + msg[len(m[0]):]
	} else {
		e.Msg = "invalid YAML: " + strings.TrimPrefix(msg, "yaml: ")
	}
	return e
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// resolve follows an alias to the node it names.
func resolve(n *yaml.Node) *yaml.Node {
	for i := 0; n != nil && n.Kind == yaml.AliasNode && i < 100; i++ {
		n = n.Alias
	}
	return n
}

// fields checks that n is a mapping whose keys are all known, each once, and returns the
// values by key.
func (p *parser) fields(n *yaml.Node, path string, known []string) (map[string]*yaml.Node, error) {
	n = resolve(n)
	if n == nil || n.Kind != yaml.MappingNode {
		if path == "" {
			return nil, p.errAt(n, "", "the project file must be a mapping of sections (%s)", strings.Join(known, ", "))
		}
		return nil, p.errAt(n, path, "must be a mapping of %s", strings.Join(known, ", "))
	}
	out := map[string]*yaml.Node{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if !slices.Contains(known, k.Value) {
			return nil, p.errAt(k, join(path, k.Value), "unknown key (known: %s)", strings.Join(known, ", "))
		}
		if _, dup := out[k.Value]; dup {
			return nil, p.errAt(k, join(path, k.Value), "given twice")
		}
		out[k.Value] = resolve(v)
	}
	return out, nil
}

// entries calls f for each name → value of a mapping of named entries, refusing duplicates.
func (p *parser) entries(n *yaml.Node, path string, f func(name string, key, v *yaml.Node) error) error {
	n = resolve(n)
	if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null" {
		return nil
	}
	if n.Kind != yaml.MappingNode {
		return p.errAt(n, path, "must be a mapping of names to entries")
	}
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if seen[k.Value] {
			return p.errAt(k, join(path, k.Value), "declared twice")
		}
		seen[k.Value] = true
		if err := f(k.Value, k, resolve(v)); err != nil {
			return err
		}
	}
	return nil
}

// str reads a scalar as a string.
func (p *parser) str(n *yaml.Node, key string) (string, error) {
	if n.Kind != yaml.ScalarNode || n.ShortTag() == "!!null" {
		return "", p.errAt(n, key, "must be a string")
	}
	return n.Value, nil
}

// integer reads a whole number within [lo, hi].
func (p *parser) integer(n *yaml.Node, key string, lo, hi int) (int, error) {
	v, err := strconv.Atoi(n.Value)
	if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!int" || err != nil {
		return 0, p.errAt(n, key, "must be a whole number, not %q", n.Value)
	}
	if v < lo || v > hi {
		return 0, p.errAt(n, key, "must be between %d and %d, not %d", lo, hi, v)
	}
	return v, nil
}

// strings reads a mapping of names to scalars.
func (p *parser) stringMap(n *yaml.Node, key string) (map[string]string, error) {
	if n.Kind != yaml.MappingNode {
		return nil, p.errAt(n, key, "must be a mapping of names to values")
	}
	out := map[string]string{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], resolve(n.Content[i+1])
		if _, dup := out[k.Value]; dup {
			return nil, p.errAt(k, join(key, k.Value), "given twice")
		}
		if v.Kind != yaml.ScalarNode {
			return nil, p.errAt(v, join(key, k.Value), "must be a string, number or boolean")
		}
		out[k.Value] = v.Value
	}
	return out, nil
}

// validName is Step Functions' rule for a state machine name (as package service checks it):
// 1 to 80 characters, no white space, brackets, wildcards or the specials "#%\^|~`$&,;:/.
func validName(name string) bool {
	if name == "" || len([]rune(name)) > 80 {
		return false
	}
	for _, r := range name {
		if r <= 0x20 || (r >= 0x7f && r <= 0xa0) || strings.ContainsRune("<>{}[]?*\"#%\\^|~`$&,;:/", r) {
			return false
		}
	}
	return true
}

var (
	functionName = regexp.MustCompile(`^[a-zA-Z0-9_-]{1,64}$`)
	variableName = regexp.MustCompile(`^[a-zA-Z]([a-zA-Z0-9_])+$`)
	roleArn      = regexp.MustCompile(`^arn:(aws[a-zA-Z-]*)?:iam::\d{12}:role/?[a-zA-Z_0-9+=,.@\-_/]+$`)
	substitution = regexp.MustCompile(`\$\{([^}]*)\}`)
)

// runtimes are those Stepline runs (as package lambda accepts them).
var runtimes = []string{"provided.al2023", "provided.al2", "python3.9", "python3.10", "python3.11", "python3.12",
	"python3.13", "nodejs18.x", "nodejs20.x", "nodejs22.x"}

// reservedVariables are set by Lambda itself (as package lambda refuses them).
var reservedVariables = []string{"_HANDLER", "_X_AMZN_TRACE_ID", "AWS_DEFAULT_REGION", "AWS_REGION",
	"AWS_EXECUTION_ENV", "AWS_LAMBDA_FUNCTION_NAME", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
	"AWS_LAMBDA_FUNCTION_VERSION", "AWS_LAMBDA_INITIALIZATION_TYPE", "AWS_LAMBDA_LOG_GROUP_NAME",
	"AWS_LAMBDA_LOG_STREAM_NAME", "AWS_ACCESS_KEY", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY",
	"AWS_SESSION_TOKEN", "AWS_LAMBDA_RUNTIME_API", "LAMBDA_TASK_ROOT", "LAMBDA_RUNTIME_DIR"}

var (
	stateMachineKeys = []string{"definition", "type", "definitionSubstitutions", "tags", "logging", "roleArn"}
	loggingKeys      = []string{"level", "includeExecutionData"}
	functionKeys     = []string{"code", "runtime", "handler", "environment", "timeout", "memorySize", "description",
		"endpoint", "region", "functionName"}
)

// maxDefinition is AWS's bound on a definition's size (characters).
const maxDefinition = 1 << 20

func (p *parser) stateMachine(name string, key, v *yaml.Node) (*StateMachine, error) {
	sm, f, subs, err := p.machineSettings(name, key, v)
	if err != nil {
		return nil, err
	}
	path := "stateMachines." + name
	n := f["definition"]
	if n == nil {
		return nil, p.errAt(v, path+".definition", "missing: the definition file (JSON or YAML), relative to the project folder")
	}
	if sm.File, err = p.str(n, path+".definition"); err != nil {
		return nil, err
	}
	text, err := os.ReadFile(p.path(sm.File))
	if err != nil {
		return nil, p.errAt(n, path+".definition", "%s", fileError(sm.File, err))
	}
	return p.machineDefinition(sm, n, path+".definition", text, subs)
}

// machineSettings reads a state machine's entry but its definition: type, role, tags,
// logging; it returns the entry's fields and the substitutions.
func (p *parser) machineSettings(name string, key, v *yaml.Node) (*StateMachine, map[string]*yaml.Node, map[string]string, error) {
	path := "stateMachines." + name
	if !validName(name) {
		return nil, nil, nil, p.errAt(key, path, "invalid state machine name: 1 to 80 characters, without white space or any of <>{}[]?*\"#%%\\^|~`$&,;:/")
	}
	f, err := p.fields(v, path, stateMachineKeys)
	if err != nil {
		return nil, nil, nil, err
	}
	sm := &StateMachine{Name: name, Type: asl.Standard, LoggingLevel: "OFF", line: key.Line}
	if n := f["type"]; n != nil {
		switch n.Value {
		case "STANDARD":
		case "EXPRESS":
			sm.Type = asl.Express
		default:
			return nil, nil, nil, p.errAt(n, path+".type", "must be STANDARD or EXPRESS, not %q", n.Value)
		}
	}
	if n := f["roleArn"]; n != nil {
		if sm.RoleArn, err = p.str(n, path+".roleArn"); err != nil {
			return nil, nil, nil, err
		}
		if !roleArn.MatchString(sm.RoleArn) {
			return nil, nil, nil, p.errAt(n, path+".roleArn", "not an IAM role ARN: %q", sm.RoleArn)
		}
	}
	if n := f["tags"]; n != nil {
		if sm.Tags, err = p.stringMap(n, path+".tags"); err != nil {
			return nil, nil, nil, err
		}
		if len(sm.Tags) > 50 {
			return nil, nil, nil, p.errAt(n, path+".tags", "at most 50 tags, not %d", len(sm.Tags))
		}
	}
	if n := f["logging"]; n != nil {
		lf, err := p.fields(n, path+".logging", loggingKeys)
		if err != nil {
			return nil, nil, nil, err
		}
		if l := lf["level"]; l != nil {
			if !slices.Contains([]string{"ALL", "ERROR", "FATAL", "OFF"}, l.Value) {
				return nil, nil, nil, p.errAt(l, path+".logging.level", "must be ALL, ERROR, FATAL or OFF, not %q", l.Value)
			}
			sm.LoggingLevel = l.Value
		}
		if d := lf["includeExecutionData"]; d != nil {
			if d.ShortTag() != "!!bool" {
				return nil, nil, nil, p.errAt(d, path+".logging.includeExecutionData", "must be true or false, not %q", d.Value)
			}
			sm.IncludeExecutionData = d.Value == "true" || d.Value == "True" || d.Value == "TRUE"
		}
	}
	subs := map[string]string{}
	if n := f["definitionSubstitutions"]; n != nil {
		if subs, err = p.stringMap(n, path+".definitionSubstitutions"); err != nil {
			return nil, nil, nil, err
		}
	}
	return sm, f, subs, nil
}

// machineDefinition substitutes, converts (YAML to JSON) and parses the text of sm's
// definition, read from sm.File; errors point at n and key.
func (p *parser) machineDefinition(sm *StateMachine, n *yaml.Node, key string, text []byte, subs map[string]string) (*StateMachine, error) {
	var err error
	text = substitution.ReplaceAllFunc(text, func(m []byte) []byte {
		if s, ok := subs[string(m[2:len(m)-1])]; ok {
			return []byte(s)
		}
		return m
	})
	if isYAML(sm.File, text) {
		if text, err = yamlToJSON(text); err != nil {
			return nil, p.errAt(n, key, "%s: %v", sm.File, err)
		}
	}
	if len(text) > maxDefinition {
		return nil, p.errAt(n, key, "%s: the definition is over AWS's %d characters", sm.File, maxDefinition)
	}
	sm.Definition = string(text)
	if sm.Parsed, err = asl.Parse(text, asl.ParseOptions{Type: sm.Type}); err != nil {
		return nil, p.errAt(n, key, "%s: %s", sm.File, diagnostics(err))
	}
	return sm, nil
}

// path is a file named in the project: relative to the project folder unless absolute.
func (p *parser) path(name string) string {
	if filepath.IsAbs(name) {
		return name
	}
	return filepath.Join(p.dir, name)
}

// fileError words a file that cannot be read, without repeating the absolute path.
func fileError(name string, err error) string {
	switch {
	case errors.Is(err, os.ErrNotExist):
		return name + ": no such file"
	case errors.Is(err, os.ErrPermission):
		return name + ": permission denied"
	}
	var pe *os.PathError
	if errors.As(err, &pe) {
		return name + ": " + pe.Err.Error()
	}
	return err.Error()
}

// diagnostics words a definition's errors as `stepline validate` prints them, on one line.
func diagnostics(err error) string {
	var de *asl.DefinitionError
	if !errors.As(err, &de) {
		return err.Error()
	}
	lines := make([]string, len(de.Diagnostics))
	for i, d := range de.Diagnostics {
		lines[i] = d.Code + ": " + d.Message
		if d.Location != "" {
			lines[i] += " at " + d.Location
		}
	}
	return strings.Join(lines, "; ")
}

// isYAML tells a YAML definition from a JSON one, by its extension, else by its first character.
func isYAML(name string, text []byte) bool {
	switch strings.ToLower(filepath.Ext(name)) {
	case ".json":
		return false
	case ".yaml", ".yml":
		return true
	}
	t := bytes.TrimSpace(text)
	return len(t) == 0 || t[0] != '{'
}

func (p *parser) function(name string, key, v *yaml.Node) (*Function, error) {
	path := "functions." + name
	if !functionName.MatchString(name) {
		return nil, p.errAt(key, path, "invalid function name: 1 to 64 letters, digits, - or _")
	}
	f, err := p.fields(v, path, functionKeys)
	if err != nil {
		return nil, err
	}
	fn := &Function{Name: name, line: key.Line}
	if n := f["endpoint"]; n != nil {
		return p.remoteFunction(fn, path, f, n)
	}
	for _, k := range []string{"region", "functionName"} {
		if n := f[k]; n != nil {
			return nil, p.errAt(n, path+"."+k, "only with endpoint")
		}
	}
	if n := f["description"]; n != nil {
		if fn.Description, err = p.str(n, path+".description"); err != nil {
			return nil, err
		}
	}
	if n := f["timeout"]; n != nil {
		if fn.Timeout, err = p.integer(n, path+".timeout", 1, 900); err != nil {
			return nil, err
		}
	}
	if n := f["memorySize"]; n != nil {
		if fn.MemorySize, err = p.integer(n, path+".memorySize", 128, 10240); err != nil {
			return nil, err
		}
	}
	if n := f["environment"]; n != nil {
		if fn.Environment, err = p.stringMap(n, path+".environment"); err != nil {
			return nil, err
		}
		for i := 0; i < len(n.Content); i += 2 {
			k := n.Content[i]
			if !variableName.MatchString(k.Value) {
				return nil, p.errAt(k, path+".environment."+k.Value, "invalid variable name: a letter, then letters, digits or _")
			}
			if slices.Contains(reservedVariables, k.Value) {
				return nil, p.errAt(k, path+".environment."+k.Value, "reserved: Lambda sets it")
			}
		}
	}
	n := f["runtime"]
	if n == nil {
		return nil, p.errAt(v, path+".runtime", "missing (one of %s)", strings.Join(runtimes, ", "))
	}
	if fn.Runtime, err = p.str(n, path+".runtime"); err != nil {
		return nil, err
	}
	if !slices.Contains(runtimes, fn.Runtime) {
		return nil, p.errAt(n, path+".runtime", "unsupported runtime %q (Stepline runs %s)", fn.Runtime, strings.Join(runtimes, ", "))
	}
	provided := strings.HasPrefix(fn.Runtime, "provided")
	n = f["handler"]
	switch {
	case n != nil:
		if fn.Handler, err = p.str(n, path+".handler"); err != nil {
			return nil, err
		}
	case provided:
		fn.Handler = "bootstrap"
	default:
		return nil, p.errAt(v, path+".handler", "missing: the handler, such as app.handler")
	}
	codeNode := f["code"]
	if codeNode == nil {
		return nil, p.errAt(v, path+".code", "missing: the function's code folder, or an endpoint")
	}
	code, err := p.str(codeNode, path+".code")
	if err != nil {
		return nil, err
	}
	fn.Code = p.path(code)
	if abs, err := filepath.Abs(fn.Code); err == nil {
		fn.Code = abs
	}
	st, err := os.Stat(fn.Code)
	if err != nil {
		return nil, p.errAt(codeNode, path+".code", "%s", fileError(code, err))
	}
	if !st.IsDir() {
		return nil, p.errAt(codeNode, path+".code", "%s is not a folder", code)
	}
	if msg := p.checkCode(fn, code); msg != "" {
		return nil, p.errAt(codeNode, path+".code", "%s", msg)
	}
	return fn, nil
}

// checkCode checks that the code folder holds what the runtime starts, and finds Go main
// packages; it returns what is missing, or "".
func (p *parser) checkCode(fn *Function, code string) string {
	switch {
	case strings.HasPrefix(fn.Runtime, "provided"):
		if goMain(fn.Code) {
			fn.GoMain = true
			return ""
		}
		if st, err := os.Stat(filepath.Join(fn.Code, "bootstrap")); err != nil || st.IsDir() {
			return code + " holds neither an executable bootstrap nor a Go main package (*.go files of package main)"
		}
	case strings.HasPrefix(fn.Runtime, "python"):
		mod, _, ok := cutLast(fn.Handler)
		if !ok {
			return fmt.Sprintf("handler %q is not module.function", fn.Handler)
		}
		file := strings.ReplaceAll(mod, ".", "/") + ".py"
		if _, err := os.Stat(filepath.Join(fn.Code, file)); err != nil {
			return fmt.Sprintf("handler %q: no %s in %s", fn.Handler, file, code)
		}
	case strings.HasPrefix(fn.Runtime, "nodejs"):
		mod, _, ok := cutLast(fn.Handler)
		if !ok {
			return fmt.Sprintf("handler %q is not module.function", fn.Handler)
		}
		for _, ext := range []string{".js", ".mjs", ".cjs"} {
			if _, err := os.Stat(filepath.Join(fn.Code, mod+ext)); err == nil {
				return ""
			}
		}
		return fmt.Sprintf("handler %q: no %s.js, .mjs or .cjs in %s", fn.Handler, mod, code)
	}
	return ""
}

// cutLast splits a handler at its last dot: module and function.
func cutLast(h string) (string, string, bool) {
	i := strings.LastIndexByte(h, '.')
	if i <= 0 || i == len(h)-1 {
		return "", "", false
	}
	return h[:i], h[i+1:], true
}

// goMain reports whether dir holds a Go main package: a .go file (not a test) of package main.
func goMain(dir string) bool {
	files, _ := filepath.Glob(filepath.Join(dir, "*.go"))
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		af, err := goparser.ParseFile(token.NewFileSet(), f, nil, goparser.PackageClauseOnly)
		if err == nil && af.Name.Name == "main" {
			return true
		}
	}
	return false
}

func (p *parser) remoteFunction(fn *Function, path string, f map[string]*yaml.Node, n *yaml.Node) (*Function, error) {
	for _, k := range functionKeys {
		if f[k] != nil && !slices.Contains([]string{"endpoint", "region", "functionName", "description"}, k) {
			return nil, p.errAt(f[k], path+"."+k, "not with endpoint: the function runs there")
		}
	}
	var err error
	if fn.Endpoint, err = p.str(n, path+".endpoint"); err != nil {
		return nil, err
	}
	u, err := url.Parse(fn.Endpoint)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, p.errAt(n, path+".endpoint", "must be an http:// or https:// URL, not %q", fn.Endpoint)
	}
	if r := f["region"]; r != nil {
		if fn.Region, err = p.str(r, path+".region"); err != nil {
			return nil, err
		}
	}
	fn.FunctionName = fn.Name
	if r := f["functionName"]; r != nil {
		if fn.FunctionName, err = p.str(r, path+".functionName"); err != nil {
			return nil, err
		}
	}
	if r := f["description"]; r != nil {
		if fn.Description, err = p.str(r, path+".description"); err != nil {
			return nil, err
		}
	}
	return fn, nil
}

// yamlToJSON converts a YAML definition to JSON, keeping key order.
func yamlToJSON(text []byte) ([]byte, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(text, &doc); err != nil {
		return nil, errors.New(strings.ReplaceAll(err.Error(), "\n", " "))
	}
	if len(doc.Content) == 0 {
		return nil, errors.New("the definition is empty")
	}
	var b bytes.Buffer
	if err := writeJSON(&b, doc.Content[0], 0); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// jsonNumber is a number JSON can carry as written.
var jsonNumber = regexp.MustCompile(`^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?$`)

// writeJSON writes n as JSON; depth and the definition bound stop alias bombs.
func writeJSON(b *bytes.Buffer, n *yaml.Node, depth int) error {
	if depth > 200 {
		return errors.New("the definition nests too deep")
	}
	if b.Len() > maxDefinition {
		return fmt.Errorf("the definition is over AWS's %d characters", maxDefinition)
	}
	n = resolve(n)
	if n == nil {
		return errors.New("an alias names nothing")
	}
	switch n.Kind {
	case yaml.MappingNode:
		b.WriteByte('{')
		for i := 0; i+1 < len(n.Content); i += 2 {
			if i > 0 {
				b.WriteByte(',')
			}
			writeString(b, resolve(n.Content[i]).Value)
			b.WriteByte(':')
			if err := writeJSON(b, n.Content[i+1], depth+1); err != nil {
				return err
			}
		}
		b.WriteByte('}')
	case yaml.SequenceNode:
		b.WriteByte('[')
		for i, c := range n.Content {
			if i > 0 {
				b.WriteByte(',')
			}
			if err := writeJSON(b, c, depth+1); err != nil {
				return err
			}
		}
		b.WriteByte(']')
	case yaml.ScalarNode:
		return writeScalar(b, n)
	default:
		return fmt.Errorf("line %d: unexpected YAML node", n.Line)
	}
	return nil
}

func writeScalar(b *bytes.Buffer, n *yaml.Node) error {
	v := n.Value
	switch n.ShortTag() {
	case "!!null":
		b.WriteString("null")
	case "!!bool":
		b.WriteString(strconv.FormatBool(strings.EqualFold(v, "true")))
	case "!!int":
		if jsonNumber.MatchString(v) {
			b.WriteString(v)
			return nil
		}
		i, err := strconv.ParseInt(strings.ReplaceAll(v, "_", ""), 0, 64)
		if err != nil {
			return fmt.Errorf("line %d: %q is not a number JSON can hold", n.Line, v)
		}
		b.WriteString(strconv.FormatInt(i, 10))
	case "!!float":
		if jsonNumber.MatchString(v) {
			b.WriteString(v)
			return nil
		}
		f, err := strconv.ParseFloat(strings.TrimPrefix(v, "+"), 64)
		if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
			return fmt.Errorf("line %d: %q is not a number JSON can hold", n.Line, v)
		}
		b.WriteString(strconv.FormatFloat(f, 'g', -1, 64))
	default:
		writeString(b, v)
	}
	return nil
}

func writeString(b *bytes.Buffer, s string) {
	enc := json.NewEncoder(b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s)       // a string always encodes
	b.Truncate(b.Len() - 1) // Encode's newline
}
