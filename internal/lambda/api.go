package lambda

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/stepline/stepline/internal/store"
)

// routes maps the Lambda API's REST paths (as its model declares them) to handlers.
func (s *Service) routes() {
	m := http.NewServeMux()
	m.HandleFunc("POST /2015-03-31/functions", s.createFunction)
	m.HandleFunc("POST /2015-03-31/functions/{$}", s.createFunction)
	m.HandleFunc("GET /2015-03-31/functions", s.listFunctions)
	m.HandleFunc("GET /2015-03-31/functions/{$}", s.listFunctions)
	m.HandleFunc("GET /2015-03-31/functions/{name}", s.getFunction)
	m.HandleFunc("DELETE /2015-03-31/functions/{name}", s.deleteFunction)
	m.HandleFunc("GET /2015-03-31/functions/{name}/configuration", s.getFunctionConfiguration)
	m.HandleFunc("PUT /2015-03-31/functions/{name}/configuration", s.updateFunctionConfiguration)
	m.HandleFunc("PUT /2015-03-31/functions/{name}/code", s.updateFunctionCode)
	// Not an AWS operation: where GetFunction's Code.Location points, so that the zip can be
	// downloaded as from AWS's presigned URL.
	m.HandleFunc("GET /2015-03-31/functions/{name}/code", s.downloadCode)
	m.HandleFunc("POST /2015-03-31/functions/{name}/invocations", s.invoke)
	m.HandleFunc("PUT /2017-10-31/functions/{name}/concurrency", s.putFunctionConcurrency)
	m.HandleFunc("DELETE /2017-10-31/functions/{name}/concurrency", s.deleteFunctionConcurrency)
	m.HandleFunc("GET /2019-09-30/functions/{name}/concurrency", s.getFunctionConcurrency)
	m.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, apiError(codeUnknown, http.StatusNotFound, "Unknown operation %s %s", r.Method, r.URL.Path))
	})
	s.mux = m
}

// readJSON decodes a request body of at most limit bytes into v; op names the operation in
// the error AWS gives for a request over its limit.
func readJSON(w http.ResponseWriter, r *http.Request, limit int64, op string, v any) *Error {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		return apiError(codeEntityTooLarge, http.StatusRequestEntityTooLarge, "Request must be smaller than %d bytes for the %s operation", limit, op)
	}
	if err != nil {
		return errBadContent("Could not read request body: %v", err)
	}
	if len(body) == 0 {
		return nil
	}
	if err := json.Unmarshal(body, v); err != nil {
		return errBadContent("Could not parse request body into json: %v", err)
	}
	return nil
}

func mustNotBeNull(field string) *Error {
	return apiError(codeValidation, http.StatusBadRequest,
		"1 validation error detected: Value null at '%s' failed to satisfy constraint: Member must not be null", field)
}

// createRequest is CreateFunction's body.
type createRequest struct {
	FunctionName *string `json:"FunctionName"`
	settings
	Code *struct {
		ZipFile         []byte `json:"ZipFile"`
		S3Bucket        string `json:"S3Bucket"`
		S3Key           string `json:"S3Key"`
		S3ObjectVersion string `json:"S3ObjectVersion"`
		ImageURI        string `json:"ImageUri"`
	} `json:"Code"`
	PackageType   string            `json:"PackageType"`
	Publish       bool              `json:"Publish"`
	Architectures []string          `json:"Architectures"`
	Tags          map[string]string `json:"Tags"`
}

func checkArchitectures(a []string) *Error {
	if a == nil {
		return nil
	}
	if len(a) != 1 {
		return errConstraint(a, "architectures", "Member must have length less than or equal to 1")
	}
	if a[0] != "x86_64" && a[0] != "arm64" {
		return errConstraint(a, "architectures", "Member must satisfy constraint: [Member must satisfy enum value set: [x86_64, arm64], Member must not be null]")
	}
	return nil
}

func (s *Service) createFunction(w http.ResponseWriter, r *http.Request) {
	var req createRequest
	if e := readJSON(w, r, maxCreateRequest, "CreateFunction", &req); e != nil {
		writeError(w, e)
		return
	}
	out, e := s.create(r.Context(), &req)
	if e != nil {
		writeError(w, e)
		return
	}
	writeJSON(w, http.StatusCreated, out)
}

func (s *Service) create(ctx context.Context, req *createRequest) (*functionConfiguration, *Error) {
	switch {
	case req.FunctionName == nil:
		return nil, mustNotBeNull("functionName")
	case req.Role == nil:
		return nil, mustNotBeNull("role")
	case req.Code == nil:
		return nil, mustNotBeNull("code")
	}
	ref, e := s.parseName(*req.FunctionName, "")
	if e != nil {
		return nil, e
	}
	if ref.qualifier != "" {
		return nil, errInvalid("Unsupported qualifier %s in the name of a new function.", ref.qualifier)
	}
	if e := checkArchitectures(req.Architectures); e != nil {
		return nil, e
	}
	if req.PackageType != "" && req.PackageType != "Zip" {
		if req.PackageType == "Image" {
			return nil, errInvalid("Stepline runs Zip functions only: PackageType Image is not supported.")
		}
		return nil, errConstraint(req.PackageType, "packageType", "Member must satisfy enum value set: [Image, Zip]")
	}
	c := newConfig(ref.name)
	if e := req.apply(c); e != nil {
		return nil, e
	}
	if req.Runtime == nil || req.Handler == nil || *req.Handler == "" {
		return nil, errInvalid("Runtime and Handler are mandatory parameters for functions created with deployment packages.")
	}
	if len(req.Architectures) == 1 {
		c.Architecture = req.Architectures[0]
	}
	c.Tags = req.Tags
	zipBytes, e := codeFrom(req.Code.ZipFile, req.Code.S3Bucket != "" || req.Code.ImageURI != "")
	if e != nil {
		return nil, e
	}
	// A name taken is answered before the code is unpacked; the store's unique name decides
	// a race.
	if _, err := s.o.Store.FunctionGet(ctx, &store.FunctionGetParams{Name: ref.name}); err == nil {
		return nil, apiError(codeConflict, http.StatusConflict, "Function already exist: %s", ref.name)
	} else if !errors.Is(err, store.ErrNotFound) {
		return nil, s.storeError(err)
	}
	sha := digest(zipBytes)
	if e := s.materialize(sha, zipBytes); e != nil {
		return nil, e
	}
	cfgJSON, err := json.Marshal(c)
	if err != nil {
		return nil, errService(err)
	}
	f, err := s.o.Store.FunctionCreate(ctx, &store.FunctionCreateParams{Name: ref.name, Config: cfgJSON, Code: zipBytes,
		CodeSha256: sha, RevisionID: newID(), CreatedAt: s.o.Clock.Now()})
	if errors.Is(err, store.ErrFunctionAlreadyExists) {
		return nil, apiError(codeConflict, http.StatusConflict, "Function already exist: %s", ref.name)
	}
	if err != nil {
		return nil, s.storeError(err)
	}
	s.changed(ref.name)
	return s.configurationOut(f, c), nil
}

// codeFrom returns the zip of a request's code.
func codeFrom(zipFile []byte, elsewhere bool) ([]byte, *Error) {
	switch {
	case zipFile != nil:
		return zipFile, nil
	case elsewhere:
		return nil, errInvalid("Stepline takes function code as ZipFile only: S3Bucket/S3Key and ImageUri are not supported.")
	}
	return nil, errInvalid("Please provide a source for function code.")
}

// load reads a function (without code) for the API, named as a caller named it.
func (s *Service) load(r *http.Request) (*store.Function, *config, *Error) {
	ref, e := s.parseName(r.PathValue("name"), r.URL.Query().Get("Qualifier"))
	if e != nil {
		return nil, nil, e
	}
	f, err := s.o.Store.FunctionGet(r.Context(), &store.FunctionGetParams{Name: ref.name})
	if err != nil {
		return nil, nil, s.functionError(ref.name, err)
	}
	c, err := decodeConfig(f)
	if err != nil {
		return nil, nil, errService(err)
	}
	return f, c, nil
}

func (s *Service) getFunction(w http.ResponseWriter, r *http.Request) {
	f, c, e := s.load(r)
	if e != nil {
		writeError(w, e)
		return
	}
	type codeLocation struct {
		RepositoryType string `json:"RepositoryType"`
		Location       string `json:"Location"`
	}
	type concurrency struct {
		ReservedConcurrentExecutions int `json:"ReservedConcurrentExecutions"`
	}
	out := struct {
		Configuration *functionConfiguration `json:"Configuration"`
		Code          codeLocation           `json:"Code"`
		Concurrency   *concurrency           `json:"Concurrency,omitempty"`
		Tags          map[string]string      `json:"Tags,omitempty"`
	}{
		Configuration: s.configurationOut(f, c),
		Code:          codeLocation{"S3", s.codeURL(f.Name, f.CodeSha256)},
		Tags:          c.Tags,
	}
	if f.ReservedConcurrency != nil {
		out.Concurrency = &concurrency{*f.ReservedConcurrency}
	}
	writeJSON(w, http.StatusOK, out)
}

// codeLinkTTL is how long a Code.Location link works, as long as AWS's presigned ones.
const codeLinkTTL = 10 * time.Minute

// codeURL is a link to a function's code zip that works unsigned for codeLinkTTL, as the
// presigned S3 URL GetFunction returns on AWS: it names the code's digest and its expiry, signed
// with the service's key.
func (s *Service) codeURL(name, sha string) string {
	expires := strconv.FormatInt(s.o.Clock.Now().Add(codeLinkTTL).Unix(), 10)
	q := url.Values{"digest": {sha}, "expires": {expires}, "signature": {s.codeSignature(name, sha, expires)}}
	return s.o.Endpoint + "/2015-03-31/functions/" + url.PathEscape(name) + "/code?" + q.Encode()
}

func (s *Service) codeSignature(name, sha, expires string) string {
	h := hmac.New(sha256.New, s.urlKey)
	h.Write([]byte(name + "\n" + sha + "\n" + expires))
	return hex.EncodeToString(h.Sum(nil))
}

// downloadCode answers a Code.Location link: only a link this service signed, before it
// expires, for the code the function still has.
func (s *Service) downloadCode(w http.ResponseWriter, r *http.Request) {
	name, q := r.PathValue("name"), r.URL.Query()
	sha, expires := q.Get("digest"), q.Get("expires")
	at, err := strconv.ParseInt(expires, 10, 64)
	if err != nil || !hmac.Equal([]byte(s.codeSignature(name, sha, expires)), []byte(q.Get("signature"))) {
		writeError(w, apiError("AccessDeniedException", http.StatusForbidden, "The code link is not valid."))
		return
	}
	if s.o.Clock.Now().Unix() > at {
		writeError(w, apiError("AccessDeniedException", http.StatusForbidden, "The code link has expired."))
		return
	}
	f, err := s.o.Store.FunctionGet(r.Context(), &store.FunctionGetParams{Name: name, WithCode: true})
	if err == nil && f.CodeSha256 != sha {
		err = store.ErrNotFound // the code changed since the link was made
	}
	if err != nil {
		writeError(w, s.functionError(name, err))
		return
	}
	w.Header().Set("Content-Type", "application/zip")
	w.Header().Set("Content-Length", strconv.Itoa(len(f.Code)))
	_, _ = w.Write(f.Code)
}

func (s *Service) getFunctionConfiguration(w http.ResponseWriter, r *http.Request) {
	f, c, e := s.load(r)
	if e != nil {
		writeError(w, e)
		return
	}
	writeJSON(w, http.StatusOK, s.configurationOut(f, c))
}

// listPageMax is the most functions Lambda returns in one page, whatever MaxItems says.
const listPageMax = 50

func (s *Service) listFunctions(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	limit := listPageMax
	if v := q.Get("MaxItems"); v != "" {
		n, err := strconv.Atoi(v)
		switch {
		case err != nil:
			writeError(w, errBadContent("MaxItems %q is not a number", v))
			return
		case n < 1:
			writeError(w, errConstraint(n, "maxItems", "Member must have value greater than or equal to 1"))
			return
		case n > 10000:
			writeError(w, errConstraint(n, "maxItems", "Member must have value less than or equal to 10000"))
			return
		}
		limit = min(n, listPageMax)
	}
	if v := q.Get("FunctionVersion"); v != "" && v != "ALL" {
		writeError(w, errConstraint(v, "functionVersion", "Member must satisfy enum value set: [ALL]"))
		return
	}
	page, err := s.o.Store.FunctionList(r.Context(), &store.FunctionListParams{Limit: limit, Cursor: q.Get("Marker")})
	if errors.Is(err, store.ErrInvalidCursor) {
		writeError(w, errInvalid("Invalid Marker: %s", q.Get("Marker")))
		return
	}
	if err != nil {
		writeError(w, s.storeError(err))
		return
	}
	out := struct {
		Functions  []*functionConfiguration `json:"Functions"`
		NextMarker string                   `json:"NextMarker,omitempty"`
	}{Functions: []*functionConfiguration{}, NextMarker: page.NextCursor}
	for _, f := range page.Functions {
		c, err := decodeConfig(f)
		if err != nil {
			writeError(w, errService(err))
			return
		}
		out.Functions = append(out.Functions, s.configurationOut(f, c))
	}
	writeJSON(w, http.StatusOK, out)
}

// update writes a changed configuration (and maybe code) of a function read as f, as a
// compare-and-swap on f's revision. ifRevision is the caller's RevisionId: when it is set, a
// function changed since is PreconditionFailed; when it is not, the change is made again on
// the newer function (modify reads the function and applies the change).
func (s *Service) update(ctx context.Context, name, ifRevision string, modify func(f *store.Function, c *config) (code []byte, e *Error)) (*functionConfiguration, *Error) {
	for attempt := 0; ; attempt++ {
		f, err := s.o.Store.FunctionGet(ctx, &store.FunctionGetParams{Name: name})
		if err != nil {
			return nil, s.functionError(name, err)
		}
		if ifRevision != "" && ifRevision != f.RevisionID {
			return nil, errPrecondition()
		}
		c, err := decodeConfig(f)
		if err != nil {
			return nil, errService(err)
		}
		code, e := modify(f, c)
		if e != nil {
			return nil, e
		}
		cfgJSON, err := json.Marshal(c)
		if err != nil {
			return nil, errService(err)
		}
		p := &store.FunctionUpdateParams{Name: name, IfRevisionID: f.RevisionID, RevisionID: newID(), Config: cfgJSON,
			UpdatedAt: s.o.Clock.Now()}
		if code != nil {
			p.Code, p.CodeSha256 = code, digest(code)
		}
		up, err := s.o.Store.FunctionUpdate(ctx, p)
		switch {
		case errors.Is(err, store.ErrConflict) && ifRevision == "" && attempt < 5:
			continue
		case errors.Is(err, store.ErrConflict):
			return nil, errPrecondition()
		case errors.Is(err, store.ErrNotFound):
			return nil, errNotFound(s.arn(name))
		case err != nil:
			return nil, s.storeError(err)
		}
		s.changed(name)
		return s.configurationOut(up, c), nil
	}
}

func errPrecondition() *Error {
	return apiError(codePrecondition, http.StatusPreconditionFailed,
		"The Revision Id provided does not match the latest Revision Id. Call the GetFunction/GetAlias API to retrieve the latest Revision Id")
}

func (s *Service) updateFunctionConfiguration(w http.ResponseWriter, r *http.Request) {
	var req struct {
		settings
		RevisionID string `json:"RevisionId"`
	}
	if e := readJSON(w, r, 1<<20, "UpdateFunctionConfiguration", &req); e != nil {
		writeError(w, e)
		return
	}
	ref, e := s.parseName(r.PathValue("name"), "")
	if e != nil {
		writeError(w, e)
		return
	}
	out, e := s.update(r.Context(), ref.name, req.RevisionID, func(_ *store.Function, c *config) ([]byte, *Error) {
		if e := req.apply(c); e != nil {
			return nil, e
		}
		if c.Handler == "" {
			return nil, errInvalid("Runtime and Handler are mandatory parameters for functions created with deployment packages.")
		}
		return nil, nil
	})
	if e != nil {
		writeError(w, e)
		return
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Service) updateFunctionCode(w http.ResponseWriter, r *http.Request) {
	var req struct {
		ZipFile       []byte   `json:"ZipFile"`
		S3Bucket      string   `json:"S3Bucket"`
		ImageURI      string   `json:"ImageUri"`
		RevisionID    string   `json:"RevisionId"`
		DryRun        bool     `json:"DryRun"`
		Publish       bool     `json:"Publish"`
		Architectures []string `json:"Architectures"`
	}
	if e := readJSON(w, r, maxCreateRequest, "UpdateFunctionCode", &req); e != nil {
		writeError(w, e)
		return
	}
	ref, e := s.parseName(r.PathValue("name"), "")
	if e != nil {
		writeError(w, e)
		return
	}
	if e := checkArchitectures(req.Architectures); e != nil {
		writeError(w, e)
		return
	}
	zipBytes, e := codeFrom(req.ZipFile, req.S3Bucket != "" || req.ImageURI != "")
	if e != nil {
		writeError(w, e)
		return
	}
	if e := s.materialize(digest(zipBytes), zipBytes); e != nil {
		writeError(w, e)
		return
	}
	if req.DryRun {
		f, c, e := s.load(r)
		if e != nil {
			writeError(w, e)
			return
		}
		if req.RevisionID != "" && req.RevisionID != f.RevisionID {
			writeError(w, errPrecondition())
			return
		}
		dry := *f
		dry.CodeSha256, dry.CodeSize = digest(zipBytes), int64(len(zipBytes))
		writeJSON(w, http.StatusOK, s.configurationOut(&dry, c))
		return
	}
	out, e := s.update(r.Context(), ref.name, req.RevisionID, func(_ *store.Function, c *config) ([]byte, *Error) {
		if len(req.Architectures) == 1 {
			c.Architecture = req.Architectures[0]
		}
		return zipBytes, nil
	})
	if e != nil {
		writeError(w, e)
		return
	}
	writeJSON(w, http.StatusOK, out)
}

// functionError is the Lambda error for a store call about function name that failed.
func (s *Service) functionError(name string, err error) *Error {
	if errors.Is(err, store.ErrNotFound) {
		return errNotFound(s.arn(name))
	}
	return s.storeError(err)
}

func (s *Service) deleteFunction(w http.ResponseWriter, r *http.Request) {
	ref, e := s.parseName(r.PathValue("name"), r.URL.Query().Get("Qualifier"))
	if e != nil {
		writeError(w, e)
		return
	}
	if ref.qualifier == latest {
		writeError(w, errInvalid("$LATEST version cannot be deleted without deleting the function."))
		return
	}
	err := s.o.Store.FunctionDelete(r.Context(), &store.FunctionDeleteParams{Name: ref.name})
	if err != nil {
		writeError(w, s.functionError(ref.name, err))
		return
	}
	s.changed(ref.name)
	w.WriteHeader(http.StatusNoContent)
}

// Lambda's account concurrency, of which reservations must leave unreservedMin to the rest.
const (
	accountConcurrency = 1000
	unreservedMin      = 100
)

type concurrencyOut struct {
	ReservedConcurrentExecutions *int `json:"ReservedConcurrentExecutions,omitempty"`
}

func (s *Service) putFunctionConcurrency(w http.ResponseWriter, r *http.Request) {
	var req struct {
		ReservedConcurrentExecutions *int `json:"ReservedConcurrentExecutions"`
	}
	if e := readJSON(w, r, 1<<16, "PutFunctionConcurrency", &req); e != nil {
		writeError(w, e)
		return
	}
	ref, e := s.parseName(r.PathValue("name"), "")
	if e != nil {
		writeError(w, e)
		return
	}
	n := req.ReservedConcurrentExecutions
	switch {
	case n == nil:
		writeError(w, mustNotBeNull("reservedConcurrentExecutions"))
		return
	case *n < 0:
		writeError(w, errConstraint(*n, "reservedConcurrentExecutions", "Member must have value greater than or equal to 0"))
		return
	}
	if _, _, e := s.load(r); e != nil {
		writeError(w, e)
		return
	}
	others, e := s.reservedElsewhere(r.Context(), ref.name)
	if e != nil {
		writeError(w, e)
		return
	}
	if others+*n > accountConcurrency-unreservedMin {
		writeError(w, errInvalid("Specified ReservedConcurrentExecutions for function decreases account's UnreservedConcurrentExecution below its minimum value of [%d].", unreservedMin))
		return
	}
	err := s.o.Store.FunctionConcurrencyPut(r.Context(), &store.FunctionConcurrencyPutParams{Name: ref.name, Reserved: n})
	if err != nil {
		writeError(w, s.functionError(ref.name, err))
		return
	}
	s.forget(ref.name)
	writeJSON(w, http.StatusOK, concurrencyOut{n})
}

// reservedElsewhere sums the reserved concurrency of every function but name.
func (s *Service) reservedElsewhere(ctx context.Context, name string) (int, *Error) {
	total, cursor := 0, ""
	for {
		page, err := s.o.Store.FunctionList(ctx, &store.FunctionListParams{Limit: store.MaxPageSize, Cursor: cursor})
		if err != nil {
			return 0, s.storeError(err)
		}
		for _, f := range page.Functions {
			if f.Name != name && f.ReservedConcurrency != nil {
				total += *f.ReservedConcurrency
			}
		}
		if cursor = page.NextCursor; cursor == "" {
			return total, nil
		}
	}
}

func (s *Service) getFunctionConcurrency(w http.ResponseWriter, r *http.Request) {
	f, _, e := s.load(r)
	if e != nil {
		writeError(w, e)
		return
	}
	writeJSON(w, http.StatusOK, concurrencyOut{f.ReservedConcurrency})
}

func (s *Service) deleteFunctionConcurrency(w http.ResponseWriter, r *http.Request) {
	ref, e := s.parseName(r.PathValue("name"), "")
	if e != nil {
		writeError(w, e)
		return
	}
	err := s.o.Store.FunctionConcurrencyPut(r.Context(), &store.FunctionConcurrencyPutParams{Name: ref.name})
	if err != nil {
		writeError(w, s.functionError(ref.name, err))
		return
	}
	s.forget(ref.name)
	w.WriteHeader(http.StatusNoContent)
}
