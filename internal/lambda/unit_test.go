package lambda

import (
	"archive/zip"
	"bytes"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

func testService() *Service {
	return &Service{o: Options{Account: "123456789012", Region: "us-east-1"}}
}

func TestParseName(t *testing.T) {
	s := testService()
	arn := "arn:aws:lambda:us-east-1:123456789012:function:"
	tests := []struct {
		raw, qualifier string
		want           ref
		code           string // error code, "" for none
		message        string // in the error's message
	}{
		{raw: "fn", want: ref{name: "fn"}},
		{raw: "fn:$LATEST", want: ref{name: "fn", qualifier: latest}},
		{raw: "fn", qualifier: "$LATEST", want: ref{name: "fn", qualifier: latest}},
		{raw: arn + "fn", want: ref{name: "fn"}},
		{raw: arn + "fn:$LATEST", want: ref{name: "fn", qualifier: latest}},
		{raw: "123456789012:function:fn", want: ref{name: "fn"}},
		{raw: "123456789012:function:fn:$LATEST", qualifier: "$LATEST", want: ref{name: "fn", qualifier: latest}},
		{raw: "my-Func_1", want: ref{name: "my-Func_1"}},
		{raw: "fn:1", code: codeNotFound, message: "Function not found: " + arn + "fn:1"},
		{raw: "fn", qualifier: "prod", code: codeNotFound, message: arn + "fn:prod"},
		{raw: "fn:1", qualifier: "2", code: codeInvalid, message: "derived qualifier"},
		{raw: "arn:aws:lambda:eu-west-1:123456789012:function:fn", code: codeNotFound},
		{raw: "999999999999:function:fn", code: codeNotFound},
		{raw: "", code: codeValidation},
		{raw: "has space", code: codeValidation, message: "at 'functionName' failed to satisfy constraint"},
		{raw: "fn.x", code: codeValidation},
		{raw: strings.Repeat("a", 65), code: codeValidation, message: "64"},
		{raw: strings.Repeat("a", 141), code: codeValidation},
		{raw: "fn", qualifier: "bad qualifier", code: codeValidation},
	}
	for _, tt := range tests {
		got, e := s.parseName(tt.raw, tt.qualifier)
		if tt.code == "" {
			if e != nil || got != tt.want {
				t.Errorf("parseName(%q, %q) = %+v, %v; want %+v", tt.raw, tt.qualifier, got, e, tt.want)
			}
			continue
		}
		if e == nil || e.Code != tt.code || !strings.Contains(e.Message, tt.message) {
			t.Errorf("parseName(%q, %q) = %+v, %v; want %s containing %q", tt.raw, tt.qualifier, got, e, tt.code, tt.message)
		}
	}
}

func ptr[T any](v T) *T { return &v }

func TestSettingsApply(t *testing.T) {
	tests := []struct {
		name    string
		st      settings
		code    string
		message string
	}{
		{name: "defaults", st: settings{}},
		{name: "all good", st: settings{Runtime: ptr("python3.12"), Handler: ptr("app.handler"), Timeout: ptr(900),
			MemorySize: ptr(10240), Role: ptr("arn:aws:iam::123456789012:role/service-role/x"), Description: ptr("d")}},
		{name: "timeout 0", st: settings{Timeout: ptr(0)}, code: codeValidation, message: "Value '0' at 'timeout'"},
		{name: "timeout 901", st: settings{Timeout: ptr(901)}, code: codeValidation, message: "less than or equal to 900"},
		{name: "memory 127", st: settings{MemorySize: ptr(127)}, code: codeValidation, message: "greater than or equal to 128"},
		{name: "memory 10241", st: settings{MemorySize: ptr(10241)}, code: codeInvalid, message: "'MemorySize' value failed"},
		{name: "memory 40000", st: settings{MemorySize: ptr(40000)}, code: codeValidation},
		{name: "bad role", st: settings{Role: ptr("role")}, code: codeValidation, message: "at 'role'"},
		{name: "handler with space", st: settings{Handler: ptr("a b")}, code: codeValidation, message: "at 'handler'"},
		{name: "long handler", st: settings{Handler: ptr(strings.Repeat("h", 129))}, code: codeValidation},
		{name: "long description", st: settings{Description: ptr(strings.Repeat("d", 257))}, code: codeValidation},
		{name: "unknown runtime", st: settings{Runtime: ptr("cobol1")}, code: codeInvalid,
			message: "Value cobol1 at 'runtime' failed to satisfy constraint: Member must satisfy enum value set: [nodejs, "},
		{name: "deprecated runtime", st: settings{Runtime: ptr("python3.7")}, code: codeInvalid,
			message: "The runtime parameter of python3.7 is no longer supported for creating or updating AWS Lambda functions."},
		{name: "runtime Stepline does not run", st: settings{Runtime: ptr("java21")}, code: codeInvalid, message: "not supported by Stepline"},
		{name: "reserved variable", st: settings{Environment: &struct {
			Variables map[string]string `json:"Variables"`
		}{map[string]string{"AWS_REGION": "x", "OK": "y"}}}, code: codeInvalid, message: "Reserved keys used in this request: AWS_REGION"},
		{name: "bad variable name", st: settings{Environment: &struct {
			Variables map[string]string `json:"Variables"`
		}{map[string]string{"1X": "x"}}}, code: codeValidation},
		{name: "environment over 4 KB", st: settings{Environment: &struct {
			Variables map[string]string `json:"Variables"`
		}{map[string]string{"BIG": strings.Repeat("v", 4096)}}}, code: codeInvalid, message: "exceeded the 4KB limit"},
		{name: "layers", st: settings{Layers: []string{"arn:aws:lambda:us-east-1:123456789012:layer:l:1"}}, code: codeInvalid},
		{name: "ephemeral storage", st: settings{EphemeralStorage: &struct {
			Size int `json:"Size"`
		}{100}}, code: codeValidation},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newConfig("fn")
			e := tt.st.apply(c)
			if tt.code == "" {
				if e != nil {
					t.Fatalf("apply = %v", e)
				}
				return
			}
			if e == nil || e.Code != tt.code || !strings.Contains(e.Message, tt.message) || e.Status != 400 {
				t.Fatalf("apply = %v; want %s (400) containing %q", e, tt.code, tt.message)
			}
		})
	}
}

// zipEntry is one file of a test zip.
type zipEntry struct {
	name string
	body string
	mode fs.FileMode
}

func makeZip(t testing.TB, entries ...zipEntry) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, e := range entries {
		h := &zip.FileHeader{Name: e.name, Method: zip.Deflate}
		mode := e.mode
		if mode == 0 {
			mode = 0o644
		}
		h.SetMode(mode)
		w, err := zw.CreateHeader(h)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write([]byte(e.body)); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestUnpack(t *testing.T) {
	good := makeZip(t,
		zipEntry{name: "bootstrap", body: "#!/bin/sh\n", mode: 0o755},
		zipEntry{name: "pkg/", mode: fs.ModeDir | 0o755},
		zipEntry{name: "pkg/mod.py", body: "x = 1\n"},
		zipEntry{name: "lib/deep/data.txt", body: "data", mode: 0o600},
		zipEntry{name: "link", body: "pkg/mod.py", mode: fs.ModeSymlink | 0o777},
	)
	dir := t.TempDir()
	if e := unpack(dir, good, maxUnzippedSize); e != nil {
		t.Fatalf("unpack = %v", e)
	}
	st, err := os.Stat(filepath.Join(dir, "bootstrap"))
	if err != nil || st.Mode().Perm() != 0o755 {
		t.Fatalf("bootstrap: %v, %v; want mode 0755", st, err)
	}
	if st, err := os.Stat(filepath.Join(dir, "lib/deep/data.txt")); err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("data.txt: %v, %v; want mode 0600", st, err)
	}
	if b, err := os.ReadFile(filepath.Join(dir, "link")); err != nil || string(b) != "x = 1\n" {
		t.Fatalf("reading through the link: %q, %v", b, err)
	}

	bad := []struct {
		name    string
		zip     []byte
		limit   int64
		message string
	}{
		{"not a zip", []byte("PK\x03\x04 definitely not"), maxUnzippedSize, "Could not unzip uploaded file"},
		{"empty bytes", nil, maxUnzippedSize, "Could not unzip uploaded file"},
		{"parent path", makeZip(t, zipEntry{name: "../evil", body: "x"}), maxUnzippedSize, "Could not unzip"},
		{"nested parent path", makeZip(t, zipEntry{name: "a/../../evil", body: "x"}), maxUnzippedSize, "Could not unzip"},
		{"absolute path", makeZip(t, zipEntry{name: "/tmp/evil", body: "x"}), maxUnzippedSize, "Could not unzip"},
		{"backslash parent", makeZip(t, zipEntry{name: `..\evil`, body: "x"}), maxUnzippedSize, "Could not unzip"},
		{"link out", makeZip(t, zipEntry{name: "l", body: "../../etc", mode: fs.ModeSymlink | 0o777}), maxUnzippedSize, "Could not unzip"},
		{"absolute link", makeZip(t, zipEntry{name: "l", body: "/etc/passwd", mode: fs.ModeSymlink | 0o777}), maxUnzippedSize, "Could not unzip"},
		{"write through a link", makeZip(t,
			zipEntry{name: "d", body: ".", mode: fs.ModeSymlink | 0o777},
			zipEntry{name: "d/x", body: "../../x", mode: fs.ModeSymlink | 0o777}), maxUnzippedSize, "Could not unzip"},
		{"duplicate entry", makeZip(t, zipEntry{name: "a", body: "1"}, zipEntry{name: "a", body: "2"}), maxUnzippedSize, "Could not unzip"},
		{"too large", makeZip(t, zipEntry{name: "big", body: strings.Repeat("0", 2000)}), 1000, "Unzipped size must be smaller than 1000 bytes"},
		{"exactly the limit", makeZip(t, zipEntry{name: "big", body: strings.Repeat("0", 1000)}), 1000, "Unzipped size must be smaller than 1000 bytes"},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			parent := t.TempDir()
			dir := filepath.Join(parent, "code")
			if err := os.Mkdir(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			e := unpack(dir, tt.zip, tt.limit)
			if e == nil || e.Code != codeInvalid || !strings.Contains(e.Message, tt.message) {
				t.Fatalf("unpack = %v; want InvalidParameterValueException containing %q", e, tt.message)
			}
			if names := walk(t, parent); len(names) > 0 && !allUnder(names, "code") {
				t.Fatalf("unpack wrote outside its folder: %v", names)
			}
		})
	}
}

// TestUnpackLyingHeader: a zip whose header claims a small file that inflates to more is
// stopped by what is written, not by what it claims.
func TestUnpackLyingHeader(t *testing.T) {
	z := makeZip(t, zipEntry{name: "big", body: strings.Repeat("0", 5000)})
	// The central directory's uncompressed size (offset 24 of its header) claims 10 bytes.
	i := bytes.LastIndex(z, []byte("PK\x01\x02"))
	copy(z[i+24:i+28], []byte{10, 0, 0, 0})
	e := unpack(t.TempDir(), z, 1000)
	if e == nil || e.Code != codeInvalid {
		t.Fatalf("unpack = %v; want InvalidParameterValueException", e)
	}
}

func walk(t testing.TB, dir string) []string {
	var names []string
	_ = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if p != dir {
			rel, _ := filepath.Rel(dir, p)
			names = append(names, rel)
		}
		return nil
	})
	return names
}

func allUnder(names []string, prefix string) bool {
	for _, n := range names {
		if n != prefix && !strings.HasPrefix(n, prefix+string(filepath.Separator)) {
			return false
		}
	}
	return true
}

// FuzzUnpack: no input panics, and nothing is ever written outside the folder.
func FuzzUnpack(f *testing.F) {
	f.Add(makeZip(f, zipEntry{name: "bootstrap", body: "#!/bin/sh", mode: 0o755}, zipEntry{name: "a/b.py", body: "x"}))
	f.Add(makeZip(f, zipEntry{name: "l", body: "a", mode: fs.ModeSymlink | 0o777}, zipEntry{name: "a/", mode: fs.ModeDir | 0o755}))
	f.Add(makeZip(f, zipEntry{name: "../x", body: "x"}))
	f.Add([]byte("PK\x05\x06" + strings.Repeat("\x00", 18)))
	f.Fuzz(func(t *testing.T, b []byte) {
		parent := t.TempDir()
		dir := filepath.Join(parent, "code")
		if err := os.Mkdir(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		e := unpack(dir, b, 1<<20)
		if e != nil && e.Code != codeInvalid {
			t.Fatalf("unpack = %v; want success or InvalidParameterValueException", e)
		}
		if names := walk(t, parent); !allUnder(names, "code") {
			t.Fatalf("unpack wrote outside its folder: %v", names)
		}
		// Every link left behind resolves inside the folder.
		_ = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.Type()&fs.ModeSymlink == 0 {
				return nil
			}
			if real, err := filepath.EvalSymlinks(p); err == nil {
				if rel, err := filepath.Rel(dir, real); err != nil || !filepath.IsLocal(rel) && rel != "." {
					t.Fatalf("link %s leads out of the folder to %s", p, real)
				}
			}
			return nil
		})
	})
}

// FuzzParseName: no input panics; what is accepted is a plain name of ours, at $LATEST.
func FuzzParseName(f *testing.F) {
	for _, s := range []string{"fn", "fn:$LATEST", "arn:aws:lambda:us-east-1:123456789012:function:fn:1",
		"123456789012:function:fn", "arn:aws-cn:lambda:cn-north-1:123456789012:function:x", "a:b:c:d:e:f:g:h"} {
		f.Add(s, "")
		f.Add(s, "$LATEST")
	}
	valid := regexp.MustCompile(`^[a-zA-Z0-9_-]{1,64}$`)
	s := testService()
	f.Fuzz(func(t *testing.T, raw, qualifier string) {
		r, e := s.parseName(raw, qualifier)
		if e != nil {
			if e.Status != 400 && e.Status != 404 {
				t.Fatalf("parseName(%q, %q) = %v", raw, qualifier, e)
			}
			return
		}
		if !valid.MatchString(r.name) || (r.qualifier != "" && r.qualifier != latest) {
			t.Fatalf("parseName(%q, %q) accepted %+v", raw, qualifier, r)
		}
	})
}
