package project

import (
	"crypto/sha256"
	"fmt"
	"strings"

	"gopkg.in/yaml.v3"
)

// What a template's resources are called once "deployed", and what Ref and Fn::GetAtt give
// for each: the values CloudFormation would give, so that an ARN written into a definition
// (!GetAtt Fn.Arn) names the function Stepline deployed.

// nameProps is the property that names a resource of each type; a resource without it gets
// a generated name (generatedName).
var nameProps = map[string][]string{
	"AWS::Serverless::Function":        {"FunctionName"},
	"AWS::Lambda::Function":            {"FunctionName"},
	"AWS::Serverless::StateMachine":    {"Name"},
	"AWS::StepFunctions::StateMachine": {"StateMachineName"},
	"AWS::S3::Bucket":                  {"BucketName"},
	"AWS::Glue::Database":              {"DatabaseInput", "Name"},
	"AWS::Glue::Crawler":               {"Name"},
	"AWS::Glue::Job":                   {"Name"},
	"AWS::Events::Rule":                {"Name"},
	"AWS::Events::EventBus":            {"Name"},
	"AWS::Scheduler::Schedule":         {"Name"},
	"AWS::IAM::Role":                   {"RoleName"},
	"AWS::SQS::Queue":                  {"QueueName"},
	"AWS::SNS::Topic":                  {"TopicName"},
	"AWS::DynamoDB::Table":             {"TableName"},
	"AWS::Serverless::SimpleTable":     {"TableName"},
	"AWS::Logs::LogGroup":              {"LogGroupName"},
}

// suffixChars are the characters of a generated name's suffix.
const suffixChars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

// suffix is the 12 characters CloudFormation ends a generated name with: here derived from the
// stack and the logical ID instead of random, so that deploying again finds the same name.
func suffix(stack, id string, lower bool) string {
	h := sha256.Sum256([]byte(stack + "\x00" + id))
	chars := suffixChars
	if lower {
		chars = suffixChars[26:]
	}
	b := make([]byte, 12)
	for i := range b {
		b[i] = chars[int(h[i])%len(chars)]
	}
	return string(b)
}

// generatedName is the name CloudFormation gives a resource its template does not name:
// STACK-LogicalId-SUFFIX for functions and most others (at most 64 characters),
// LogicalId-SUFFIX for state machines (80), stack-logicalid-suffix in lower case for buckets
// (63) and Glue databases.
func generatedName(stack, id, typ string) string {
	switch typ {
	case "AWS::Serverless::StateMachine", "AWS::StepFunctions::StateMachine":
		return trimJoin([]string{id}, suffix(stack, id, false), 80)
	case "AWS::S3::Bucket", "AWS::Glue::Database":
		return trimJoin([]string{bucketSafe(stack), bucketSafe(id)}, suffix(stack, id, true), 63)
	}
	return trimJoin([]string{stack, id}, suffix(stack, id, false), 64)
}

// trimJoin joins parts and the suffix with hyphens, shortening the parts (the longest first)
// to fit max.
func trimJoin(parts []string, suf string, max int) string {
	for {
		n := len(suf)
		longest := 0
		for i, p := range parts {
			n += len(p) + 1
			if len(p) > len(parts[longest]) {
				longest = i
			}
		}
		if n <= max || len(parts[longest]) == 0 {
			break
		}
		parts[longest] = parts[longest][:len(parts[longest])-1]
	}
	var b strings.Builder
	for _, p := range parts {
		if p != "" {
			b.WriteString(p)
			b.WriteByte('-')
		}
	}
	b.WriteString(suf)
	return b.String()
}

// bucketSafe lowers s to S3's bucket characters.
func bucketSafe(s string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(s) {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' {
			b.WriteRune(r)
		} else {
			b.WriteByte('-')
		}
	}
	return strings.Trim(b.String(), "-")
}

// physicalName is the name of resource id: its name property, evaluated, or a generated one.
func (t *tmpl) physicalName(r *resource, depth int) (string, error) {
	if s, ok := t.names[r.id]; ok {
		return s, nil
	}
	if t.nameBusy[r.id] {
		return "", t.p.errAt(r.key, "Resources."+r.id, "its name depends on itself")
	}
	t.nameBusy[r.id] = true
	defer delete(t.nameBusy, r.id)
	name := ""
	if prop := nameProps[r.typ]; prop != nil {
		n := mapGet(r.props, prop[0])
		path := "Resources." + r.id + ".Properties." + prop[0]
		for _, p := range prop[1:] {
			n = mapGet(n, p)
			path += "." + p
		}
		if n != nil {
			v, err := t.eval(n, path, depth+1)
			if err != nil {
				return "", err
			}
			if v != noValue {
				if v.Kind != yaml.ScalarNode || v.Value == "" {
					return "", t.p.errAt(n, path, "must be a string")
				}
				name = v.Value
			}
		}
	}
	if name == "" {
		name = generatedName(t.o.StackName, r.id, r.typ)
	}
	t.names[r.id] = name
	return name, nil
}

// getAtt is Fn::GetAtt ID.ATTR, or Ref ID when attr is "".
func (t *tmpl) getAtt(id, attr string, at *yaml.Node, path string, depth int) (string, error) {
	r, ok := t.resources[id]
	if !ok {
		// SAM makes a role for each function and state machine that names none: ID + "Role".
		if owner, ok := t.resources[strings.TrimSuffix(id, "Role")]; ok && strings.HasSuffix(id, "Role") &&
			(owner.typ == "AWS::Serverless::Function" || owner.typ == "AWS::Serverless::StateMachine") {
			r = &resource{id: id, typ: "AWS::IAM::Role", key: owner.key}
		} else {
			return "", t.p.errAt(at, path, "no resource named %s", id)
		}
	}
	if depth > maxEvalDepth {
		return "", t.p.errAt(at, path, "references nest too deep")
	}
	name, err := t.physicalName(r, depth)
	if err != nil {
		return "", err
	}
	p, region, acct := t.partition, t.o.Region, t.o.Account
	arn := func(service, rest string) string {
		return fmt.Sprintf("arn:%s:%s:%s:%s:%s", p, service, region, acct, rest)
	}
	known := ""
	switch r.typ {
	case "AWS::Serverless::Function", "AWS::Lambda::Function":
		switch attr {
		case "":
			return name, nil
		case "Arn":
			return arn("lambda", "function:"+name), nil
		}
		known = "Arn"
	case "AWS::Serverless::StateMachine", "AWS::StepFunctions::StateMachine":
		switch attr {
		case "", "Arn":
			return arn("states", "stateMachine:"+name), nil
		case "Name":
			return name, nil
		}
		known = "Arn, Name"
	case "AWS::S3::Bucket":
		switch attr {
		case "":
			return name, nil
		case "Arn":
			return fmt.Sprintf("arn:%s:s3:::%s", p, name), nil
		case "DomainName":
			return name + ".s3." + t.urlSuffix, nil
		case "RegionalDomainName":
			return name + ".s3." + region + "." + t.urlSuffix, nil
		case "WebsiteURL":
			return "http://" + name + ".s3-website-" + region + "." + t.urlSuffix, nil
		}
		known = "Arn, DomainName, RegionalDomainName, WebsiteURL"
	case "AWS::Glue::Database", "AWS::Glue::Crawler", "AWS::Glue::Job":
		if attr == "" {
			return name, nil
		}
		known = "none: Ref gives the name"
	case "AWS::Events::Rule":
		switch attr {
		case "":
			return name, nil
		case "Arn":
			return arn("events", "rule/"+name), nil
		}
		known = "Arn"
	case "AWS::Scheduler::Schedule":
		switch attr {
		case "":
			return name, nil
		case "Arn":
			return arn("scheduler", "schedule/default/"+name), nil
		}
		known = "Arn"
	}
	if known != "" {
		return "", t.p.errAt(at, path, "%s (%s) has no attribute %q that Stepline knows (%s)", id, r.typ, attr, known)
	}
	// A resource Stepline does not run: the values CloudFormation would give, so that a
	// definition or environment naming it reads as on AWS (calls to it fail at run time).
	switch r.typ {
	case "AWS::IAM::Role":
		if attr == "Arn" {
			return fmt.Sprintf("arn:%s:iam::%s:role/%s", p, acct, name), nil
		}
	case "AWS::SQS::Queue":
		switch attr {
		case "", "QueueUrl":
			return fmt.Sprintf("https://sqs.%s.%s/%s/%s", region, t.urlSuffix, acct, name), nil
		case "Arn":
			return arn("sqs", name), nil
		}
	case "AWS::SNS::Topic":
		switch attr {
		case "", "TopicArn":
			return arn("sns", name), nil
		}
	case "AWS::DynamoDB::Table", "AWS::Serverless::SimpleTable":
		if attr == "Arn" {
			return arn("dynamodb", "table/"+name), nil
		}
	case "AWS::Logs::LogGroup":
		if attr == "Arn" {
			return arn("logs", "log-group:"+name+":*"), nil
		}
	case "AWS::Events::EventBus":
		if attr == "Arn" {
			return arn("events", "event-bus/"+name), nil
		}
	}
	if attr == "Arn" {
		// AWS::Service::Kind → arn:PARTITION:service:REGION:ACCOUNT:kind/NAME.
		parts := strings.Split(r.typ, "::")
		if len(parts) == 3 {
			return arn(strings.ToLower(parts[1]), strings.ToLower(parts[2])+"/"+name), nil
		}
	}
	return name, nil
}
