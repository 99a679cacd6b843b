package sandbox

import (
	"context"
	"embed"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// The runtime clients of python3.x and nodejs*: standard library only, written out to a
// directory of the pool's at New (LAMBDA_RUNTIME_DIR).
//
//go:embed runtime/bootstrap.py runtime/bootstrap.js
var runtimeFiles embed.FS

type rtKind int

const (
	kindUnknown rtKind = iota
	kindProvided
	kindPython
	kindNode
)

func runtimeKind(r string) rtKind {
	switch {
	case r == "provided" || r == "provided.al2" || r == "provided.al2023":
		return kindProvided
	case strings.HasPrefix(r, "python3."):
		return kindPython
	case strings.HasPrefix(r, "nodejs"):
		return kindNode
	}
	return kindUnknown
}

func writeRuntimes() (string, error) {
	dir, err := os.MkdirTemp("", "stepline-lambda-runtime-")
	if err != nil {
		return "", fmt.Errorf("sandbox: runtime directory: %w", err)
	}
	for _, name := range []string{"bootstrap.py", "bootstrap.js"} {
		b, err := runtimeFiles.ReadFile("runtime/" + name)
		if err == nil {
			err = os.WriteFile(filepath.Join(dir, name), b, 0o644)
		}
		if err != nil {
			os.RemoveAll(dir)
			return "", fmt.Errorf("sandbox: writing runtime client %s: %w", name, err)
		}
	}
	return dir, nil
}

// interpreter finds python3 or node once. For python3 it asks the interpreter for its real
// executable, so that a pyenv shim (which needs the server's HOME and pyenv variables) is
// not in the way and the interpreter's own site-packages (boto3) stay importable.
func (p *Pool) interpreter(name string) (string, error) {
	p.interpMu.Lock()
	defer p.interpMu.Unlock()
	if path, ok := p.interps[name]; ok {
		return path, nil
	}
	path, err := exec.LookPath(name)
	if err != nil {
		return "", fmt.Errorf("sandbox: %s is needed for this runtime: %w", name, err)
	}
	if name == "python3" {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		out, err := exec.CommandContext(ctx, path, "-c", "import sys; print(sys.executable)").Output()
		if err != nil {
			return "", fmt.Errorf("sandbox: asking %s for its executable: %w", path, err)
		}
		if real := strings.TrimSpace(string(out)); real != "" {
			path = real
		}
	}
	p.interps[name] = path
	return path, nil
}

// reservedEnv are the variables Lambda sets itself; a function's Environment cannot change them.
var reservedEnv = map[string]bool{
	"_HANDLER": true, "_X_AMZN_TRACE_ID": true, "AWS_DEFAULT_REGION": true, "AWS_REGION": true,
	"AWS_EXECUTION_ENV": true, "AWS_LAMBDA_FUNCTION_NAME": true, "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": true,
	"AWS_LAMBDA_FUNCTION_VERSION": true, "AWS_LAMBDA_INITIALIZATION_TYPE": true,
	"AWS_LAMBDA_LOG_GROUP_NAME": true, "AWS_LAMBDA_LOG_STREAM_NAME": true, "AWS_ACCESS_KEY": true,
	"AWS_ACCESS_KEY_ID": true, "AWS_SECRET_ACCESS_KEY": true, "AWS_SESSION_TOKEN": true,
	"AWS_LAMBDA_RUNTIME_API": true, "LAMBDA_TASK_ROOT": true, "LAMBDA_RUNTIME_DIR": true,
}

// command builds the process of spec: its program and Lambda's environment, not the server's.
func (p *Pool) command(spec *Spec, api, stream string) (*exec.Cmd, error) {
	var argv []string
	k := runtimeKind(spec.Runtime)
	switch k {
	case kindProvided:
		argv = []string{filepath.Join(spec.CodeDir, "bootstrap")}
	case kindPython:
		py, err := p.interpreter("python3")
		if err != nil {
			return nil, err
		}
		argv = []string{py, filepath.Join(p.runtimeDir, "bootstrap.py")}
	case kindNode:
		node, err := p.interpreter("node")
		if err != nil {
			return nil, err
		}
		// As Lambda's Node.js bootstrap does, the old generation gets 90% of MemorySize: V8
		// collects garbage before the process reaches its memory limit, instead of growing
		// into it and being killed.
		argv = []string{node, "--max-old-space-size=" + strconv.Itoa(spec.MemoryMB*9/10), filepath.Join(p.runtimeDir, "bootstrap.js")}
	default:
		return nil, fmt.Errorf("sandbox: unsupported runtime %q", spec.Runtime)
	}
	env := map[string]string{
		"PATH": os.Getenv("PATH"),
		"LANG": "en_US.UTF-8",
		"TZ":   ":UTC",
	}
	if k == kindPython {
		// Lambda's task root is read-only: no __pycache__ in CodeDir, which the pool never writes.
		env["PYTHONDONTWRITEBYTECODE"] = "1"
	}
	if p.o.Endpoint != "" {
		env["AWS_ENDPOINT_URL"] = p.o.Endpoint
	}
	if k == kindNode {
		env["NODE_PATH"] = p.runtimeDir + ":" + filepath.Join(spec.CodeDir, "node_modules") + ":" + spec.CodeDir
	}
	for name, v := range spec.Environment {
		if !reservedEnv[name] {
			env[name] = v
		}
	}
	env["AWS_LAMBDA_FUNCTION_NAME"] = spec.Function
	env["AWS_LAMBDA_FUNCTION_VERSION"] = spec.Version
	env["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"] = strconv.Itoa(spec.MemoryMB)
	env["AWS_LAMBDA_LOG_GROUP_NAME"] = "/aws/lambda/" + spec.Function
	env["AWS_LAMBDA_LOG_STREAM_NAME"] = stream
	env["AWS_LAMBDA_INITIALIZATION_TYPE"] = "on-demand"
	env["AWS_REGION"] = p.o.Region
	env["AWS_DEFAULT_REGION"] = p.o.Region
	if k != kindProvided {
		// Lambda leaves it unset for the OS-only runtimes.
		env["AWS_EXECUTION_ENV"] = "AWS_Lambda_" + spec.Runtime
	}
	env["_HANDLER"] = spec.Handler
	env["LAMBDA_TASK_ROOT"] = spec.CodeDir
	env["LAMBDA_RUNTIME_DIR"] = p.runtimeDir
	env["AWS_LAMBDA_RUNTIME_API"] = api
	env["AWS_ACCESS_KEY_ID"] = p.o.AccessKeyID
	env["AWS_SECRET_ACCESS_KEY"] = p.o.SecretAccessKey
	env["AWS_SESSION_TOKEN"] = "stepline-local-session-token"
	list := make([]string, 0, len(env))
	for name, v := range env {
		list = append(list, name+"="+v)
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = list
	return cmd, nil
}
