package sigv4

import "net/http"

// Reason is why a request's signature was refused; protocols that name failures their own way
// (S3) render by it.
type Reason int

// The reasons a signature is refused.
const (
	// Missing: the request is not signed.
	Missing Reason = iota + 1
	// Incomplete: the signature is malformed or lacks a part.
	Incomplete
	// UnknownKey: the access key is not one of the server's.
	UnknownKey
	// Mismatch: the signature is not the one the secret key makes for this request.
	Mismatch
	// Skew: the request's date is too far from the server's clock.
	Skew
	// Expired: a presigned URL's X-Amz-Expires has passed.
	Expired
	// BadContentHash: X-Amz-Content-Sha256 is not the body's hash.
	BadContentHash
)

// Error is a refused signature. Code, Message and Status are what AWS's JSON protocols send;
// REST protocols render Reason and Message in their own shape (see S3).
type Error struct {
	Reason  Reason
	Code    string
	Message string
	Status  int
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

// Messages AWS sends, word for word.
const (
	msgUnrecognizedClient = "The security token included in the request is invalid."
	msgSignatureMismatch  = "The request signature we calculated does not match the signature you provided. " +
		"Check your AWS Secret Access Key and signing method. Consult the service documentation for details."
)

// reasons holds, for each reason, the code of AWS's JSON protocols and S3's code, status and
// message (none where S3 words it as the JSON services do).
var reasons = map[Reason]struct {
	code      string
	s3Code    string
	s3Status  int
	s3Message string
}{
	Missing:        {code: "MissingAuthenticationTokenException", s3Code: "AccessDenied", s3Status: http.StatusForbidden, s3Message: "Access Denied"},
	Incomplete:     {code: "IncompleteSignatureException", s3Code: "AuthorizationHeaderMalformed", s3Status: http.StatusBadRequest},
	UnknownKey:     {code: "UnrecognizedClientException", s3Code: "InvalidAccessKeyId", s3Status: http.StatusForbidden, s3Message: "The AWS Access Key Id you provided does not exist in our records."},
	Mismatch:       {code: "InvalidSignatureException", s3Code: "SignatureDoesNotMatch", s3Status: http.StatusForbidden, s3Message: "The request signature we calculated does not match the signature you provided. Check your key and signing method."},
	Skew:           {code: "InvalidSignatureException", s3Code: "RequestTimeTooSkewed", s3Status: http.StatusForbidden, s3Message: "The difference between the request time and the current time is too large."},
	Expired:        {code: "InvalidSignatureException", s3Code: "AccessDenied", s3Status: http.StatusForbidden, s3Message: "Request has expired"},
	BadContentHash: {code: "InvalidSignatureException", s3Code: "XAmzContentSHA256Mismatch", s3Status: http.StatusBadRequest},
}

func newError(r Reason, message string) *Error {
	// AWS's JSON services answer every signature failure with 400.
	return &Error{Reason: r, Code: reasons[r].code, Message: message, Status: http.StatusBadRequest}
}

// S3 returns the code, HTTP status and message S3 sends for this failure.
func (e *Error) S3() (code string, status int, message string) {
	r := reasons[e.Reason]
	if r.s3Message == "" {
		return r.s3Code, r.s3Status, e.Message
	}
	return r.s3Code, r.s3Status, r.s3Message
}
