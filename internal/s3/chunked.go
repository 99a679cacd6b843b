package s3

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"hash"
	"io"
	"net/http"
	"strconv"
	"strings"
)

// maxChunkLine bounds a chunk header or trailer line: "<hex size>;chunk-signature=<64 hex>" or
// "x-amz-checksum-<algorithm>:<base64>" are well under it.
const maxChunkLine = 4096

// errBadChunk is a body whose aws-chunked framing is malformed.
var errBadChunk = &apiError{"IncompleteBody", http.StatusBadRequest, "The request body's aws-chunked framing is malformed"}

// isAWSChunked tells whether a request's body is in aws-chunked framing, as the SDKs send
// streamed uploads (signed chunks, STREAMING-AWS4-HMAC-SHA256-PAYLOAD, or unsigned ones with a
// checksum trailer, STREAMING-UNSIGNED-PAYLOAD-TRAILER).
func isAWSChunked(r *http.Request) bool {
	return strings.HasPrefix(r.Header.Get("X-Amz-Content-Sha256"), "STREAMING-") ||
		strings.Contains(r.Header.Get("Content-Encoding"), "aws-chunked")
}

// bodyOf returns the object bytes of a PutObject or UploadPart body and their announced
// length (-1 when the request does not say), decoding aws-chunked framing and checking the
// SHA-256 a plain body announces. With secrets (the --auth keys), chunk signatures are
// checked; trailing checksums and trailer signatures are not.
func bodyOf(r *http.Request, secrets map[string]string) (io.Reader, int64, error) {
	if !isAWSChunked(r) {
		if r.ContentLength < 0 {
			return nil, 0, errMissingLength
		}
		if want, err := hex.DecodeString(r.Header.Get("X-Amz-Content-Sha256")); err == nil && len(want) == sha256.Size {
			return &sha256Reader{r: r.Body, h: sha256.New(), want: want}, r.ContentLength, nil
		}
		return r.Body, r.ContentLength, nil
	}
	n := int64(-1)
	if v := r.Header.Get("X-Amz-Decoded-Content-Length"); v != "" {
		d, err := strconv.ParseInt(v, 10, 64)
		if err != nil || d < 0 {
			return nil, 0, invalidArgument("x-amz-decoded-content-length is not a length")
		}
		n = d
	}
	c := &chunkReader{r: bufio.NewReaderSize(r.Body, 64<<10)}
	if secrets != nil && strings.HasPrefix(r.Header.Get("X-Amz-Content-Sha256"), "STREAMING-AWS4-HMAC-SHA256-PAYLOAD") {
		signer, err := newChunkSigner(r, secrets)
		if err != nil {
			return nil, 0, err
		}
		c.signer = signer
	}
	return c, n, nil
}

// errContentSHA256 is a body whose SHA-256 is not the one its X-Amz-Content-Sha256 announced.
var errContentSHA256 = &apiError{"XAmzContentSHA256Mismatch", http.StatusBadRequest, "The provided 'x-amz-content-sha256' header does not match what was computed."}

// sha256Reader checks, at the end of a body, that it is the body X-Amz-Content-Sha256 names,
// as S3 does. The signature covers that header and not the bytes, so this check is what ties
// the bytes to the signature: the router can verify a signature from the headers alone and
// leave large bodies to stream here.
type sha256Reader struct {
	r    io.Reader
	h    hash.Hash
	want []byte
}

func (s *sha256Reader) Read(p []byte) (int, error) {
	n, err := s.r.Read(p)
	s.h.Write(p[:n])
	if err == io.EOF && !bytes.Equal(s.h.Sum(nil), s.want) {
		return n, errContentSHA256
	}
	return n, err
}

// storedEncoding is the Content-Encoding S3 keeps: the request's, without aws-chunked, which
// is the framing of the transfer and not of the object.
func storedEncoding(v string) string {
	var keep []string
	for part := range strings.SplitSeq(v, ",") {
		if p := strings.TrimSpace(part); p != "" && p != "aws-chunked" {
			keep = append(keep, p)
		}
	}
	return strings.Join(keep, ",")
}

// chunkReader decodes aws-chunked framing: chunks "<hex size>[;chunk-signature=…]\r\n<bytes>\r\n",
// a last chunk of size 0, then optional trailer lines ("x-amz-checksum-crc32:…") up to an empty
// line or the end of the body.
type chunkReader struct {
	r    *bufio.Reader
	left int64 // bytes of the current chunk not yet read
	done bool
	err  error
	// signer, when the service knows the access keys, checks each chunk's signature, whose
	// value is sig.
	signer *chunkSigner
	sig    string
}

func (c *chunkReader) Read(p []byte) (int, error) {
	if c.err != nil {
		return 0, c.err
	}
	for c.left == 0 && !c.done {
		if err := c.next(); err != nil {
			c.err = err
			return 0, err
		}
	}
	if c.done {
		c.err = io.EOF
		return 0, io.EOF
	}
	if int64(len(p)) > c.left {
		p = p[:c.left]
	}
	n, err := c.r.Read(p)
	c.left -= int64(n)
	if c.signer != nil {
		c.signer.data.Write(p[:n])
	}
	if err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	if err != nil {
		c.err = err
	}
	if c.left == 0 && c.err == nil {
		if crlf, err := c.line(); err != nil || crlf != "" {
			c.err = errBadChunk
		} else if c.signer != nil {
			c.err = c.signer.check(c.sig)
		}
	}
	return n, err
}

// next reads a chunk header; after the last chunk, the trailers.
func (c *chunkReader) next() error {
	header, err := c.line()
	if err != nil {
		return errBadChunk // the body ends before its last chunk
	}
	size, ext, _ := strings.Cut(header, ";")
	n, err := strconv.ParseInt(strings.TrimSpace(size), 16, 64)
	if err != nil || n < 0 || n > MaxObjectSize {
		return errBadChunk
	}
	c.sig = strings.TrimPrefix(ext, "chunk-signature=")
	if n > 0 {
		c.left = n
		return nil
	}
	c.done = true
	if c.signer != nil {
		// The last chunk, of no bytes, is signed too: it ends the chain, so that a body cut
		// short after a whole chunk is refused.
		if err := c.signer.check(c.sig); err != nil {
			return err
		}
	}
	for {
		trailer, err := c.line()
		if errors.Is(err, io.EOF) || err == nil && trailer == "" {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// line reads one CRLF-terminated line, without its ending, bounded by maxChunkLine.
func (c *chunkReader) line() (string, error) {
	var b []byte
	for {
		frag, err := c.r.ReadSlice('\n')
		b = append(b, frag...)
		if len(b) > maxChunkLine {
			return "", errBadChunk
		}
		if err == nil {
			break
		}
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		if errors.Is(err, io.EOF) && len(b) == 0 {
			return "", io.EOF
		}
		return "", errBadChunk
	}
	return strings.TrimSuffix(strings.TrimSuffix(string(b), "\n"), "\r"), nil
}
