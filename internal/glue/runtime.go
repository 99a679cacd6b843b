package glue

import (
	"embed"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// pyRuntime is what Glue puts on a Python shell job's path that a script may import: the
// awsglue package's getResolvedOptions (runtime/awsglue). Spark's GlueContext is not here:
// glueetl scripts run under the configured Spark command, which brings its own.
//
//go:embed runtime/awsglue/*.py
var pyRuntime embed.FS

// installRuntime writes the embedded Python packages under DIR/glue/runtime, each file through
// a temporary name and a rename, so that nodes sharing DIR, or a job starting meanwhile, never
// read half a file.
func (s *Service) installRuntime() (string, error) {
	root := filepath.Join(s.o.Dir, "glue", "runtime")
	err := fs.WalkDir(pyRuntime, "runtime", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel("runtime", filepath.FromSlash(p))
		dst := filepath.Join(root, rel)
		data, err := pyRuntime.ReadFile(p)
		if err != nil {
			return err
		}
		if old, err := os.ReadFile(dst); err == nil && string(old) == string(data) {
			return nil
		}
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return err
		}
		tmp, err := os.CreateTemp(filepath.Dir(dst), ".tmp-*")
		if err != nil {
			return err
		}
		if _, err := tmp.Write(data); err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
			return err
		}
		if err := tmp.Close(); err != nil {
			os.Remove(tmp.Name())
			return err
		}
		if err := os.Chmod(tmp.Name(), 0o644); err != nil {
			os.Remove(tmp.Name())
			return err
		}
		return os.Rename(tmp.Name(), dst)
	})
	if err != nil {
		return "", fmt.Errorf("glue: install the Python runtime: %w", err)
	}
	return root, nil
}
