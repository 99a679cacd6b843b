package teststate

import (
	"slices"
	"strings"

	"github.com/stepline/stepline/internal/jsonv"
)

// The fieldValidationMode values of a mock: STRICT (the default) checks the mocked result
// against the integration's API response shape, required fields included; PRESENT checks only
// the fields the result has; NONE checks nothing.
const (
	modeStrict  = "STRICT"
	modePresent = "PRESENT"
	modeNone    = "NONE"
)

// shape is a response shape from an AWS API model, as far as mock validation reads it. Members
// not in a shape are accepted, as AWS accepts them.
type shape struct {
	kind     kind
	min, max *float64 // length of strings and blobs, value of numbers
	enum     []string
	members  map[string]*shape
	required []string
	elem     *shape // lists and maps
}

type kind uint8

const (
	kAny kind = iota
	kString
	kNumber
	kBool
	kList
	kStruct
	kMap
)

func limit(v float64) *float64 { return &v }

var (
	anyShape  = &shape{}
	strShape  = &shape{kind: kString}
	numShape  = &shape{kind: kNumber}
	boolShape = &shape{kind: kBool}
)

func strLen(min, max float64) *shape { return &shape{kind: kString, min: limit(min), max: limit(max)} }
func numIn(min, max float64) *shape  { return &shape{kind: kNumber, min: limit(min), max: limit(max)} }
func enumOf(values ...string) *shape { return &shape{kind: kString, enum: values} }
func listOf(elem *shape) *shape      { return &shape{kind: kList, elem: elem} }
func mapOf(elem *shape) *shape       { return &shape{kind: kMap, elem: elem} }

func structOf(required []string, members map[string]*shape) *shape {
	return &shape{kind: kStruct, members: members, required: required}
}

// consumedCapacity is DynamoDB's ConsumedCapacity.
var consumedCapacity = structOf(nil, map[string]*shape{
	"TableName": strLen(1, 1024), "CapacityUnits": numShape, "ReadCapacityUnits": numShape, "WriteCapacityUnits": numShape,
	"Table": anyShape, "LocalSecondaryIndexes": anyShape, "GlobalSecondaryIndexes": anyShape,
})

var dynamoItemOutput = structOf(nil, map[string]*shape{
	"Attributes": mapOf(anyShape), "Item": mapOf(anyShape), "ConsumedCapacity": consumedCapacity, "ItemCollectionMetrics": anyShape,
})

// responseShapes are the response shapes of the integrations whose mocks are validated, by
// resource without its arn:aws:states::: prefix. Results of other integrations pass unchecked.
var responseShapes = map[string]*shape{
	"lambda:invoke": structOf(nil, map[string]*shape{
		"StatusCode": numShape, "FunctionError": strShape, "LogResult": strShape, "Payload": anyShape, "ExecutedVersion": strLen(1, 1024),
	}),
	"states:startExecution": structOf([]string{"ExecutionArn", "StartDate"}, map[string]*shape{
		"ExecutionArn": strLen(1, 256), "StartDate": strShape,
	}),
	"events:putEvents": structOf(nil, map[string]*shape{
		"FailedEntryCount": numShape,
		"Entries":          listOf(structOf(nil, map[string]*shape{"EventId": strShape, "ErrorCode": strShape, "ErrorMessage": strShape})),
	}),
	"sqs:sendMessage": structOf(nil, map[string]*shape{
		"MD5OfMessageBody": strShape, "MD5OfMessageAttributes": strShape, "MD5OfMessageSystemAttributes": strShape,
		"MessageId": strShape, "SequenceNumber": strShape,
	}),
	"sns:publish":         structOf(nil, map[string]*shape{"MessageId": strShape, "SequenceNumber": strShape}),
	"dynamodb:putItem":    dynamoItemOutput,
	"dynamodb:getItem":    dynamoItemOutput,
	"dynamodb:updateItem": dynamoItemOutput,
	"dynamodb:deleteItem": dynamoItemOutput,
	"aws-sdk:s3:getObject": structOf(nil, map[string]*shape{
		"Body": anyShape, "DeleteMarker": boolShape, "AcceptRanges": strShape, "Expiration": strShape, "Restore": strShape,
		"LastModified": strShape, "ContentLength": numShape, "ETag": strShape, "MissingMeta": numShape, "VersionId": strShape,
		"CacheControl": strShape, "ContentDisposition": strShape, "ContentEncoding": strShape, "ContentLanguage": strShape,
		"ContentRange": strShape, "ContentType": strShape, "Metadata": mapOf(strShape),
		"StorageClass": enumOf("STANDARD", "REDUCED_REDUNDANCY", "STANDARD_IA", "ONEZONE_IA", "INTELLIGENT_TIERING", "GLACIER",
			"DEEP_ARCHIVE", "OUTPOSTS", "GLACIER_IR", "SNOW", "EXPRESS_ONEZONE", "FSX_OPENZFS"),
		"PartsCount": numShape, "TagCount": numShape,
	}),
	"aws-sdk:kms:encrypt": structOf(nil, map[string]*shape{
		"CiphertextBlob": strLen(1, 6144), "KeyId": strLen(1, 2048),
		"EncryptionAlgorithm": enumOf("SYMMETRIC_DEFAULT", "RSAES_OAEP_SHA_1", "RSAES_OAEP_SHA_256", "SM2PKE"),
	}),
	"aws-sdk:lambda:getFunction": structOf(nil, map[string]*shape{
		"Configuration": structOf(nil, map[string]*shape{
			"FunctionName": strLen(1, 170), "FunctionArn": strShape, "Runtime": strShape, "Role": strShape, "Handler": strLen(0, 128),
			"CodeSize": numShape, "Description": strLen(0, 256), "Timeout": numIn(1, 900), "MemorySize": numIn(128, 10240),
			"LastModified": strShape, "CodeSha256": strShape, "Version": strLen(1, 1024),
		}),
		"Code": anyShape, "Tags": mapOf(strShape), "Concurrency": anyShape,
	}),
}

// validateMock checks a mocked result against the response shape of the Task's resource.
func validateMock(resource, mode string, result jsonv.Value) error {
	if mode == modeNone {
		return nil
	}
	sh := responseShapes[strings.TrimPrefix(resource, "arn:aws:states:::")]
	if _, isObject := result.(*jsonv.Object); sh == nil || !isObject {
		return nil
	}
	if msg := check(sh, "", result, mode != modePresent); msg != "" {
		return invalid("Mock result schema validation error: %s", msg)
	}
	return nil
}

// check returns what is wrong with v as a value of sh (named name), or "".
func check(sh *shape, name string, v jsonv.Value, strict bool) string {
	field := "Field '" + name + "'"
	switch sh.kind {
	case kString:
		s, ok := v.(string)
		switch {
		case !ok:
			return field + " must be a string"
		case sh.enum != nil && !slices.Contains(sh.enum, s):
			return field + " is not an expected value"
		case sh.min != nil && float64(len(s)) < *sh.min:
			return field + " is smaller than the minimum length"
		case sh.max != nil && float64(len(s)) > *sh.max:
			return field + " exceeds the maximum length"
		}
	case kNumber:
		n, ok := v.(jsonv.Number)
		switch {
		case !ok:
			return field + " must be a number"
		case sh.min != nil && n.Float64() < *sh.min:
			return field + " is less than the minimum value"
		case sh.max != nil && n.Float64() > *sh.max:
			return field + " exceeds the maximum value"
		}
	case kBool:
		if _, ok := v.(bool); !ok {
			return field + " must be a boolean"
		}
	case kList:
		a, ok := v.([]jsonv.Value)
		if !ok {
			return field + " must be an array"
		}
		for _, e := range a {
			if msg := check(sh.elem, name, e, strict); msg != "" {
				return msg
			}
		}
	case kMap, kStruct:
		o, ok := v.(*jsonv.Object)
		if !ok {
			return field + " must be an object"
		}
		for _, m := range o.Members() {
			elem := sh.elem
			if sh.kind == kStruct {
				elem = sh.members[m.Key]
			}
			if elem == nil {
				continue
			}
			if msg := check(elem, m.Key, m.Value, strict); msg != "" {
				return msg
			}
		}
		if strict {
			for _, r := range sh.required {
				if !o.Has(r) {
					return "Required field '" + r + "' is missing"
				}
			}
		}
	}
	return ""
}
