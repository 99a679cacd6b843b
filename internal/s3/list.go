package s3

import (
	"encoding/base64"
	"encoding/xml"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"syscall"
)

// listing is one page of a bucket's keys, in S3's order (by UTF-8 bytes).
type listing struct {
	objects   []listedObject
	prefixes  []string
	truncated bool
	// last is the last key or common prefix of the page, where the next page starts after.
	last string
}

type listedObject struct {
	key string
	obj *object
}

// lister walks a bucket's folders in key order. A folder's entries are sorted with folders
// named "name/", which is the order of the keys below them: a key "a-b" comes before the keys
// "a/…" ('-' < '/') though the folder "a" sorts before the file "a-b".
type lister struct {
	s                *Service
	bucket           string
	prefix, delim    string
	after            string
	max              int
	out              listing
	lastCommonPrefix string
}

// list returns up to max keys and common prefixes of bucket after the key after.
func (s *Service) list(bucket, prefix, delim, after string, max int) (*listing, error) {
	l := &lister{s: s, bucket: bucket, prefix: prefix, delim: delim, after: after, max: max}
	if _, err := l.dir(""); err != nil {
		return nil, err
	}
	return &l.out, nil
}

// full adds one entry to the page, or, when the page is full, marks it truncated and says so.
func (l *lister) full() bool {
	if len(l.out.objects)+len(l.out.prefixes) >= l.max {
		// A page of max-keys=0 is empty and not truncated: with no last key to go on from,
		// a client paging on IsTruncated would ask forever.
		l.out.truncated = l.max > 0
		return true
	}
	return false
}

func (l *lister) addPrefix(p string) bool {
	if p == l.lastCommonPrefix || p <= l.after {
		return true
	}
	if l.full() {
		return false
	}
	l.out.prefixes = append(l.out.prefixes, p)
	l.out.last, l.lastCommonPrefix = p, p
	return true
}

// dir lists the folder of keys starting with rel ("" or "a/b/"); false stops the walk.
func (l *lister) dir(rel string) (bool, error) {
	entries, err := fsReadDir(l.s.root, strings.TrimSuffix(objectPath(l.bucket, rel), "/"))
	if err != nil {
		if rel != "" && (errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR)) {
			return true, nil // removed while listed
		}
		if errors.Is(err, fs.ErrNotExist) {
			return false, errNoSuchBucket
		}
		return false, fmt.Errorf("s3: listing %s: %w", l.bucket, err)
	}
	type entry struct {
		name string // with a trailing '/' for a folder
		e    fs.DirEntry
	}
	sorted := make([]entry, 0, len(entries))
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() {
			name += "/"
		} else if !e.Type().IsRegular() {
			continue // symbolic links and special files are not objects
		}
		sorted = append(sorted, entry{name, e})
	}
	slices.SortFunc(sorted, func(a, b entry) int { return strings.Compare(a.name, b.name) })
	for _, en := range sorted {
		key := rel + en.name
		isDir := strings.HasSuffix(key, "/")
		if !strings.HasPrefix(key, l.prefix) && !(isDir && strings.HasPrefix(l.prefix, key)) {
			continue
		}
		if isDir {
			if l.after > key && !strings.HasPrefix(l.after, key) {
				continue // every key below is at or before where the page starts
			}
			if l.delim == "/" && len(key) > len(l.prefix) {
				// Every key below has the same common prefix (the folder itself, or the one
				// it is in when the page starts inside that one), counted if an object is below.
				rem := key[len(l.prefix):]
				cp := l.prefix + rem[:strings.IndexByte(rem, '/')+1]
				if cp <= l.after || cp == l.lastCommonPrefix {
					continue
				}
				if has, err := l.s.hasObject(objectPath(l.bucket, strings.TrimSuffix(key, "/"))); err != nil {
					return false, err
				} else if has && !l.addPrefix(cp) {
					return false, nil
				}
				continue
			}
			if more, err := l.dir(key); err != nil || !more {
				return more, err
			}
			continue
		}
		if key <= l.after {
			continue
		}
		if l.delim != "" {
			if i := strings.Index(key[len(l.prefix):], l.delim); i >= 0 {
				if !l.addPrefix(key[:len(l.prefix)+i+len(l.delim)]) {
					return false, nil
				}
				continue
			}
		}
		info, err := en.e.Info()
		if err != nil {
			continue // removed while listed
		}
		o, err := l.s.objectOf(l.bucket, key, info, nil)
		if errors.Is(err, errNoSuchKey) {
			continue
		}
		if err != nil {
			return false, err
		}
		if l.full() {
			return false, nil
		}
		l.out.objects = append(l.out.objects, listedObject{key: key, obj: o})
		l.out.last = key
	}
	return true, nil
}

// hasObject tells whether a folder holds a regular file, at any depth.
func (s *Service) hasObject(dir string) (bool, error) {
	entries, err := fsReadDir(s.root, dir)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) {
			return false, nil
		}
		return false, fmt.Errorf("s3: %w", err)
	}
	for _, e := range entries {
		if e.Type().IsRegular() {
			return true, nil
		}
		if e.IsDir() {
			if has, err := s.hasObject(dir + "/" + e.Name()); err != nil || has {
				return has, err
			}
		}
	}
	return false, nil
}

type contents struct {
	Key          string
	LastModified string
	ETag         string
	Size         int64
	StorageClass string
	Owner        *owner `xml:",omitempty"`
}

type commonPrefix struct {
	Prefix string
}

// listResult is ListObjects' and ListObjectsV2's answer; the fields of the other version are
// left out.
type listResult struct {
	XMLName               xml.Name `xml:"ListBucketResult"`
	NS                    string   `xml:"xmlns,attr"`
	Name                  string
	Prefix                string
	Marker                *string `xml:",omitempty"`
	NextMarker            string  `xml:",omitempty"`
	ContinuationToken     string  `xml:",omitempty"`
	NextContinuationToken string  `xml:",omitempty"`
	StartAfter            string  `xml:",omitempty"`
	KeyCount              *int    `xml:",omitempty"`
	MaxKeys               int
	Delimiter             string `xml:",omitempty"`
	EncodingType          string `xml:",omitempty"`
	IsTruncated           bool
	Contents              []contents
	CommonPrefixes        []commonPrefix
}

func (s *Service) listObjects(w http.ResponseWriter, r *request, q url.Values, v2 bool) error {
	if err := s.needBucket(r.bucket); err != nil {
		return err
	}
	max := 1000
	if v := q.Get("max-keys"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return invalidArgument("Provided max-keys not an integer or within integer range")
		}
		max = min(n, 1000)
	}
	encodeURL := q.Get("encoding-type") == "url"
	if et := q.Get("encoding-type"); et != "" && et != "url" {
		return invalidArgument("Invalid Encoding Method specified in Request")
	}
	enc := func(v string) string {
		if encodeURL {
			return strings.ReplaceAll(url.QueryEscape(v), "+", "%20")
		}
		return v
	}
	res := listResult{NS: s3NS, Name: r.bucket, Prefix: enc(q.Get("prefix")), MaxKeys: max,
		Delimiter: enc(q.Get("delimiter"))}
	if encodeURL {
		res.EncodingType = "url"
	}
	var after string
	if v2 {
		if tok := q.Get("continuation-token"); tok != "" {
			b, err := base64.RawURLEncoding.DecodeString(tok)
			if err != nil {
				return invalidArgument("The continuation token provided is incorrect")
			}
			after, res.ContinuationToken = string(b), tok
		} else {
			after = q.Get("start-after")
		}
		res.StartAfter = enc(q.Get("start-after"))
	} else {
		after = q.Get("marker")
		marker := enc(after)
		res.Marker = &marker
	}
	page, err := s.list(r.bucket, q.Get("prefix"), q.Get("delimiter"), after, max)
	if err != nil {
		return err
	}
	res.IsTruncated = page.truncated
	var o *owner
	if !v2 || q.Get("fetch-owner") == "true" {
		o = &theOwner
	}
	for _, lo := range page.objects {
		res.Contents = append(res.Contents, contents{Key: enc(lo.key), LastModified: isoTime(lo.obj.modTime),
			ETag: `"` + lo.obj.ETag + `"`, Size: lo.obj.size, StorageClass: "STANDARD", Owner: o})
	}
	for _, p := range page.prefixes {
		res.CommonPrefixes = append(res.CommonPrefixes, commonPrefix{Prefix: enc(p)})
	}
	if v2 {
		n := len(page.objects) + len(page.prefixes)
		res.KeyCount = &n
		if page.truncated {
			res.NextContinuationToken = base64.RawURLEncoding.EncodeToString([]byte(page.last))
		}
	} else if page.truncated {
		res.NextMarker = enc(page.last)
	}
	return writeXML(w, res)
}
