package s3

import (
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// upload is a multipart upload in progress (DIR/s3/.uploads/<id>/upload.json); its parts are
// the files <n>.part beside it, each with its <n>.json.
type upload struct {
	Bucket    string    `json:"bucket"`
	Key       string    `json:"key"`
	Initiated time.Time `json:"initiated"`
	// Record is what the object will carry (content type, user metadata…).
	Record record `json:"record"`
}

// part is what is kept about an uploaded part.
type part struct {
	Number   int       `json:"number"`
	ETag     string    `json:"etag"` // the MD5 of its bytes, hex, without quotes
	Size     int64     `json:"size"`
	Uploaded time.Time `json:"uploaded"`
}

func uploadDir(id string) string           { return uploadsDir + "/" + id }
func partData(id string, n int) string     { return fmt.Sprintf("%s/%05d.part", uploadDir(id), n) }
func partRecordOf(id string, n int) string { return fmt.Sprintf("%s/%05d.json", uploadDir(id), n) }

// loadUpload reads the upload a request names, which must be for its bucket and key.
func (s *Service) loadUpload(r *request, id string) (*upload, error) {
	// An upload id is 32 hex digits; anything else names no upload (and no path).
	if len(id) != 32 || strings.Trim(id, "0123456789ABCDEF") != "" {
		return nil, errNoSuchUpload
	}
	b, err := s.root.ReadFile(uploadDir(id) + "/upload.json")
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, errNoSuchUpload
		}
		return nil, fmt.Errorf("s3: %w", err)
	}
	var u upload
	if err := json.Unmarshal(b, &u); err != nil {
		return nil, fmt.Errorf("s3: reading upload %s: %w", id, err)
	}
	if r != nil && (u.Bucket != r.bucket || u.Key != r.key) {
		return nil, errNoSuchUpload
	}
	return &u, nil
}

type initiateResult struct {
	XMLName  xml.Name `xml:"InitiateMultipartUploadResult"`
	NS       string   `xml:"xmlns,attr"`
	Bucket   string
	Key      string
	UploadID string `xml:"UploadId"`
}

func (s *Service) createUpload(w http.ResponseWriter, r *request) error {
	if err := s.needBucket(r.bucket); err != nil {
		return err
	}
	id := newRequestID() + newRequestID()
	u := upload{Bucket: r.bucket, Key: r.key, Initiated: s.o.Clock.Now().UTC(), Record: recordFrom(r.Header)}
	b, err := json.Marshal(u)
	if err != nil {
		return fmt.Errorf("s3: %w", err)
	}
	if err := s.writeAtomic(uploadDir(id)+"/upload.json", b); err != nil {
		return err
	}
	return writeXML(w, initiateResult{NS: s3NS, Bucket: r.bucket, Key: r.key, UploadID: id})
}

// partNumber reads partNumber, 1 to MaxParts.
func partNumber(q url.Values) (int, error) {
	n, err := strconv.Atoi(q.Get("partNumber"))
	if err != nil || n < 1 || n > MaxParts {
		return 0, invalidArgument("Part number must be an integer between 1 and 10000, inclusive")
	}
	return n, nil
}

type copyPartResult struct {
	XMLName      xml.Name `xml:"CopyPartResult"`
	NS           string   `xml:"xmlns,attr"`
	LastModified string
	ETag         string
}

// uploadPart serves UploadPart, and UploadPartCopy when the request names a copy source.
func (s *Service) uploadPart(w http.ResponseWriter, r *request, q url.Values) error {
	n, err := partNumber(q)
	if err != nil {
		return err
	}
	id := q.Get("uploadId")
	if _, err := s.loadUpload(r, id); err != nil {
		return err
	}
	var wr *written
	src := r.Header.Get("X-Amz-Copy-Source")
	if src != "" {
		f, o, err := s.openSource(src, r.bucket)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := copyConditions(r.Request, o); err != nil {
			return err
		}
		start, length := int64(0), o.size
		if v := r.Header.Get("X-Amz-Copy-Source-Range"); v != "" {
			var partial bool
			if start, length, partial, err = parseRange(v, o.size); err != nil || !partial {
				return invalidArgument("The x-amz-copy-source-range value must be of the form bytes=first-last where first and last are the zero-based offsets of the first and last bytes to copy")
			}
		}
		if wr, err = s.receive(io.NewSectionReader(f, start, length), length, MaxObjectSize); err != nil {
			return err
		}
	} else {
		body, size, err := bodyOf(r.Request, s.o.Credentials)
		if err != nil {
			return err
		}
		if size > MaxObjectSize {
			return errTooLarge
		}
		want, err := contentMD5(r.Request)
		if err != nil {
			return err
		}
		if wr, err = s.receive(body, size, MaxObjectSize); err != nil {
			return err
		}
		if want != nil && string(want) != string(wr.md5) {
			_ = s.root.Remove(wr.tmp)
			return errBadDigest
		}
	}
	p := part{Number: n, ETag: hex.EncodeToString(wr.md5), Size: wr.size, Uploaded: wr.info.ModTime().UTC()}
	if err := s.root.Rename(wr.tmp, partData(id, n)); err != nil {
		_ = s.root.Remove(wr.tmp)
		if errors.Is(err, fs.ErrNotExist) {
			return errNoSuchUpload // aborted or completed meanwhile
		}
		return fmt.Errorf("s3: storing a part: %w", err)
	}
	b, err := json.Marshal(p)
	if err != nil {
		return fmt.Errorf("s3: %w", err)
	}
	if err := s.writeAtomic(partRecordOf(id, n), b); err != nil {
		return err
	}
	if src != "" {
		return writeXML(w, copyPartResult{NS: s3NS, LastModified: isoTime(p.Uploaded), ETag: `"` + p.ETag + `"`})
	}
	w.Header().Set("ETag", `"`+p.ETag+`"`)
	echoChecksums(w, r)
	w.WriteHeader(http.StatusOK)
	return nil
}

// parts reads the records of an upload's parts, by part number.
func (s *Service) parts(id string) ([]part, error) {
	entries, err := fsReadDir(s.root, uploadDir(id))
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, errNoSuchUpload
		}
		return nil, fmt.Errorf("s3: %w", err)
	}
	var ps []part
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), ".json") || e.Name() == "upload.json" {
			continue
		}
		b, err := s.root.ReadFile(uploadDir(id) + "/" + e.Name())
		if err != nil {
			continue // the upload ended meanwhile
		}
		var p part
		if json.Unmarshal(b, &p) == nil && p.Number >= 1 {
			ps = append(ps, p)
		}
	}
	slices.SortFunc(ps, func(a, b part) int { return a.Number - b.Number })
	return ps, nil
}

type completeRequest struct {
	Parts []struct {
		PartNumber int
		ETag       string
	} `xml:"Part"`
}

type completeResult struct {
	XMLName  xml.Name `xml:"CompleteMultipartUploadResult"`
	NS       string   `xml:"xmlns,attr"`
	Location string
	Bucket   string
	Key      string
	ETag     string
}

// completeUpload joins the parts the request lists into the object. Its ETag is, as S3 makes
// it, the MD5 of the parts' MD5s (binary) followed by "-" and the number of parts.
func (s *Service) completeUpload(w http.ResponseWriter, r *request, q url.Values) error {
	id := q.Get("uploadId")
	u, err := s.loadUpload(r, id)
	if err != nil {
		return err
	}
	var req completeRequest
	if err := readXML(r.Body, &req); err != nil {
		return err
	}
	if len(req.Parts) == 0 {
		return errMalformedXML
	}
	have, err := s.parts(id)
	if err != nil {
		return err
	}
	byNumber := map[int]part{}
	for _, p := range have {
		byNumber[p.Number] = p
	}
	var use []part
	for i, rp := range req.Parts {
		if i > 0 && rp.PartNumber <= req.Parts[i-1].PartNumber {
			return errInvalidPartOrder
		}
		p, ok := byNumber[rp.PartNumber]
		if !ok || strings.Trim(rp.ETag, `"`) != p.ETag {
			return errInvalidPart
		}
		use = append(use, p)
	}
	for _, p := range use[:len(use)-1] {
		if p.Size < MinPartSize {
			return errEntityTooSmall
		}
	}
	f, tmp, err := s.tempFile()
	if err != nil {
		return err
	}
	etags := md5.New()
	var size int64
	for _, p := range use {
		var n int64
		n, err = s.appendPart(f, id, p)
		if err != nil {
			break
		}
		size += n
		d, _ := hex.DecodeString(p.ETag) // written by uploadPart as hex
		etags.Write(d)
	}
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
	if err != nil {
		_ = s.root.Remove(tmp)
		return err
	}
	rec := u.Record
	rec.ETag = hex.EncodeToString(etags.Sum(nil)) + "-" + strconv.Itoa(len(use))
	rec.Parts = make([]int64, len(use))
	for i, p := range use {
		rec.Parts[i] = p.Size
	}
	if err := s.commit(r.bucket, r.key, &written{tmp: tmp, size: size, info: info}, &rec); err != nil {
		return err
	}
	if err := s.root.RemoveAll(uploadDir(id)); err != nil {
		s.o.Logger.Warn("s3: removing a completed upload", "upload", id, "err", err)
	}
	return writeXML(w, completeResult{NS: s3NS, Location: "http://" + r.Host + "/" + r.bucket + "/" + r.key,
		Bucket: r.bucket, Key: r.key, ETag: `"` + rec.ETag + `"`})
}

// appendPart copies a part's bytes to f, checking that they are the part recorded.
func (s *Service) appendPart(f io.Writer, id string, p part) (int64, error) {
	pf, err := s.root.Open(partData(id, p.Number))
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return 0, errInvalidPart
		}
		return 0, fmt.Errorf("s3: %w", err)
	}
	defer pf.Close()
	n, err := copyBuffered(f, pf)
	if err != nil {
		return 0, fmt.Errorf("s3: joining parts: %w", err)
	}
	if n != p.Size {
		return 0, errInvalidPart // replaced meanwhile by an upload of the same part number
	}
	return n, nil
}

func (s *Service) abortUpload(w http.ResponseWriter, r *request, q url.Values) error {
	id := q.Get("uploadId")
	if _, err := s.loadUpload(r, id); err != nil {
		return err
	}
	if err := s.root.RemoveAll(uploadDir(id)); err != nil {
		return fmt.Errorf("s3: aborting upload %s: %w", id, err)
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

type partEntry struct {
	PartNumber   int
	LastModified string
	ETag         string
	Size         int64
}

type listPartsResult struct {
	XMLName              xml.Name `xml:"ListPartsResult"`
	NS                   string   `xml:"xmlns,attr"`
	Bucket               string
	Key                  string
	UploadID             string `xml:"UploadId"`
	Initiator            owner
	Owner                owner
	StorageClass         string
	PartNumberMarker     int
	NextPartNumberMarker int
	MaxParts             int
	IsTruncated          bool
	Parts                []partEntry `xml:"Part"`
}

func (s *Service) listParts(w http.ResponseWriter, r *request, q url.Values) error {
	id := q.Get("uploadId")
	if _, err := s.loadUpload(r, id); err != nil {
		return err
	}
	max, marker := 1000, 0
	if v := q.Get("max-parts"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return invalidArgument("Provided max-parts not an integer or within integer range")
		}
		max = min(n, 1000)
	}
	if v := q.Get("part-number-marker"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return invalidArgument("Provided part-number-marker not an integer or within integer range")
		}
		marker = n
	}
	ps, err := s.parts(id)
	if err != nil {
		return err
	}
	res := listPartsResult{NS: s3NS, Bucket: r.bucket, Key: r.key, UploadID: id, Initiator: theOwner, Owner: theOwner,
		StorageClass: "STANDARD", PartNumberMarker: marker, MaxParts: max}
	for _, p := range ps {
		if p.Number <= marker {
			continue
		}
		if len(res.Parts) == max {
			res.IsTruncated = true
			break
		}
		res.Parts = append(res.Parts, partEntry{PartNumber: p.Number, LastModified: isoTime(p.Uploaded),
			ETag: `"` + p.ETag + `"`, Size: p.Size})
		res.NextPartNumberMarker = p.Number
	}
	return writeXML(w, res)
}

type uploadEntry struct {
	Key          string
	UploadID     string `xml:"UploadId"`
	Initiator    owner
	Owner        owner
	StorageClass string
	Initiated    string
}

type listUploadsResult struct {
	XMLName            xml.Name `xml:"ListMultipartUploadsResult"`
	NS                 string   `xml:"xmlns,attr"`
	Bucket             string
	KeyMarker          string
	UploadIDMarker     string `xml:"UploadIdMarker"`
	NextKeyMarker      string
	NextUploadIDMarker string `xml:"NextUploadIdMarker"`
	Prefix             string
	MaxUploads         int
	IsTruncated        bool
	Uploads            []uploadEntry `xml:"Upload"`
}

// listUploads lists a bucket's uploads in progress (all of them: paging is not implemented).
func (s *Service) listUploads(w http.ResponseWriter, r *request) error {
	if err := s.needBucket(r.bucket); err != nil {
		return err
	}
	entries, err := fsReadDir(s.root, uploadsDir)
	if err != nil {
		return fmt.Errorf("s3: %w", err)
	}
	prefix := r.URL.Query().Get("prefix")
	res := listUploadsResult{NS: s3NS, Bucket: r.bucket, Prefix: prefix, MaxUploads: 1000}
	for _, e := range entries {
		u, err := s.loadUpload(nil, e.Name())
		if err != nil || u.Bucket != r.bucket || !strings.HasPrefix(u.Key, prefix) {
			continue
		}
		res.Uploads = append(res.Uploads, uploadEntry{Key: u.Key, UploadID: e.Name(), Initiator: theOwner, Owner: theOwner,
			StorageClass: "STANDARD", Initiated: isoTime(u.Initiated)})
	}
	slices.SortFunc(res.Uploads, func(a, b uploadEntry) int {
		return strings.Compare(a.Key+"\x00"+a.UploadID, b.Key+"\x00"+b.UploadID)
	})
	return writeXML(w, res)
}
