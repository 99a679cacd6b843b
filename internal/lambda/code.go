package lambda

import (
	"archive/zip"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
)

// errNotZip is AWS's answer to code that cannot be unpacked.
func errNotZip() *Error {
	return errInvalid("Could not unzip uploaded file. Please check your file, then try to upload again.")
}

func errUnzippedTooLarge(limit int64) *Error {
	return errInvalid("Unzipped size must be smaller than %d bytes", limit)
}

// digest returns the hex SHA-256 of a zip: the name of its unpacked folder.
func digest(zipBytes []byte) string {
	sum := sha256.Sum256(zipBytes)
	return hex.EncodeToString(sum[:])
}

// unpack writes the zip's files under dir, which must exist and be empty. It refuses (with
// Lambda's error) an archive that is not a zip, whose entries would land outside dir (absolute
// paths, "..", symbolic links leading out), or that unpacks to limit bytes or more, whatever
// its headers claim. File modes are kept, so that an executable bootstrap stays executable;
// every file is readable by its owner, as Lambda makes them. Writes go through os.Root, so
// that nothing can be written outside dir even by entries that slip past the checks.
func unpack(dir string, zipBytes []byte, limit int64) *Error {
	zr, err := zip.NewReader(bytes.NewReader(zipBytes), int64(len(zipBytes)))
	if err != nil {
		return errNotZip()
	}
	var declared uint64
	for _, f := range zr.File {
		declared += f.UncompressedSize64
		if declared >= uint64(limit) {
			return errUnzippedTooLarge(limit)
		}
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return errService(err)
	}
	defer root.Close()
	u := &unpacker{root: root, budget: limit, limit: limit, links: map[string]bool{}}
	for _, f := range zr.File {
		name, ok := entryName(f.Name)
		if !ok {
			return errNotZip()
		}
		if name == "" {
			continue // the archive's root folder
		}
		if e := u.entry(f, name); e != nil {
			return e
		}
	}
	return nil
}

// unpacker is one unpack in progress.
type unpacker struct {
	root          *os.Root
	budget, limit int64
	// links are the symbolic links made so far: an entry under one of them is refused, since
	// checking link targets by their text holds only while no folder on the way is a link.
	links map[string]bool
}

func (u *unpacker) underLink(name string) bool {
	for d := path.Dir(name); d != "."; d = path.Dir(d) {
		if u.links[d] {
			return true
		}
	}
	return false
}

// entryName returns the local path of an entry, "" for the root, or false for one that would
// leave the tree.
func entryName(raw string) (string, bool) {
	name := strings.TrimSuffix(strings.ReplaceAll(raw, `\`, "/"), "/")
	if name == "" || name == "." {
		return "", true
	}
	if !filepath.IsLocal(name) || strings.ContainsRune(name, 0) {
		return "", false
	}
	return path.Clean(name), true
}

func (u *unpacker) entry(f *zip.File, name string) *Error {
	root := u.root
	mode := f.Mode()
	if u.links[name] || u.underLink(name) {
		return errNotZip()
	}
	if dir := path.Dir(name); dir != "." {
		if err := root.MkdirAll(dir, 0o755); err != nil {
			return errNotZip() // a file of the archive is in the way
		}
	}
	switch {
	case mode.IsDir():
		if err := root.MkdirAll(name, 0o755); err != nil {
			return errNotZip()
		}
		return nil
	case mode&fs.ModeSymlink != 0:
		target, e := readSmall(f, 4096)
		if e != nil {
			return e
		}
		t := string(target)
		// The link must resolve inside the tree from where it stands.
		if path.IsAbs(t) || strings.ContainsAny(t, "\\\x00") || !filepath.IsLocal(path.Join(path.Dir(name), t)) {
			return errNotZip()
		}
		if err := root.Symlink(t, name); err != nil {
			return errNotZip()
		}
		u.links[name] = true
		return nil
	case !mode.IsRegular():
		return errNotZip() // devices, pipes, sockets
	}
	rc, err := f.Open()
	if err != nil {
		return errNotZip()
	}
	defer rc.Close()
	perm := mode.Perm() | 0o400
	out, err := root.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
	if err != nil {
		return errNotZip() // a duplicate entry, or one through a link
	}
	src := &readErr{r: io.LimitReader(rc, u.budget)}
	n, err := io.Copy(out, src)
	cerr := out.Close()
	u.budget -= n
	if u.budget <= 0 {
		return errUnzippedTooLarge(u.limit)
	}
	if src.err != nil {
		return errNotZip() // the zip is read from memory: a failed read is a corrupt archive
	}
	if err != nil {
		return errService(fmt.Errorf("lambda: unpack %s: %w", name, err))
	}
	if cerr != nil {
		return errService(fmt.Errorf("lambda: unpack %s: %w", name, cerr))
	}
	// OpenFile's mode went through the umask; Lambda keeps the archive's.
	if err := root.Chmod(name, perm); err != nil {
		return errService(fmt.Errorf("lambda: unpack %s: %w", name, err))
	}
	return nil
}

func readSmall(f *zip.File, max int64) ([]byte, *Error) {
	rc, err := f.Open()
	if err != nil {
		return nil, errNotZip()
	}
	defer rc.Close()
	b, err := io.ReadAll(io.LimitReader(rc, max+1))
	if err != nil || int64(len(b)) > max || len(b) == 0 {
		return nil, errNotZip()
	}
	return b, nil
}

// readErr remembers a read's failure, to tell a corrupt archive from a failed write.
type readErr struct {
	r   io.Reader
	err error
}

func (r *readErr) Read(p []byte) (int, error) {
	n, err := r.r.Read(p)
	if err != nil && err != io.EOF {
		r.err = err
	}
	return n, err
}
