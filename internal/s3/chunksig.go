package s3

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"hash"
	"net/http"
	"strings"
)

// Chunk signatures of STREAMING-AWS4-HMAC-SHA256-PAYLOAD bodies: the request's signature (the
// "seed") signs the headers, and each chunk carries a signature chaining the previous one and
// the chunk's SHA-256, made with the same signing key. The router verifies the seed; checking
// the chain here is what proves the bytes came from the key's holder.

var (
	errChunkSignature = &apiError{"SignatureDoesNotMatch", http.StatusForbidden, "The request signature we calculated does not match the signature you provided. Check your key and signing method."}
	errChunkKey       = &apiError{"InvalidAccessKeyId", http.StatusForbidden, "The AWS Access Key Id you provided does not exist in our records."}
	errChunkAuth      = &apiError{"AccessDenied", http.StatusForbidden, "A signed aws-chunked body needs the request's Authorization header"}
)

// emptySHA256 is the SHA-256 of nothing, in hex, which each chunk's string to sign holds.
const emptySHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

// chunkSigner checks a body's chunk signatures in order.
type chunkSigner struct {
	key   []byte // the SigV4 signing key of the request's scope
	date  string // X-Amz-Date
	scope string // DATE/REGION/SERVICE/aws4_request
	prev  string // the previous chunk's signature; the seed for the first
	data  hash.Hash
}

// newChunkSigner reads the seed and scope from r's Authorization header and derives the
// signing key from the secret of its access key (secrets: access key → secret key).
func newChunkSigner(r *http.Request, secrets map[string]string) (*chunkSigner, error) {
	alg, rest, _ := strings.Cut(r.Header.Get("Authorization"), " ")
	if alg != "AWS4-HMAC-SHA256" {
		return nil, errChunkAuth
	}
	var credential, seed string
	for part := range strings.SplitSeq(rest, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(part), "=")
		switch k {
		case "Credential":
			credential = v
		case "Signature":
			seed = v
		}
	}
	scope := strings.Split(credential, "/")
	if len(scope) != 5 || seed == "" {
		return nil, errChunkAuth
	}
	secret, ok := secrets[scope[0]]
	if !ok {
		return nil, errChunkKey
	}
	key := []byte("AWS4" + secret)
	for _, part := range scope[1:] {
		key = hmacSHA256(key, part)
	}
	return &chunkSigner{key: key, date: r.Header.Get("X-Amz-Date"), scope: strings.Join(scope[1:], "/"),
		prev: seed, data: sha256.New()}, nil
}

// check verifies the signature of the chunk whose bytes went through c.data, and resets it.
func (c *chunkSigner) check(signature string) error {
	toSign := "AWS4-HMAC-SHA256-PAYLOAD\n" + c.date + "\n" + c.scope + "\n" + c.prev + "\n" + emptySHA256 + "\n" +
		hex.EncodeToString(c.data.Sum(nil))
	c.data.Reset()
	want := hex.EncodeToString(hmacSHA256(c.key, toSign))
	if !hmac.Equal([]byte(want), []byte(signature)) {
		return errChunkSignature
	}
	c.prev = signature
	return nil
}

func hmacSHA256(key []byte, data string) []byte {
	h := hmac.New(sha256.New, key)
	h.Write([]byte(data))
	return h.Sum(nil)
}
