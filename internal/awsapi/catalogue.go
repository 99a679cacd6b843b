package awsapi

import "net/http"

// catalogue maps every error code this API returns to the HTTP status AWS sends with it. It
// is data, read only, in one place: adding an action's error means adding a row here, and the
// tests check that every code the service can return has one.
//
// AWS sends 400 for every modelled Step Functions error; the exceptions are the protocol's own
// (oversized requests, internal failures).
var catalogue = map[string]int{
	// Step Functions' modelled errors.
	"ActivityAlreadyExists":          http.StatusBadRequest,
	"ActivityDoesNotExist":           http.StatusBadRequest,
	"ActivityLimitExceeded":          http.StatusBadRequest,
	"ActivityWorkerLimitExceeded":    http.StatusBadRequest,
	"ConflictException":              http.StatusBadRequest,
	"ExecutionAlreadyExists":         http.StatusBadRequest,
	"ExecutionDoesNotExist":          http.StatusBadRequest,
	"ExecutionLimitExceeded":         http.StatusBadRequest,
	"ExecutionNotRedrivable":         http.StatusBadRequest,
	"InvalidArn":                     http.StatusBadRequest,
	"InvalidDefinition":              http.StatusBadRequest,
	"InvalidEncryptionConfiguration": http.StatusBadRequest,
	"InvalidExecutionInput":          http.StatusBadRequest,
	"InvalidLoggingConfiguration":    http.StatusBadRequest,
	"InvalidName":                    http.StatusBadRequest,
	"InvalidOutput":                  http.StatusBadRequest,
	"InvalidToken":                   http.StatusBadRequest,
	"InvalidTracingConfiguration":    http.StatusBadRequest,
	"MissingRequiredParameter":       http.StatusBadRequest,
	"ResourceNotFound":               http.StatusBadRequest,
	"ServiceQuotaExceededException":  http.StatusPaymentRequired,
	"StateMachineAlreadyExists":      http.StatusBadRequest,
	"StateMachineDeleting":           http.StatusBadRequest,
	"StateMachineDoesNotExist":       http.StatusBadRequest,
	"StateMachineLimitExceeded":      http.StatusBadRequest,
	"StateMachineTypeNotSupported":   http.StatusBadRequest,
	"TaskDoesNotExist":               http.StatusBadRequest,
	"TaskTimedOut":                   http.StatusBadRequest,
	"TooManyTags":                    http.StatusBadRequest,
	"ValidationException":            http.StatusBadRequest,

	// The AWS JSON protocol's common errors (those of signatures are the server's router's).
	"InternalFailure":                http.StatusInternalServerError,
	"RequestEntityTooLargeException": http.StatusRequestEntityTooLarge,
	"SerializationException":         http.StatusBadRequest,
	"ServiceUnavailable":             http.StatusServiceUnavailable,
	"ThrottlingException":            http.StatusBadRequest,
	"UnknownOperationException":      http.StatusBadRequest,
}

// Codes of the protocol's own errors.
const (
	codeInternalFailure    = "InternalFailure"
	codeServiceUnavailable = "ServiceUnavailable"
	codeTooLarge           = "RequestEntityTooLargeException"
	codeSerialization      = "SerializationException"
	codeUnknownOperation   = "UnknownOperationException"
	codeValidation         = "ValidationException"
)

// status returns the HTTP status of an error code; a code missing from the catalogue is a bug,
// reported as AWS reports its own: 500.
func status(code string) int {
	if s, ok := catalogue[code]; ok {
		return s
	}
	return http.StatusInternalServerError
}
