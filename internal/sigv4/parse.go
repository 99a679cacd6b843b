package sigv4

import (
	"net/url"
	"strconv"
	"strings"
	"time"
)

// signed is what a request says about its signature, from its Authorization header or from
// its presigned URL's query.
type signed struct {
	presigned bool
	// scope is the credential: access key, date, region, service, "aws4_request".
	scope         []string
	signedHeaders string
	signature     string
	// date and expires come from a presigned URL's query; a header-signed request's date is
	// its X-Amz-Date header.
	date    string
	expires time.Duration
}

// parse reads the signature of a request from its Authorization header and raw query. A
// request with neither is refused as unsigned, and one with both as ambiguous, as AWS does.
func parse(auth, rawQuery string) (*signed, error) {
	var q url.Values
	if strings.Contains(rawQuery, "X-Amz-") {
		// A malformed pair is dropped, as the server's own query parsing drops it.
		q, _ = url.ParseQuery(rawQuery)
	}
	presigned := q.Has("X-Amz-Algorithm")
	switch {
	case auth != "" && presigned:
		return nil, newError(Incomplete, "Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter, "+
			"Signature query string parameter or the Authorization header should be specified")
	case auth != "":
		return parseHeader(auth)
	case presigned:
		return parseQuery(q)
	}
	return nil, newError(Missing, "Missing Authentication Token")
}

func parseHeader(auth string) (*signed, error) {
	alg, rest, _ := strings.Cut(auth, " ")
	if alg != algorithm {
		return nil, newError(Incomplete, "Unsupported AWS 'algorithm': '"+alg+"'")
	}
	fields := authFields(rest)
	credential, headers, signature := fields["Credential"], fields["SignedHeaders"], fields["Signature"]
	if credential == "" || headers == "" || signature == "" {
		return nil, newError(Incomplete,
			"Authorization header requires 'Credential', 'SignedHeaders' and 'Signature' parameters. Authorization="+auth)
	}
	scope, err := parseScope(credential)
	if err != nil {
		return nil, err
	}
	return &signed{scope: scope, signedHeaders: headers, signature: signature}, nil
}

// authFields splits the "K=V, K=V" list that follows the algorithm in an Authorization header.
func authFields(s string) map[string]string {
	fields := map[string]string{}
	for part := range strings.SplitSeq(s, ",") {
		if k, v, ok := strings.Cut(strings.TrimSpace(part), "="); ok {
			fields[k] = v
		}
	}
	return fields
}

func parseQuery(q url.Values) (*signed, error) {
	if alg := q.Get("X-Amz-Algorithm"); alg != algorithm {
		return nil, newError(Incomplete, "X-Amz-Algorithm only supports \""+algorithm+"\"")
	}
	s := &signed{presigned: true, signedHeaders: q.Get("X-Amz-SignedHeaders"), signature: q.Get("X-Amz-Signature"),
		date: q.Get("X-Amz-Date")}
	credential, expires := q.Get("X-Amz-Credential"), q.Get("X-Amz-Expires")
	if credential == "" || s.signedHeaders == "" || s.signature == "" || s.date == "" || expires == "" {
		return nil, newError(Incomplete, "Query-string authentication version 4 requires the X-Amz-Algorithm, X-Amz-Credential, "+
			"X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, and X-Amz-Expires parameters.")
	}
	n, err := strconv.ParseInt(expires, 10, 64)
	switch {
	case err != nil || n < 0:
		return nil, newError(Incomplete, "X-Amz-Expires should be a number")
	case n > int64(MaxExpires/time.Second):
		return nil, newError(Incomplete, "X-Amz-Expires must be less than a week (in seconds) that is 604800")
	}
	s.expires = time.Duration(n) * time.Second
	if s.scope, err = parseScope(credential); err != nil {
		return nil, err
	}
	return s, nil
}

// parseScope splits KEY/DATE/REGION/SERVICE/aws4_request; the key itself may not hold a '/'.
func parseScope(credential string) ([]string, error) {
	scope := strings.Split(credential, "/")
	if len(scope) != 5 || scope[4] != "aws4_request" {
		return nil, newError(Incomplete, "Credential should be scoped to a valid region and service: "+credential)
	}
	return scope, nil
}
