package project

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"
)

// zipEpoch is every entry's modification time, so that an unchanged folder zips to the same
// bytes, hence the same CodeSha256, whenever and wherever it is zipped.
var zipEpoch = time.Date(1980, 1, 1, 0, 0, 0, 0, time.UTC)

// skipped are folders never packaged: caches that Python or git rewrite on their own would
// change the digest of code that did not change (and sam build's output, beside a SAM
// function whose CodeUri is the project folder).
var skipped = []string{"__pycache__", ".git", ".stepline", ".aws-sam"}

// zipFolder packages dir deterministically: entries in lexical order, fixed times, modes kept.
// Symbolic links are refused, as Lambda's unpacking refuses them.
func zipFolder(dir string) ([]byte, error) {
	var buf bytes.Buffer
	z := zip.NewWriter(&buf)
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if path != dir && slices.Contains(skipped, d.Name()) {
				return filepath.SkipDir
			}
			return nil
		}
		rel, err := filepath.Rel(dir, path)
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		if !info.Mode().IsRegular() {
			return fmt.Errorf("%s: not a regular file (symbolic links are not packaged)", rel)
		}
		return addFile(z, filepath.ToSlash(rel), path, info.Mode())
	})
	if err := errors.Join(err, z.Close()); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func addFile(z *zip.Writer, name, path string, mode fs.FileMode) error {
	h := &zip.FileHeader{Name: name, Method: zip.Deflate, Modified: zipEpoch}
	h.SetMode(mode)
	w, err := z.CreateHeader(h)
	if err != nil {
		return err
	}
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	_, err = io.Copy(w, f)
	return errors.Join(err, f.Close())
}

// sourceDigest is the digest of a Go function's sources: every file of its folder with its
// path and mode, the go.mod and go.sum that govern it, and the target platform. A change to
// any of them rebuilds the function; packages imported from elsewhere in its module do not.
func sourceDigest(dir string) (string, error) {
	h := sha256.New()
	fmt.Fprintf(h, "stepline go build 1 %s linux/%s\n", runtime.Version(), runtime.GOARCH)
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if path != dir && slices.Contains(skipped, d.Name()) {
				return filepath.SkipDir
			}
			return nil
		}
		rel, _ := filepath.Rel(dir, path)
		return hashFile(h, rel, path)
	})
	if err != nil {
		return "", err
	}
	// The module files above the folder pin its dependencies.
	for d := filepath.Dir(dir); ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			for _, name := range []string{"go.mod", "go.sum"} {
				if err := hashFile(h, filepath.Join(d, name), filepath.Join(d, name)); err != nil && !errors.Is(err, os.ErrNotExist) {
					return "", err
				}
			}
			break
		}
		if d == filepath.Dir(d) {
			break
		}
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

func hashFile(h io.Writer, name, path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	fmt.Fprintf(h, "%s\x00%o\x00%d\x00", name, st.Mode().Perm(), st.Size())
	_, err = io.Copy(h, f)
	return err
}

// goBuild builds a Go function into cache/<digest>/bootstrap unless an earlier deploy did,
// and returns the zip holding that bootstrap alone, and whether it was built now.
func goBuild(ctx context.Context, fn *Function, cache string) ([]byte, bool, error) {
	digest, err := sourceDigest(fn.Code)
	if err != nil {
		return nil, false, err
	}
	out := filepath.Join(cache, digest, "bootstrap")
	built := false
	if _, err := os.Stat(out); err != nil {
		if err := os.MkdirAll(cache, 0o755); err != nil {
			return nil, false, err
		}
		// Built into a folder of its own and renamed into place, so that a deploy that
		// stops half-way, or another node sharing the folder, never finds half a binary.
		tmp, err := os.MkdirTemp(cache, "build-")
		if err != nil {
			return nil, false, err
		}
		defer os.RemoveAll(tmp)
		cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-buildvcs=false", "-ldflags=-s -w",
			"-o", filepath.Join(tmp, "bootstrap"), ".")
		cmd.Dir = fn.Code
		cmd.Env = append(os.Environ(), "GOOS=linux", "GOARCH="+runtime.GOARCH, "CGO_ENABLED=0")
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		if err := cmd.Run(); err != nil {
			msg := strings.Join(strings.Fields(stderr.String()), " ")
			if len(msg) > 500 {
				msg = msg[:500] + "…"
			}
			return nil, false, fmt.Errorf("go build: %v: %s", err, msg)
		}
		if err := os.Rename(tmp, filepath.Join(cache, digest)); err != nil {
			if _, statErr := os.Stat(out); statErr != nil {
				return nil, false, err
			}
		}
		built = true
	}
	var buf bytes.Buffer
	z := zip.NewWriter(&buf)
	err = addFile(z, "bootstrap", out, 0o755)
	if err := errors.Join(err, z.Close()); err != nil {
		return nil, false, err
	}
	return buf.Bytes(), built, nil
}
