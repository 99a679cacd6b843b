package lambda

import (
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"regexp"
	"slices"
	"strings"

	"github.com/stepline/stepline/internal/store"
)

// config is a function's configuration as the store keeps it (store.Function.Config). The
// code's digest and size, the revision and the dates are columns of their own.
type config struct {
	Runtime          string            `json:"runtime"`
	Role             string            `json:"role"`
	Handler          string            `json:"handler"`
	Description      string            `json:"description,omitempty"`
	Timeout          int               `json:"timeout"`
	MemorySize       int               `json:"memorySize"`
	Environment      map[string]string `json:"environment,omitempty"`
	EphemeralStorage int               `json:"ephemeralStorage"`
	Architecture     string            `json:"architecture"`
	TracingMode      string            `json:"tracingMode"`
	LogFormat        string            `json:"logFormat"`
	LogGroup         string            `json:"logGroup"`
	Tags             map[string]string `json:"tags,omitempty"`
}

// Lambda's defaults and limits.
const (
	defaultTimeout    = 3
	maxTimeout        = 900
	defaultMemory     = 128
	maxMemory         = 10240
	defaultEphemeral  = 512
	maxUnzippedSize   = 262144000 // 250 MB, code of all layers included
	maxEnvironment    = 4096      // bytes of the variables as JSON
	maxSyncPayload    = 6291456   // RequestResponse and DryRun
	maxEventPayload   = 1048576   // Event
	maxCreateRequest  = 69905067  // the CreateFunction request as AWS caps it (a 50 MB zip in base64, and JSON around it)
	lastModifiedShape = "2006-01-02T15:04:05.000-0700"
)

// runtimes are those Stepline runs (package sandbox); the model's other runtimes are refused.
var runtimes = []string{"provided.al2023", "provided.al2", "python3.9", "python3.10", "python3.11", "python3.12",
	"python3.13", "nodejs18.x", "nodejs20.x", "nodejs22.x"}

// modelRuntimes is the Runtime enum of Lambda's API model (2015-03-31), in its order.
var modelRuntimes = []string{"nodejs", "nodejs4.3", "nodejs6.10", "nodejs8.10", "nodejs10.x", "nodejs12.x",
	"nodejs14.x", "nodejs16.x", "java8", "java8.al2", "java11", "python2.7", "python3.6", "python3.7", "python3.8",
	"python3.9", "dotnetcore1.0", "dotnetcore2.0", "dotnetcore2.1", "dotnetcore3.1", "dotnet6", "dotnet8",
	"nodejs4.3-edge", "go1.x", "ruby2.5", "ruby2.7", "provided", "provided.al2", "nodejs18.x", "python3.10",
	"java17", "ruby3.2", "ruby3.3", "ruby3.4", "python3.11", "nodejs20.x", "provided.al2023", "python3.12",
	"java21", "python3.13", "nodejs22.x", "nodejs24.x", "python3.14", "java25", "dotnet10", "ruby4.0"}

// deprecated are the model's runtimes AWS no longer lets functions be created or updated with.
var deprecated = []string{"nodejs", "nodejs4.3", "nodejs6.10", "nodejs8.10", "nodejs10.x", "nodejs12.x",
	"nodejs14.x", "nodejs16.x", "java8", "python2.7", "python3.6", "python3.7", "python3.8", "dotnetcore1.0",
	"dotnetcore2.0", "dotnetcore2.1", "dotnetcore3.1", "dotnet6", "nodejs4.3-edge", "go1.x", "ruby2.5",
	"ruby2.7", "provided"}

// reservedVariables are set by Lambda itself; a function may not set them.
var reservedVariables = []string{"_HANDLER", "_X_AMZN_TRACE_ID", "AWS_DEFAULT_REGION", "AWS_REGION",
	"AWS_EXECUTION_ENV", "AWS_LAMBDA_FUNCTION_NAME", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
	"AWS_LAMBDA_FUNCTION_VERSION", "AWS_LAMBDA_INITIALIZATION_TYPE", "AWS_LAMBDA_LOG_GROUP_NAME",
	"AWS_LAMBDA_LOG_STREAM_NAME", "AWS_ACCESS_KEY", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY",
	"AWS_SESSION_TOKEN", "AWS_LAMBDA_RUNTIME_API", "LAMBDA_TASK_ROOT", "LAMBDA_RUNTIME_DIR"}

var (
	rolePattern     = regexp.MustCompile(`^arn:(aws[a-zA-Z-]*)?:iam::\d{12}:role/?[a-zA-Z_0-9+=,.@\-_/]+$`)
	handlerPattern  = regexp.MustCompile(`^[^\s]+$`)
	variablePattern = regexp.MustCompile(`^[a-zA-Z]([a-zA-Z0-9_])+$`)
)

// settings are the configuration members CreateFunction and UpdateFunctionConfiguration share;
// nil means "not given".
type settings struct {
	Runtime     *string `json:"Runtime"`
	Role        *string `json:"Role"`
	Handler     *string `json:"Handler"`
	Description *string `json:"Description"`
	Timeout     *int    `json:"Timeout"`
	MemorySize  *int    `json:"MemorySize"`
	Environment *struct {
		Variables map[string]string `json:"Variables"`
	} `json:"Environment"`
	EphemeralStorage *struct {
		Size int `json:"Size"`
	} `json:"EphemeralStorage"`
	TracingConfig *struct {
		Mode string `json:"Mode"`
	} `json:"TracingConfig"`
	LoggingConfig *struct {
		LogFormat string `json:"LogFormat"`
		LogGroup  string `json:"LogGroup"`
	} `json:"LoggingConfig"`
	Layers []string `json:"Layers"`
}

// apply validates the given settings and writes them into c, in the order AWS checks them.
func (st *settings) apply(c *config) *Error {
	if st.Role != nil {
		if !rolePattern.MatchString(*st.Role) {
			return errConstraint(*st.Role, "role", `Member must satisfy regular expression pattern: arn:(aws[a-zA-Z-]*)?:iam::\d{12}:role/?[a-zA-Z_0-9+=,.@\-_/]+`)
		}
		c.Role = *st.Role
	}
	if st.Handler != nil {
		if len(*st.Handler) > 128 {
			return errConstraint(*st.Handler, "handler", "Member must have length less than or equal to 128")
		}
		if *st.Handler != "" && !handlerPattern.MatchString(*st.Handler) {
			return errConstraint(*st.Handler, "handler", `Member must satisfy regular expression pattern: [^\s]+`)
		}
		c.Handler = *st.Handler
	}
	if st.Description != nil {
		if len(*st.Description) > 256 {
			return errConstraint(*st.Description, "description", "Member must have length less than or equal to 256")
		}
		c.Description = *st.Description
	}
	if st.Timeout != nil {
		switch t := *st.Timeout; {
		case t < 1:
			return errConstraint(t, "timeout", "Member must have value greater than or equal to 1")
		case t > maxTimeout:
			return errConstraint(t, "timeout", "Member must have value less than or equal to 900")
		}
		c.Timeout = *st.Timeout
	}
	if st.MemorySize != nil {
		switch m := *st.MemorySize; {
		case m < 128:
			return errConstraint(m, "memorySize", "Member must have value greater than or equal to 128")
		case m > 32768:
			return errConstraint(m, "memorySize", "Member must have value less than or equal to 32768")
		case m > maxMemory:
			return errInvalid("'MemorySize' value failed to satisfy constraint: Member must have value less than or equal to 10240")
		}
		c.MemorySize = *st.MemorySize
	}
	if st.Environment != nil {
		if err := checkEnvironment(st.Environment.Variables); err != nil {
			return err
		}
		c.Environment = st.Environment.Variables
		if c.Environment == nil {
			c.Environment = map[string]string{}
		}
	}
	if st.EphemeralStorage != nil {
		if s := st.EphemeralStorage.Size; s < 512 || s > 10240 {
			return errConstraint(s, "ephemeralStorage.size", "Member must have value between 512 and 10240")
		}
		c.EphemeralStorage = st.EphemeralStorage.Size
	}
	if st.TracingConfig != nil {
		if m := st.TracingConfig.Mode; m != "Active" && m != "PassThrough" {
			return errConstraint(m, "tracingConfig.mode", "Member must satisfy enum value set: [Active, PassThrough]")
		}
		c.TracingMode = st.TracingConfig.Mode
	}
	if st.LoggingConfig != nil {
		if f := st.LoggingConfig.LogFormat; f != "" {
			if f != "Text" && f != "JSON" {
				return errConstraint(f, "loggingConfig.logFormat", "Member must satisfy enum value set: [JSON, Text]")
			}
			c.LogFormat = f
		}
		if g := st.LoggingConfig.LogGroup; g != "" {
			c.LogGroup = g
		}
	}
	if len(st.Layers) > 0 {
		return errInvalid("Stepline runs functions without layers: put the layer's files into the function's zip.")
	}
	if st.Runtime != nil {
		if err := checkRuntime(*st.Runtime); err != nil {
			return err
		}
		c.Runtime = *st.Runtime
	}
	return nil
}

func checkRuntime(r string) *Error {
	switch {
	case slices.Contains(runtimes, r):
		return nil
	case slices.Contains(deprecated, r):
		return errInvalid("The runtime parameter of %s is no longer supported for creating or updating AWS Lambda functions. "+
			"We recommend you use a supported runtime while creating or updating functions.", r)
	case slices.Contains(modelRuntimes, r):
		return errInvalid("The runtime parameter of %s is not supported by Stepline, which runs %s.", r, strings.Join(runtimes, ", "))
	}
	return errInvalid("Value %s at 'runtime' failed to satisfy constraint: Member must satisfy enum value set: [%s] or be a valid ARN",
		r, strings.Join(modelRuntimes, ", "))
}

func checkEnvironment(vars map[string]string) *Error {
	var reserved []string
	for _, k := range slices.Sorted(maps.Keys(vars)) {
		if !variablePattern.MatchString(k) {
			return errConstraint(k, "environment.variables", "Map keys must satisfy constraint: [Member must satisfy regular expression pattern: [a-zA-Z]([a-zA-Z0-9_])+]")
		}
		if slices.Contains(reservedVariables, k) {
			reserved = append(reserved, k)
		}
	}
	if len(reserved) > 0 {
		return errInvalid("Lambda was unable to configure your environment variables because the environment variables you have "+
			"provided contains reserved keys that are currently not supported for modification. Reserved keys used in this request: %s",
			strings.Join(reserved, ","))
	}
	if b, _ := json.Marshal(vars); len(b) > maxEnvironment {
		return errInvalid("Lambda was unable to configure your environment variables because the environment variables you have "+
			"provided exceeded the 4KB limit. String measured: %s", b)
	}
	return nil
}

// newConfig is a configuration with Lambda's defaults.
func newConfig(name string) *config {
	return &config{Timeout: defaultTimeout, MemorySize: defaultMemory, EphemeralStorage: defaultEphemeral,
		Architecture: "x86_64", TracingMode: "PassThrough", LogFormat: "Text", LogGroup: "/aws/lambda/" + name}
}

func decodeConfig(f *store.Function) (*config, error) {
	var c config
	if err := json.Unmarshal(f.Config, &c); err != nil {
		return nil, fmt.Errorf("lambda: configuration of %s: %w", f.Name, err)
	}
	return &c, nil
}

// functionConfiguration is the FunctionConfiguration shape of Lambda's answers.
type functionConfiguration struct {
	FunctionName     string           `json:"FunctionName"`
	FunctionArn      string           `json:"FunctionArn"`
	Runtime          string           `json:"Runtime"`
	Role             string           `json:"Role"`
	Handler          string           `json:"Handler"`
	CodeSize         int64            `json:"CodeSize"`
	Description      string           `json:"Description"`
	Timeout          int              `json:"Timeout"`
	MemorySize       int              `json:"MemorySize"`
	LastModified     string           `json:"LastModified"`
	CodeSha256       string           `json:"CodeSha256"`
	Version          string           `json:"Version"`
	Environment      *environmentOut  `json:"Environment,omitempty"`
	TracingConfig    tracingOut       `json:"TracingConfig"`
	RevisionID       string           `json:"RevisionId"`
	State            string           `json:"State"`
	LastUpdateStatus string           `json:"LastUpdateStatus"`
	PackageType      string           `json:"PackageType"`
	Architectures    []string         `json:"Architectures"`
	EphemeralStorage ephemeralOut     `json:"EphemeralStorage"`
	SnapStart        snapStartOut     `json:"SnapStart"`
	LoggingConfig    loggingConfigOut `json:"LoggingConfig"`
}

type environmentOut struct {
	Variables map[string]string `json:"Variables"`
}

type tracingOut struct {
	Mode string `json:"Mode"`
}

type ephemeralOut struct {
	Size int `json:"Size"`
}

type snapStartOut struct {
	ApplyOn            string `json:"ApplyOn"`
	OptimizationStatus string `json:"OptimizationStatus"`
}

type loggingConfigOut struct {
	LogFormat string `json:"LogFormat"`
	LogGroup  string `json:"LogGroup"`
}

// configurationOut renders a stored function as Lambda reports it.
func (s *Service) configurationOut(f *store.Function, c *config) *functionConfiguration {
	out := &functionConfiguration{
		FunctionName: f.Name, FunctionArn: s.arn(f.Name), Runtime: c.Runtime, Role: c.Role, Handler: c.Handler,
		CodeSize: f.CodeSize, Description: c.Description, Timeout: c.Timeout, MemorySize: c.MemorySize,
		LastModified: f.UpdatedAt.UTC().Format(lastModifiedShape), CodeSha256: shaBase64(f.CodeSha256),
		Version: latest, TracingConfig: tracingOut{c.TracingMode}, RevisionID: f.RevisionID, State: "Active",
		LastUpdateStatus: "Successful", PackageType: "Zip", Architectures: []string{c.Architecture},
		EphemeralStorage: ephemeralOut{c.EphemeralStorage}, SnapStart: snapStartOut{"None", "Off"},
		LoggingConfig: loggingConfigOut{c.LogFormat, c.LogGroup},
	}
	if c.Environment != nil {
		out.Environment = &environmentOut{Variables: c.Environment}
	}
	return out
}

// shaBase64 turns the store's hex digest into the base64 Lambda reports.
func shaBase64(hexSum string) string {
	b, err := hex.DecodeString(hexSum)
	if err != nil {
		return hexSum
	}
	return base64.StdEncoding.EncodeToString(b)
}

// writeJSON answers v with status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		writeError(w, errService(err))
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}
