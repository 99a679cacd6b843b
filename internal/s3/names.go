package s3

import (
	"crypto/sha256"
	"encoding/hex"
	"io/fs"
	"net/netip"
	"os"
	"strings"
	"unicode/utf8"
)

// legacyBucketName reports whether name follows S3's old rules for bucket names in us-east-1
// (up to 255 letters of either case, digits, dots, hyphens and underscores, not dots alone).
func legacyBucketName(name string) bool {
	if len(name) < 3 || len(name) > 255 || strings.Trim(name, ".") == "" {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '.' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// checkBucketName applies S3's rules for bucket names (3 to 63 lowercase letters, digits, dots
// and hyphens, starting and ending with a letter or digit, not an IP address, no ".." and no
// "-."), which also keep a name from being a path or one of the service's own folders.
func checkBucketName(name string) error {
	if len(name) < 3 || len(name) > 63 {
		return errInvalidBucket
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '.' || c == '-') {
			return errInvalidBucket
		}
	}
	alnum := func(c byte) bool { return 'a' <= c && c <= 'z' || '0' <= c && c <= '9' }
	if !alnum(name[0]) || !alnum(name[len(name)-1]) ||
		strings.Contains(name, "..") || strings.Contains(name, ".-") || strings.Contains(name, "-.") {
		return errInvalidBucket
	}
	if _, err := netip.ParseAddr(name); err == nil {
		return errInvalidBucket
	}
	return nil
}

// checkKey refuses keys that cannot be a file path below a bucket's folder (see the package
// documentation).
func checkKey(key string) error {
	if len(key) > maxKeyLen {
		return errKeyTooLong
	}
	if key == "" {
		return invalidArgument("An object key may not be empty")
	}
	if strings.HasSuffix(key, "/") {
		return invalidArgument("Stepline keeps objects as files: a key ending in '/' cannot be one (a folder exists as soon as an object is in it)")
	}
	if !utf8.ValidString(key) {
		return invalidArgument("An object key must be UTF-8")
	}
	if strings.IndexByte(key, 0) >= 0 {
		return invalidArgument("Stepline keeps objects as files: a key may not hold a NUL byte")
	}
	for seg := range strings.SplitSeq(key, "/") {
		switch {
		case seg == "":
			return invalidArgument("Stepline keeps objects as files: a key may not hold an empty segment ('//' or a leading '/')")
		case seg == "." || seg == "..":
			return invalidArgument("Stepline keeps objects as files: a key may not hold a '.' or '..' segment")
		case len(seg) > 255:
			return invalidArgument("Stepline keeps objects as files: a key's segments between '/' may be at most 255 bytes")
		}
	}
	return nil
}

// objectPath is the object's file, relative to DIR/s3.
func objectPath(bucket, key string) string { return bucket + "/" + key }

// bucketMetaDir holds what S3 keeps about a bucket and its objects.
func bucketMetaDir(bucket string) string { return metaDir + "/" + bucket }

// bucketConfigPath is the bucket's own record.
func bucketConfigPath(bucket string) string { return bucketMetaDir(bucket) + "/bucket.json" }

// metaPath is the record of an object: named by the key's hash, so that no key, however long
// or however it nests, collides with another's record or needs folders of its own.
func metaPath(bucket, key string) string {
	sum := sha256.Sum256([]byte(key))
	h := hex.EncodeToString(sum[:])
	return bucketMetaDir(bucket) + "/objects/" + h[:2] + "/" + h + ".json"
}

// fsReadDir lists a folder of root, sorted by name.
func fsReadDir(root *os.Root, name string) ([]fs.DirEntry, error) {
	return fs.ReadDir(root.FS(), name)
}

// parentDir is the folder of a slash-separated path ("" at the top).
func parentDir(p string) string {
	if i := strings.LastIndexByte(p, '/'); i >= 0 {
		return p[:i]
	}
	return ""
}
