package awsapi

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

// Credentials are the access keys a server accepts, each with its secret key. With none, the
// API accepts any request, signed or not, as local emulators do.
type Credentials map[string]string

// LoadCredentials reads an --auth file: one "ACCESS_KEY_ID SECRET_ACCESS_KEY" pair a line;
// blank lines and lines starting with '#' are skipped. A file without a key is refused, because
// it would look like authentication while letting nobody in.
func LoadCredentials(path string) (Credentials, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("awsapi: reading credentials: %w", err)
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
			return nil, fmt.Errorf("awsapi: %s:%d: want an access key id and a secret key", path, n)
		}
		if _, dup := creds[f[0]]; dup {
			return nil, fmt.Errorf("awsapi: %s:%d: access key %s appears twice", path, n, f[0])
		}
		creds[f[0]] = f[1]
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("awsapi: reading credentials: %w", err)
	}
	if len(creds) == 0 {
		return nil, fmt.Errorf("awsapi: %s holds no access key", path)
	}
	return creds, nil
}

// maxSkew is how far a request's X-Amz-Date may be from the server's clock, as AWS allows.
const maxSkew = 15 * time.Minute

const (
	sigAlgorithm = "AWS4-HMAC-SHA256"
	amzDate      = "20060102T150405Z"
)

// Codes of authentication failures, as AWS's JSON services send them.
const (
	codeMissingToken      = "MissingAuthenticationTokenException"
	codeIncompleteSig     = "IncompleteSignatureException"
	codeUnrecognized      = "UnrecognizedClientException"
	codeInvalidSignature  = "InvalidSignatureException"
	msgUnrecognizedClient = "The security token included in the request is invalid."
	msgSignatureMismatch  = "The request signature we calculated does not match the signature you provided. " +
		"Check your AWS Secret Access Key and signing method. Consult the service documentation for details."
)

// verify checks r's Signature Version 4 Authorization header against the credentials. body is
// the request body, already read; now is the server's time.
//
// The region and service in the credential scope are taken as the client sent them: a local
// endpoint is reached with whatever region the client is configured for, and the signature
// still proves that the caller holds the secret key.
func (c Credentials) verify(r *http.Request, body []byte, now time.Time) error {
	auth := r.Header.Get("Authorization")
	if auth == "" {
		return &apiError{Code: codeMissingToken, Message: "Missing Authentication Token"}
	}
	alg, rest, _ := strings.Cut(auth, " ")
	if alg != sigAlgorithm {
		return &apiError{Code: codeIncompleteSig, Message: "Unsupported AWS 'algorithm': '" + alg + "'"}
	}
	fields := map[string]string{}
	for _, part := range strings.Split(rest, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if ok {
			fields[k] = v
		}
	}
	credential, signed, signature := fields["Credential"], fields["SignedHeaders"], fields["Signature"]
	if credential == "" || signed == "" || signature == "" {
		return &apiError{Code: codeIncompleteSig,
			Message: "Authorization header requires 'Credential', 'SignedHeaders' and 'Signature' parameters. Authorization=" + auth}
	}
	// Credential is KEY/DATE/REGION/SERVICE/aws4_request; the key itself may not hold a '/'.
	scope := strings.Split(credential, "/")
	if len(scope) != 5 || scope[4] != "aws4_request" {
		return &apiError{Code: codeIncompleteSig, Message: "Credential should be scoped to a valid region and service: " + credential}
	}
	secret, ok := c[scope[0]]
	if !ok {
		return &apiError{Code: codeUnrecognized, Message: msgUnrecognizedClient}
	}
	date := r.Header.Get("X-Amz-Date")
	t, err := time.Parse(amzDate, date)
	if err != nil {
		return &apiError{Code: codeIncompleteSig, Message: "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header."}
	}
	if !strings.HasPrefix(date, scope[1]) {
		return &apiError{Code: codeInvalidSignature, Message: "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '" +
			scope[1] + "' != '" + date[:8] + "', from '" + date + "'."}
	}
	if d := now.Sub(t); d > maxSkew || d < -maxSkew {
		return &apiError{Code: codeInvalidSignature, Message: fmt.Sprintf("Signature expired: %s is now earlier than %s (%s - 15 min.)",
			date, now.UTC().Add(-maxSkew).Format(amzDate), now.UTC().Format(amzDate))}
	}
	canonical, err := canonicalRequest(r, body, signed)
	if err != nil {
		return err
	}
	sum := sha256.Sum256([]byte(canonical))
	toSign := sigAlgorithm + "\n" + date + "\n" + strings.Join(scope[1:], "/") + "\n" + hex.EncodeToString(sum[:])
	key := []byte("AWS4" + secret)
	for _, s := range scope[1:] {
		key = hmacSHA256(key, s)
	}
	want := hex.EncodeToString(hmacSHA256(key, toSign))
	if !hmac.Equal([]byte(want), []byte(signature)) {
		return &apiError{Code: codeInvalidSignature, Message: msgSignatureMismatch}
	}
	return nil
}

// canonicalRequest builds SigV4's canonical form of r over the headers the client signed.
func canonicalRequest(r *http.Request, body []byte, signedHeaders string) (string, error) {
	var b strings.Builder
	b.WriteString(r.Method)
	b.WriteByte('\n')
	path := r.URL.EscapedPath()
	if path == "" {
		path = "/"
	}
	b.WriteString(path)
	b.WriteByte('\n')
	b.WriteString(canonicalQuery(r.URL.Query()))
	b.WriteByte('\n')
	names := strings.Split(signedHeaders, ";")
	if !sort.StringsAreSorted(names) || !slices.Contains(names, "host") {
		return "", &apiError{Code: codeInvalidSignature, Message: msgSignatureMismatch}
	}
	for _, name := range names {
		b.WriteString(name)
		b.WriteByte(':')
		b.WriteString(headerValue(r, name))
		b.WriteByte('\n')
	}
	b.WriteByte('\n')
	b.WriteString(signedHeaders)
	b.WriteByte('\n')
	sum := sha256.Sum256(body)
	hash := hex.EncodeToString(sum[:])
	switch h := r.Header.Get("X-Amz-Content-Sha256"); h {
	case "", hash:
		b.WriteString(hash)
	case "UNSIGNED-PAYLOAD":
		b.WriteString(h)
	default:
		return "", &apiError{Code: codeInvalidSignature, Message: "The provided 'x-amz-content-sha256' header does not match what was computed."}
	}
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

func canonicalQuery(q url.Values) string {
	if len(q) == 0 {
		return ""
	}
	var pairs []string
	for k, vs := range q {
		for _, v := range vs {
			pairs = append(pairs, uriEncode(k)+"="+uriEncode(v))
		}
	}
	sort.Strings(pairs)
	return strings.Join(pairs, "&")
}

// uriEncode percent-encodes everything but SigV4's unreserved characters.
func uriEncode(s string) string {
	return strings.ReplaceAll(url.QueryEscape(s), "+", "%20")
}

func hmacSHA256(key []byte, data string) []byte {
	h := hmac.New(sha256.New, key)
	h.Write([]byte(data))
	return h.Sum(nil)
}
