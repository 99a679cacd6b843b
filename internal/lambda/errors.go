package lambda

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
)

// The codes of Lambda's errors, as its API model names them.
const (
	codeNotFound       = "ResourceNotFoundException"
	codeConflict       = "ResourceConflictException"
	codeInvalid        = "InvalidParameterValueException"
	codeValidation     = "ValidationException"
	codePrecondition   = "PreconditionFailedException"
	codeTooLarge       = "RequestTooLargeException"
	codeEntityTooLarge = "RequestEntityTooLargeException"
	codeBadContent     = "InvalidRequestContentException"
	codeThrottled      = "TooManyRequestsException"
	codeService        = "ServiceException"
	codeUnknown        = "UnknownOperationException"
)

func apiError(code string, status int, format string, args ...any) *Error {
	return &Error{Code: code, Status: status, Message: fmt.Sprintf(format, args...)}
}

func errNotFound(arn string) *Error {
	return apiError(codeNotFound, http.StatusNotFound, "Function not found: %s", arn)
}

func errInvalid(format string, args ...any) *Error {
	return apiError(codeInvalid, http.StatusBadRequest, format, args...)
}

// errConstraint is the model's own validation, in the words AWS's front end uses for it.
func errConstraint(value any, field, constraint string) *Error {
	return apiError(codeValidation, http.StatusBadRequest,
		"1 validation error detected: Value '%v' at '%s' failed to satisfy constraint: %s", value, field, constraint)
}

func errBadContent(format string, args ...any) *Error {
	return apiError(codeBadContent, http.StatusBadRequest, format, args...)
}

func errService(err error) *Error {
	return apiError(codeService, http.StatusInternalServerError, "%v", err)
}

// writeError answers as Lambda does: the code in X-Amzn-ErrorType (which the SDKs read
// first), and a JSON body with Type and message.
func writeError(w http.ResponseWriter, e *Error) {
	typ := "User"
	if e.Status >= 500 {
		typ = "Service"
	}
	body := map[string]string{"Type": typ, "message": e.Message}
	if e.Code == codeThrottled {
		body["Reason"] = "ReservedFunctionConcurrentInvocationLimitExceeded"
	}
	b, _ := json.Marshal(body) // a map of strings always marshals
	h := w.Header()
	h.Set("X-Amzn-Errortype", e.Code)
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(e.Status)
	_, _ = w.Write(b)
}
