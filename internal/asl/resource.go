package asl

import "strings"

// resourceUse says which field a resource ARN is for.
type resourceUse uint8

const (
	taskResource resourceUse = iota
	readerResource
	writerResource
)

// Integration patterns an optimized integration supports.
const (
	patRequest = 1 << iota // no suffix
	patSync                // .sync
	patSync2               // .sync:2
	patToken               // .waitForTaskToken
)

// integrations lists the optimized service integrations ("arn:aws:states:::service:action")
// and their patterns. AWS refuses any other; AWS SDK integrations ("aws-sdk:service:action") are
// checked for shape only.
var integrations = map[string]int{
	"lambda:invoke":                       patRequest | patToken,
	"batch:submitJob":                     patRequest | patSync | patToken,
	"dynamodb:getItem":                    patRequest,
	"dynamodb:putItem":                    patRequest,
	"dynamodb:updateItem":                 patRequest,
	"dynamodb:deleteItem":                 patRequest,
	"ecs:runTask":                         patRequest | patSync | patToken,
	"sns:publish":                         patRequest | patToken,
	"sqs:sendMessage":                     patRequest | patToken,
	"glue:startJobRun":                    patRequest | patSync | patToken,
	"states:startExecution":               patRequest | patSync | patSync2 | patToken,
	"events:putEvents":                    patRequest | patToken,
	"apigateway:invoke":                   patRequest | patToken,
	"http:invoke":                         patRequest,
	"databrew:startJobRun":                patRequest | patSync,
	"mediaconvert:createJob":              patRequest | patSync,
	"bedrock:invokeModel":                 patRequest,
	"bedrock:createModelCustomizationJob": patRequest | patSync,

	"eks:createCluster":        patRequest | patSync,
	"eks:deleteCluster":        patRequest | patSync,
	"eks:createFargateProfile": patRequest | patSync,
	"eks:deleteFargateProfile": patRequest | patSync,
	"eks:createNodegroup":      patRequest | patSync,
	"eks:deleteNodegroup":      patRequest | patSync,
	"eks:runJob":               patRequest | patSync,
	"eks:call":                 patRequest,

	"sagemaker:createTrainingJob":             patRequest | patSync | patToken,
	"sagemaker:createTransformJob":            patRequest | patSync | patToken,
	"sagemaker:createProcessingJob":           patRequest | patSync | patToken,
	"sagemaker:createHyperParameterTuningJob": patRequest | patSync | patToken,
	"sagemaker:createLabelingJob":             patRequest | patSync | patToken,
	"sagemaker:createEndpoint":                patRequest | patToken,
	"sagemaker:createEndpointConfig":          patRequest | patToken,
	"sagemaker:createModel":                   patRequest | patToken,
	"sagemaker:updateEndpoint":                patRequest | patToken,
	"sagemaker:startPipelineExecution":        patRequest | patToken,

	"codebuild:startBuild":        patRequest | patSync,
	"codebuild:stopBuild":         patRequest,
	"codebuild:batchDeleteBuilds": patRequest,
	"codebuild:batchGetReports":   patRequest,
	"codebuild:startBuildBatch":   patRequest | patSync,
	"codebuild:stopBuildBatch":    patRequest,
	"codebuild:retryBuild":        patRequest | patSync,
	"codebuild:retryBuildBatch":   patRequest | patSync,
	"codebuild:deleteBuildBatch":  patRequest,

	"athena:startQueryExecution": patRequest | patSync,
	"athena:stopQueryExecution":  patRequest,
	"athena:getQueryExecution":   patRequest,
	"athena:getQueryResults":     patRequest,

	"elasticmapreduce:createCluster":                   patRequest | patSync,
	"elasticmapreduce:terminateCluster":                patRequest | patSync,
	"elasticmapreduce:addStep":                         patRequest | patSync,
	"elasticmapreduce:cancelStep":                      patRequest,
	"elasticmapreduce:setClusterTerminationProtection": patRequest,
	"elasticmapreduce:modifyInstanceFleetByName":       patRequest,
	"elasticmapreduce:modifyInstanceGroupByName":       patRequest,

	"emr-containers:startJobRun":          patRequest | patSync,
	"emr-containers:createVirtualCluster": patRequest,
	"emr-containers:deleteVirtualCluster": patRequest | patSync,

	"emr-serverless:createApplication": patRequest | patSync,
	"emr-serverless:startApplication":  patRequest | patSync,
	"emr-serverless:stopApplication":   patRequest | patSync,
	"emr-serverless:deleteApplication": patRequest | patSync,
	"emr-serverless:startJobRun":       patRequest | patSync,
	"emr-serverless:cancelJobRun":      patRequest | patSync,
}

// resource validates a Resource ARN found at loc.
func (p *parser) resource(arn, loc string, use resourceUse) {
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) < 6 || parts[0] != "arn" || parts[1] == "" || parts[2] == "" || parts[5] == "" {
		p.schema(loc, "Value is not a valid resource ARN")
		return
	}
	service, region, account, res := parts[2], parts[3], parts[4], parts[5]
	notRecognized := func() {
		p.schema(loc, "The resource provided %s is not recognized. The value is not a valid resource ARN, or the resource is not available in this region.", arn)
	}
	if use != taskResource {
		want := "s3:putObject"
		if use == readerResource {
			want = "s3:getObject s3:listObjectsV2"
		}
		if service != "states" || region != "" || account != "" || !strings.Contains(" "+want+" ", " "+res+" ") {
			notRecognized()
		}
		return
	}
	switch {
	case service == "lambda":
		if !strings.HasPrefix(res, "function:") || len(res) == len("function:") {
			notRecognized()
		}
	case service == "states" && region != "" && account != "":
		if !strings.HasPrefix(res, "activity:") || len(res) == len("activity:") {
			notRecognized()
		} else if p.opts.Type == Express {
			p.schema(loc, "Express state machine does not support Activity ARN")
		}
	case service == "states" && region == "" && account == "":
		p.integration(res, loc, notRecognized)
	default:
		notRecognized()
	}
}

// integration checks an optimized or AWS SDK integration: "service:action" with an optional
// integration pattern.
func (p *parser) integration(res, loc string, notRecognized func()) {
	action, pattern := res, patRequest
	switch {
	case strings.HasSuffix(res, ".sync:2"):
		action, pattern = strings.TrimSuffix(res, ".sync:2"), patSync2
	case strings.HasSuffix(res, ".sync"):
		action, pattern = strings.TrimSuffix(res, ".sync"), patSync
	case strings.HasSuffix(res, ".waitForTaskToken"):
		action, pattern = strings.TrimSuffix(res, ".waitForTaskToken"), patToken
	}
	if sdk, ok := strings.CutPrefix(action, "aws-sdk:"); ok {
		service, op, ok := strings.Cut(sdk, ":")
		if !ok || service == "" || op == "" || strings.Contains(op, ":") || pattern&(patSync|patSync2) != 0 {
			notRecognized()
			return
		}
	} else if integrations[action]&pattern == 0 {
		notRecognized()
		return
	}
	if p.opts.Type != Express {
		return
	}
	switch pattern {
	case patSync, patSync2:
		p.schema(loc, "Express state machine does not support '.sync' service integration")
	case patToken:
		// AWS's message ends with a space.
		p.schema(loc, "Express state machine does not support '.waitForTaskToken' service integration ")
	}
}
