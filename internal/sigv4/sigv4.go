// Package sigv4 verifies AWS Signature Version 4, the signature every AWS SDK and the AWS CLI
// put on their requests: in the Authorization header, or in the query of a presigned URL (as S3
// presigned URLs carry it). It knows the access keys a server accepts (an --auth file), checks
// a request against them, and says which AWS service a request was signed for, which is how
// the server routes REST protocols. Failures are typed (Reason, and the code, message and HTTP
// status of AWS's JSON protocols) so that each protocol renders them in its own shape.
package sigv4

import (
	"bufio"
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"slices"
	"sort"
	"strings"
	"time"
)

// Credentials are the access keys a server accepts, each with its secret key. With none, a
// server accepts any request, signed or not, as local emulators do.
type Credentials map[string]string

// LoadCredentials reads an --auth file: one "ACCESS_KEY_ID SECRET_ACCESS_KEY" pair a line;
// blank lines and lines starting with '#' are skipped. A file without a key is refused, because
// it would look like authentication while letting nobody in.
func LoadCredentials(path string) (Credentials, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("sigv4: reading credentials: %w", err)
	}
	creds := Credentials{}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Fields(line)
		if len(f) != 2 {
			return nil, fmt.Errorf("sigv4: %s:%d: want an access key id and a secret key", path, n)
		}
		if _, dup := creds[f[0]]; dup {
			return nil, fmt.Errorf("sigv4: %s:%d: access key %s appears twice", path, n, f[0])
		}
		creds[f[0]] = f[1]
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("sigv4: reading credentials: %w", err)
	}
	if len(creds) == 0 {
		return nil, fmt.Errorf("sigv4: %s holds no access key", path)
	}
	return creds, nil
}

// MaxSkew is how far a request's X-Amz-Date may be from the server's clock, as AWS allows.
const MaxSkew = 15 * time.Minute

// MaxExpires is the longest X-Amz-Expires a presigned URL may ask for: a week, as AWS allows.
const MaxExpires = 7 * 24 * time.Hour

const (
	algorithm = "AWS4-HMAC-SHA256"
	amzDate   = "20060102T150405Z"
	// unsignedPayload stands for the body's hash where the client chose not to sign the body.
	unsignedPayload = "UNSIGNED-PAYLOAD"
)

// Verify checks r's signature, in its Authorization header or its presigned query, against
// the credentials. body is the request body, already read; now is the server's time. A
// failure is an *Error.
//
// The region and service in the credential scope are taken as the client sent them: a local
// endpoint is reached with whatever region the client is configured for, and the signature
// still proves that the caller holds the secret key.
func (c Credentials) Verify(r *http.Request, body []byte, now time.Time) error {
	return c.verify(r, body, false, now)
}

// VerifyDeclared verifies r's signature with the body's SHA-256 its X-Amz-Content-Sha256
// header declares, without the body: for S3 uploads of any size, whose service checks the
// bytes against that header as they stream to disk (and refuses them on a mismatch). Only
// for a request BodyDeclared says has such a header.
func (c Credentials) VerifyDeclared(r *http.Request, now time.Time) error {
	return c.verify(r, nil, true, now)
}

// BodyDeclared tells whether r's X-Amz-Content-Sha256 is a SHA-256 (64 lowercase hex digits).
func BodyDeclared(r *http.Request) bool {
	h := r.Header.Get("X-Amz-Content-Sha256")
	if len(h) != 64 {
		return false
	}
	for i := range len(h) {
		if c := h[i]; (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

func (c Credentials) verify(r *http.Request, body []byte, declared bool, now time.Time) error {
	s, err := parse(r.Header.Get("Authorization"), r.URL.RawQuery)
	if err != nil {
		return err
	}
	secret, ok := c[s.scope[0]]
	if !ok {
		return newError(UnknownKey, msgUnrecognizedClient)
	}
	t, err := s.checkDate(r, now)
	if err != nil {
		return err
	}
	var hash string
	if declared {
		hash = r.Header.Get("X-Amz-Content-Sha256")
	} else if hash, err = payloadHash(r, body, s); err != nil {
		return err
	}
	canonical, err := canonicalRequest(r, s, hash)
	if err != nil {
		return err
	}
	sum := sha256.Sum256([]byte(canonical))
	toSign := algorithm + "\n" + t + "\n" + strings.Join(s.scope[1:], "/") + "\n" + hex.EncodeToString(sum[:])
	key := []byte("AWS4" + secret)
	for _, part := range s.scope[1:] {
		key = hmacSHA256(key, part)
	}
	want := hex.EncodeToString(hmacSHA256(key, toSign))
	if !hmac.Equal([]byte(want), []byte(s.signature)) {
		return newError(Mismatch, msgSignatureMismatch)
	}
	return nil
}

// ServiceOf returns the service name of r's credential scope (KEY/DATE/REGION/SERVICE/
// aws4_request), from its Authorization header or its presigned URL's X-Amz-Credential; ""
// when r is not signed. It does not verify anything: routing by it is safe because the
// signature, where the server checks one, covers the scope.
func ServiceOf(r *http.Request) string {
	var credential string
	if auth := r.Header.Get("Authorization"); auth != "" {
		_, rest, _ := strings.Cut(auth, " ")
		credential = authFields(rest)["Credential"]
	} else if strings.Contains(r.URL.RawQuery, "X-Amz-Credential") {
		credential = r.URL.Query().Get("X-Amz-Credential")
	}
	scope := strings.Split(credential, "/")
	if len(scope) != 5 {
		return ""
	}
	return scope[3]
}

// checkDate checks the request's date against the scope and the server's clock, and returns it.
func (s *signed) checkDate(r *http.Request, now time.Time) (string, error) {
	date := s.date
	if !s.presigned {
		date = r.Header.Get("X-Amz-Date")
	}
	t, err := time.Parse(amzDate, date)
	if err != nil {
		if s.presigned {
			return "", newError(Incomplete, "X-Amz-Date must be in the ISO8601 Long Format \"yyyyMMdd'T'HHmmss'Z'\"")
		}
		return "", newError(Incomplete, "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.")
	}
	if !strings.HasPrefix(date, s.scope[1]) {
		return "", newError(Mismatch, "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '"+
			s.scope[1]+"' != '"+date[:8]+"', from '"+date+"'.")
	}
	now = now.UTC()
	if s.presigned {
		// A presigned URL is good from its date for its X-Amz-Expires; one dated in the future
		// beyond the clock skew AWS tolerates is not valid yet.
		if t.Sub(now) > MaxSkew {
			return "", newError(Skew, "Request is not yet valid: "+date+" is later than "+now.Add(MaxSkew).Format(amzDate)+" (now + 15 min.)")
		}
		if end := t.Add(s.expires); now.After(end) {
			return "", newError(Expired, fmt.Sprintf("Signature expired: %s is now earlier than %s (%s + %d sec.)",
				end.Format(amzDate), now.Format(amzDate), date, int64(s.expires/time.Second)))
		}
		return date, nil
	}
	if d := now.Sub(t); d > MaxSkew || d < -MaxSkew {
		return "", newError(Skew, fmt.Sprintf("Signature expired: %s is now earlier than %s (%s - 15 min.)",
			date, now.Add(-MaxSkew).Format(amzDate), now.Format(amzDate)))
	}
	return date, nil
}

// BodyUnsigned reports whether r's signature leaves its body out (X-Amz-Content-Sha256 is
// UNSIGNED-PAYLOAD, or a STREAMING-… value whose chunks carry signatures of their own), so that
// Verify needs no body and a large upload can stream past the check. The chunks' own signatures
// are not checked: the request's signature proves who sent it, as for UNSIGNED-PAYLOAD.
func BodyUnsigned(r *http.Request) bool {
	h := r.Header.Get("X-Amz-Content-Sha256")
	return h == unsignedPayload || strings.HasPrefix(h, streamingPrefix)
}

// streamingPrefix begins the X-Amz-Content-Sha256 values of aws-chunked uploads.
const streamingPrefix = "STREAMING-"

// payloadHash is the body's hash as the client put it in the canonical request.
func payloadHash(r *http.Request, body []byte, s *signed) (string, error) {
	if h := r.Header.Get("X-Amz-Content-Sha256"); strings.HasPrefix(h, streamingPrefix) {
		return h, nil
	}
	sum := sha256.Sum256(body)
	hash := hex.EncodeToString(sum[:])
	switch h := r.Header.Get("X-Amz-Content-Sha256"); h {
	case hash, unsignedPayload:
		return h, nil
	case "":
		// S3's presigned URLs never sign the body; other services' sign an empty one.
		if s.presigned && s.scope[3] == "s3" {
			return unsignedPayload, nil
		}
		return hash, nil
	}
	return "", newError(BadContentHash, "The provided 'x-amz-content-sha256' header does not match what was computed.")
}

// canonicalRequest builds SigV4's canonical form of r over the headers the client signed.
func canonicalRequest(r *http.Request, s *signed, payloadHash string) (string, error) {
	names := strings.Split(s.signedHeaders, ";")
	if !sort.StringsAreSorted(names) || !slices.Contains(names, "host") {
		return "", newError(Mismatch, msgSignatureMismatch)
	}
	var b strings.Builder
	b.WriteString(r.Method)
	b.WriteByte('\n')
	path := r.URL.EscapedPath()
	if path == "" {
		path = "/"
	}
	// Every service but S3 signs the path encoded once more (the SDKs' "URI path escaping");
	// S3 signs it as sent.
	if s.scope[3] != "s3" {
		path = encode(path, true)
	}
	b.WriteString(path)
	b.WriteByte('\n')
	b.WriteString(canonicalQuery(r.URL.Query(), s.presigned))
	b.WriteByte('\n')
	for _, name := range names {
		b.WriteString(name)
		b.WriteByte(':')
		b.WriteString(headerValue(r, name))
		b.WriteByte('\n')
	}
	b.WriteByte('\n')
	b.WriteString(s.signedHeaders)
	b.WriteByte('\n')
	b.WriteString(payloadHash)
	return b.String(), nil
}

// headerValue is a header's canonical value: its values joined by commas, each trimmed and with
// runs of spaces collapsed. Go's server moves Host and Content-Length out of the header map.
func headerValue(r *http.Request, name string) string {
	switch name {
	case "host":
		return r.Host
	case "content-length":
		if v := r.Header.Get("Content-Length"); v != "" {
			return v
		}
		return fmt.Sprint(r.ContentLength)
	}
	vals := r.Header.Values(name)
	out := make([]string, len(vals))
	for i, v := range vals {
		out[i] = strings.Join(strings.Fields(v), " ")
	}
	return strings.Join(out, ",")
}

// canonicalQuery is the query's pairs encoded and sorted; a presigned URL's own signature is
// not part of what it signs.
func canonicalQuery(q url.Values, presigned bool) string {
	var pairs []string
	for k, vs := range q {
		if presigned && k == "X-Amz-Signature" {
			continue
		}
		for _, v := range vs {
			pairs = append(pairs, encode(k, false)+"="+encode(v, false))
		}
	}
	sort.Strings(pairs)
	return strings.Join(pairs, "&")
}

// encode percent-encodes every byte but SigV4's unreserved characters (and '/', if keepSlash).
func encode(s string, keepSlash bool) string {
	const hexDigits = "0123456789ABCDEF"
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'A' <= c && c <= 'Z', 'a' <= c && c <= 'z', '0' <= c && c <= '9',
			c == '-', c == '_', c == '.', c == '~', c == '/' && keepSlash:
			b.WriteByte(c)
		default:
			b.WriteByte('%')
			b.WriteByte(hexDigits[c>>4])
			b.WriteByte(hexDigits[c&15])
		}
	}
	return b.String()
}

func hmacSHA256(key []byte, data string) []byte {
	h := hmac.New(sha256.New, key)
	h.Write([]byte(data))
	return h.Sum(nil)
}
