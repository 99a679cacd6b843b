package s3

import (
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"mime"
	"os"
	"path"
	"strings"
	"sync"
	"syscall"
	"time"
)

// record is what S3 keeps about an object beside its bytes (DIR/s3/.meta/…): valid while the
// file's size and modification time are those recorded.
type record struct {
	Size    int64 `json:"size"`
	ModTime int64 `json:"mtime"` // Unix nanoseconds
	// ETag is the ETag without its quotes: the MD5 of the bytes in hex, or that of the parts'
	// MD5s followed by "-N" for an object made by a multipart upload.
	ETag        string `json:"etag"`
	ContentType string `json:"contentType,omitempty"`
	// Headers are the other headers S3 stores and returns (Content-Encoding, Cache-Control…).
	Headers map[string]string `json:"headers,omitempty"`
	// Meta is the user metadata, x-amz-meta-* without the prefix, names in lower case.
	Meta map[string]string `json:"meta,omitempty"`
	// Parts are the sizes of the parts of an object made by a multipart upload, for
	// GetObject's partNumber.
	Parts []int64 `json:"parts,omitempty"`
}

// object is an object as a request sees it: its file's facts and its record.
type object struct {
	size    int64
	modTime time.Time
	record
}

// storedHeaders are the headers of a PutObject that S3 keeps and returns on GetObject.
var storedHeaders = []string{"Content-Encoding", "Content-Disposition", "Content-Language", "Cache-Control", "Expires"}

// copyBuffers are the buffers streams to and from files go through: large enough that a big
// object moves in few system calls, pooled so that concurrent requests do not each allocate one.
var copyBuffers = sync.Pool{New: func() any { b := make([]byte, 1<<20); return &b }}

func copyBuffered(dst io.Writer, src io.Reader) (int64, error) {
	bp := copyBuffers.Get().(*[]byte)
	defer copyBuffers.Put(bp)
	return io.CopyBuffer(dst, src, *bp)
}

// bucketExists tells whether the bucket's folder exists.
func (s *Service) bucketExists(bucket string) (bool, error) {
	info, err := s.root.Stat(bucket)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return false, nil
	case err != nil:
		return false, fmt.Errorf("s3: %w", err)
	}
	return info.IsDir(), nil
}

func (s *Service) needBucket(bucket string) error {
	ok, err := s.bucketExists(bucket)
	if err != nil {
		return err
	}
	if !ok {
		return errNoSuchBucket
	}
	return nil
}

// stat finds an object: NoSuchKey when its file is missing or is not a regular file. Its
// record is read, and made (the ETag computed from the bytes) when missing or outdated.
func (s *Service) stat(bucket, key string) (*object, error) {
	info, err := s.root.Stat(objectPath(bucket, key))
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) {
			if err := s.needBucket(bucket); err != nil {
				return nil, err
			}
			return nil, errNoSuchKey
		}
		return nil, fmt.Errorf("s3: %w", err)
	}
	if !info.Mode().IsRegular() {
		return nil, errNoSuchKey
	}
	return s.objectOf(bucket, key, info, nil)
}

// objectOf joins a file's facts and its record, making the record when it does not describe
// this file (a file dropped in or replaced by hand). f, when the caller has the file open, is
// what the ETag is computed from.
func (s *Service) objectOf(bucket, key string, info fs.FileInfo, f io.ReaderAt) (*object, error) {
	o := &object{size: info.Size(), modTime: info.ModTime()}
	if b, err := s.root.ReadFile(metaPath(bucket, key)); err == nil {
		if json.Unmarshal(b, &o.record) == nil && o.Size == o.size && o.ModTime == o.modTime.UnixNano() && o.ETag != "" {
			return o, nil
		}
	}
	if f == nil {
		file, err := s.root.Open(objectPath(bucket, key))
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil, errNoSuchKey
			}
			return nil, fmt.Errorf("s3: %w", err)
		}
		defer file.Close()
		f = file
	}
	h := md5.New()
	if _, err := copyBuffered(h, io.NewSectionReader(f, 0, o.size)); err != nil {
		return nil, fmt.Errorf("s3: reading %s/%s: %w", bucket, key, err)
	}
	o.record = record{Size: o.size, ModTime: o.modTime.UnixNano(), ETag: hex.EncodeToString(h.Sum(nil)),
		ContentType: guessType(key)}
	if err := s.writeRecord(bucket, key, &o.record); err != nil {
		// The object is served all the same; the ETag is computed again next time.
		s.o.Logger.Warn("s3: caching an ETag", "bucket", bucket, "key", key, "err", err)
	}
	return o, nil
}

// guessType is the content type of a file that came without one.
func guessType(key string) string {
	if t := mime.TypeByExtension(path.Ext(key)); t != "" {
		// Go adds "; charset=utf-8" to text types; S3 stores what it is given, and nobody
		// gave a charset here.
		t, _, _ = strings.Cut(t, ";")
		return t
	}
	return "application/octet-stream"
}

// tempFile creates a new file in .tmp, on the same file system as the buckets so that it can
// be renamed into one.
func (s *Service) tempFile() (*os.File, string, error) {
	name := tmpDir + "/" + newRequestID() + newRequestID()
	f, err := s.root.OpenFile(name, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
	if err != nil {
		return nil, "", fmt.Errorf("s3: creating a temporary file: %w", err)
	}
	return f, name, nil
}

// writeAtomic writes data to name (relative to DIR/s3) through a synced temporary file and a
// rename, making name's folder if needed.
func (s *Service) writeAtomic(name string, data []byte) error {
	f, tmp, err := s.tempFile()
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = s.renameInto(tmp, name)
	}
	if err != nil {
		_ = s.root.Remove(tmp)
		return fmt.Errorf("s3: writing %s: %w", name, err)
	}
	return nil
}

// renameInto renames tmp to name, making name's folders. A concurrent delete may remove an
// emptied folder between the two, so the pair is tried again a few times.
func (s *Service) renameInto(tmp, name string) error {
	var err error
	for range 5 {
		if dir := parentDir(name); dir != "" {
			if err = s.root.MkdirAll(dir, 0o755); err != nil {
				return err
			}
		}
		if err = s.root.Rename(tmp, name); !errors.Is(err, fs.ErrNotExist) {
			return err
		}
	}
	return err
}

func (s *Service) writeRecord(bucket, key string, rec *record) error {
	b, err := json.Marshal(rec)
	if err != nil {
		return fmt.Errorf("s3: %w", err)
	}
	return s.writeAtomic(metaPath(bucket, key), b)
}

// written is a body copied into a temporary file.
type written struct {
	tmp  string
	size int64
	md5  []byte
	info fs.FileInfo
}

// receive copies body into a synced temporary file, hashing it; the caller renames or removes
// the file. want is the size the request announced (-1: unknown), at most limit.
func (s *Service) receive(body io.Reader, want, limit int64) (*written, error) {
	f, tmp, err := s.tempFile()
	if err != nil {
		return nil, err
	}
	h := md5.New()
	n, err := copyBuffered(io.MultiWriter(f, h), io.LimitReader(body, limit+1))
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	var info fs.FileInfo
	if err == nil {
		info, err = s.root.Stat(tmp)
	}
	switch {
	case err != nil:
		var ae *apiError
		if !errors.As(err, &ae) {
			// A client that hangs up mid-body is an incomplete body, not a failure of ours.
			s.o.Logger.Debug("s3: receiving a body", "err", err)
			err = errIncompleteBody
		}
	case n > limit:
		err = errTooLarge
	case want >= 0 && n != want:
		err = errIncompleteBody
	}
	if err != nil {
		_ = s.root.Remove(tmp)
		return nil, err
	}
	return &written{tmp: tmp, size: n, md5: h.Sum(nil), info: info}, nil
}

// commit puts a received file in place as the object, its record first, so that a reader who
// sees the new bytes finds their record (a reader between the two sees the old bytes with a
// record that does not match them, and computes their ETag).
func (s *Service) commit(bucket, key string, wr *written, rec *record) error {
	target := objectPath(bucket, key)
	if info, err := s.root.Lstat(target); err == nil && info.IsDir() {
		_ = s.root.Remove(wr.tmp)
		return invalidArgument("Stepline keeps objects as files: " + key + " is a folder of other objects")
	}
	rec.Size, rec.ModTime = wr.size, wr.info.ModTime().UnixNano()
	if err := s.writeRecord(bucket, key, rec); err != nil {
		_ = s.root.Remove(wr.tmp)
		return err
	}
	if err := s.renameInto(wr.tmp, target); err != nil {
		_ = s.root.Remove(wr.tmp)
		if errors.Is(err, syscall.ENOTDIR) || errors.Is(err, syscall.EEXIST) || errors.Is(err, syscall.EISDIR) {
			return invalidArgument("Stepline keeps objects as files: " + key + " needs a folder where an object is, or is a folder")
		}
		return fmt.Errorf("s3: storing %s/%s: %w", bucket, key, err)
	}
	return nil
}

// removeObject deletes an object's file and record, and the folders its deletion empties, as
// S3's "folders" vanish with their last object.
func (s *Service) removeObject(bucket, key string) error {
	err := s.root.Remove(objectPath(bucket, key))
	if err != nil && !errors.Is(err, fs.ErrNotExist) && !errors.Is(err, syscall.ENOTDIR) {
		if info, serr := s.root.Lstat(objectPath(bucket, key)); serr == nil && info.IsDir() {
			return nil // a folder is no object; deleting a missing key succeeds
		}
		return fmt.Errorf("s3: deleting %s/%s: %w", bucket, key, err)
	}
	if err := s.root.Remove(metaPath(bucket, key)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		s.o.Logger.Warn("s3: deleting a record", "bucket", bucket, "key", key, "err", err)
	}
	for dir := parentDir(key); dir != ""; dir = parentDir(dir) {
		// Remove fails on a folder that is not empty, which ends the climb.
		if s.root.Remove(objectPath(bucket, dir)) != nil {
			break
		}
	}
	return nil
}
