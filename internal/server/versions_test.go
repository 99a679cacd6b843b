package server_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/aws/aws-sdk-go-v2/service/sfn/types"
	"github.com/aws/smithy-go"

	"github.com/stepline/stepline/internal/server"
)

const passResult = `{"StartAt":"P","States":{"P":{"Type":"Pass","Result":"%s","End":true}}}`

// update replaces the machine's definition and returns the new revision id.
func (b *bundle) update(t *testing.T, machine, def string) string {
	t.Helper()
	out, err := b.client.UpdateStateMachine(context.Background(), &sfn.UpdateStateMachineInput{
		StateMachineArn: aws.String(machine), Definition: aws.String(def)})
	if err != nil {
		t.Fatalf("UpdateStateMachine: %v", err)
	}
	return aws.ToString(out.RevisionId)
}

func (b *bundle) publish(t *testing.T, machine string) string {
	t.Helper()
	out, err := b.client.PublishStateMachineVersion(context.Background(), &sfn.PublishStateMachineVersionInput{
		StateMachineArn: aws.String(machine), Description: aws.String("v")})
	if err != nil {
		t.Fatalf("PublishStateMachineVersion: %v", err)
	}
	return *out.StateMachineVersionArn
}

// output starts an execution of arn and returns its output.
func (b *bundle) output(t *testing.T, arn string) string {
	t.Helper()
	d := b.waitDone(t, b.start(t, arn, "", "{}"))
	if d.Status != types.ExecutionStatusSucceeded {
		t.Fatalf("execution of %s: %s", arn, d.Status)
	}
	return *d.Output
}

func TestVersions(t *testing.T) {
	b := setup(t, server.Options{})
	ctx := context.Background()
	machine := b.createMachine(t, "versioned", fmt.Sprintf(passResult, "one"))
	v1 := b.publish(t, machine)
	if v1 != machine+":1" {
		t.Fatalf("version ARN %s", v1)
	}
	if again := b.publish(t, machine); again != v1 {
		t.Fatalf("publishing the same revision again gave %s, want %s", again, v1)
	}
	rev := b.update(t, machine, fmt.Sprintf(passResult, "two"))
	_, err := b.client.PublishStateMachineVersion(ctx, &sfn.PublishStateMachineVersionInput{
		StateMachineArn: aws.String(machine), RevisionId: aws.String("INITIAL")})
	// AWS's words, as recorded in LocalStack's test_sfn_api_versioning snapshot.
	want := "Failed to publish the State Machine version for revision INITIAL. The current State Machine revision is " + rev + "."
	if ce := (*types.ConflictException)(nil); !errors.As(err, &ce) || aws.ToString(ce.Message) != want {
		t.Fatalf("publishing with a stale revision id: %v, want ConflictException %q", err, want)
	}
	v2 := b.publish(t, machine)
	b.update(t, machine, fmt.Sprintf(passResult, "three"))

	// Each ARN runs its own definition: the latest, and each version's.
	for arn, want := range map[string]string{machine: `"three"`, v1: `"one"`, v2: `"two"`} {
		if got := b.output(t, arn); got != want {
			t.Errorf("execution of %s output %s, want %s", arn, got, want)
		}
	}
	list, err := b.client.ListStateMachineVersions(ctx, &sfn.ListStateMachineVersionsInput{StateMachineArn: aws.String(machine)})
	if err != nil || len(list.StateMachineVersions) != 2 || *list.StateMachineVersions[0].StateMachineVersionArn != v2 {
		t.Fatalf("ListStateMachineVersions = %+v, %v", list, err)
	}
	for range 2 { // deleting is idempotent
		if _, err := b.client.DeleteStateMachineVersion(ctx, &sfn.DeleteStateMachineVersionInput{StateMachineVersionArn: aws.String(v1)}); err != nil {
			t.Fatalf("DeleteStateMachineVersion: %v", err)
		}
	}
	_, err = b.client.StartExecution(ctx, &sfn.StartExecutionInput{StateMachineArn: aws.String(v1)})
	if e := (*types.StateMachineDoesNotExist)(nil); !errors.As(err, &e) {
		t.Fatalf("starting a deleted version: %v, want StateMachineDoesNotExist", err)
	}
	_, err = b.client.DeleteStateMachineVersion(ctx, &sfn.DeleteStateMachineVersionInput{StateMachineVersionArn: aws.String(machine + ":x")})
	if e := (*types.InvalidArn)(nil); !errors.As(err, &e) {
		t.Fatalf("deleting a non-version ARN: %v, want InvalidArn", err)
	}
}

func TestAliases(t *testing.T) {
	b := setup(t, server.Options{})
	ctx := context.Background()
	machine := b.createMachine(t, "aliased", fmt.Sprintf(passResult, "one"))
	v1 := b.publish(t, machine)
	b.update(t, machine, fmt.Sprintf(passResult, "two"))
	v2 := b.publish(t, machine)
	route := func(kv ...any) []types.RoutingConfigurationListItem {
		var r []types.RoutingConfigurationListItem
		for i := 0; i < len(kv); i += 2 {
			r = append(r, types.RoutingConfigurationListItem{StateMachineVersionArn: aws.String(kv[i].(string)), Weight: int32(kv[i+1].(int))})
		}
		return r
	}
	create := func(name string, routing []types.RoutingConfigurationListItem) (*sfn.CreateStateMachineAliasOutput, error) {
		return b.client.CreateStateMachineAlias(ctx, &sfn.CreateStateMachineAliasInput{
			Name: aws.String(name), Description: aws.String("d"), RoutingConfiguration: routing})
	}
	out, err := create("prod", route(v1, 100))
	if err != nil || *out.StateMachineAliasArn != machine+":prod" {
		t.Fatalf("CreateStateMachineAlias = %+v, %v", out, err)
	}
	alias := *out.StateMachineAliasArn
	if again, err := create("prod", route(v1, 100)); err != nil || *again.StateMachineAliasArn != alias {
		t.Fatalf("creating the same alias again = %+v, %v", again, err)
	}
	exec := b.start(t, alias, "", "{}")
	if d := b.waitDone(t, exec); aws.ToString(d.Output) != `"one"` || aws.ToString(d.StateMachineAliasArn) != alias ||
		aws.ToString(d.StateMachineVersionArn) != v1 {
		t.Fatalf("execution through the alias: output %s, alias %s, version %s", aws.ToString(d.Output),
			aws.ToString(d.StateMachineAliasArn), aws.ToString(d.StateMachineVersionArn))
	}
	if d := b.waitDone(t, b.start(t, machine, "", "{}")); d.StateMachineAliasArn != nil || d.StateMachineVersionArn != nil {
		t.Fatalf("an execution of the machine itself names alias %v, version %v", d.StateMachineAliasArn, d.StateMachineVersionArn)
	}

	refusals := []struct {
		name    string
		routing []types.RoutingConfigurationListItem
		want    any
	}{
		{"prod", route(v2, 100), &types.ConflictException{}},
		{"half", route(v1, 50), &types.ValidationException{}},
		{"twice", route(v1, 50, v1, 50), &types.ValidationException{}},
		{"ghost", route(machine+":9", 100), &types.ResourceNotFound{}},
		{"7", route(v1, 100), &types.ValidationException{}},
	}
	for _, r := range refusals {
		_, err := create(r.name, r.routing)
		target := r.want
		if !errors.As(err, &target) {
			t.Errorf("alias %s: %v, want %T", r.name, err, r.want)
		}
	}
	_, err = b.client.DeleteStateMachineVersion(ctx, &sfn.DeleteStateMachineVersionInput{StateMachineVersionArn: aws.String(v1)})
	if ce := (*types.ConflictException)(nil); !errors.As(err, &ce) {
		t.Fatalf("deleting a routed version: %v, want ConflictException", err)
	}

	// Weighted routing: all of it to v2, then split.
	if _, err := b.client.UpdateStateMachineAlias(ctx, &sfn.UpdateStateMachineAliasInput{
		StateMachineAliasArn: aws.String(alias), RoutingConfiguration: route(v2, 100)}); err != nil {
		t.Fatalf("UpdateStateMachineAlias: %v", err)
	}
	if got := b.output(t, alias); got != `"two"` {
		t.Fatalf("execution through the updated alias output %s", got)
	}
	if _, err := b.client.UpdateStateMachineAlias(ctx, &sfn.UpdateStateMachineAliasInput{
		StateMachineAliasArn: aws.String(alias), RoutingConfiguration: route(v1, 50, v2, 50)}); err != nil {
		t.Fatalf("UpdateStateMachineAlias: %v", err)
	}
	seen := map[string]int{}
	for range 40 {
		seen[b.output(t, alias)]++
	}
	if seen[`"one"`] == 0 || seen[`"two"`] == 0 {
		t.Fatalf("a 50/50 alias ran %v in 40 executions", seen)
	}
	d, err := b.client.DescribeStateMachineAlias(ctx, &sfn.DescribeStateMachineAliasInput{StateMachineAliasArn: aws.String(alias)})
	if err != nil || *d.Name != "prod" || *d.Description != "d" || len(d.RoutingConfiguration) != 2 || d.UpdateDate.Before(*d.CreationDate) {
		t.Fatalf("DescribeStateMachineAlias = %+v, %v", d, err)
	}
	list, err := b.client.ListStateMachineAliases(ctx, &sfn.ListStateMachineAliasesInput{StateMachineArn: aws.String(machine)})
	if err != nil || len(list.StateMachineAliases) != 1 || *list.StateMachineAliases[0].StateMachineAliasArn != alias {
		t.Fatalf("ListStateMachineAliases = %+v, %v", list, err)
	}
	if _, err := b.client.DeleteStateMachineAlias(ctx, &sfn.DeleteStateMachineAliasInput{StateMachineAliasArn: aws.String(alias)}); err != nil {
		t.Fatalf("DeleteStateMachineAlias: %v", err)
	}
	_, err = b.client.DescribeStateMachineAlias(ctx, &sfn.DescribeStateMachineAliasInput{StateMachineAliasArn: aws.String(alias)})
	if e := (*types.ResourceNotFound)(nil); !errors.As(err, &e) {
		t.Fatalf("describing a deleted alias: %v, want ResourceNotFound", err)
	}
	if _, err := b.client.DeleteStateMachineAlias(ctx, &sfn.DeleteStateMachineAliasInput{StateMachineAliasArn: aws.String(alias)}); err != nil {
		t.Fatalf("deleting a deleted alias: %v, want success as on AWS", err)
	}
	_, err = b.client.UpdateStateMachineAlias(ctx, &sfn.UpdateStateMachineAliasInput{StateMachineAliasArn: aws.String(alias), Description: aws.String("x")})
	if e := (*types.ResourceNotFound)(nil); !errors.As(err, &e) {
		t.Fatalf("updating a deleted alias: %v, want ResourceNotFound", err)
	}
	if _, err := b.client.DeleteStateMachineVersion(ctx, &sfn.DeleteStateMachineVersionInput{StateMachineVersionArn: aws.String(v1)}); err != nil {
		t.Fatalf("deleting a version no longer routed to: %v", err)
	}
}

// TestAliasRefusalsAsAWSWordsThem checks CreateStateMachineAlias's refusals against AWS's codes
// and words, as LocalStack's test_sfn_api_aliasing snapshot recorded them from AWS.
func TestAliasRefusalsAsAWSWordsThem(t *testing.T) {
	b := setup(t, server.Options{})
	ctx := context.Background()
	machine := b.createMachine(t, "refused", fmt.Sprintf(passResult, "one"))
	v1 := b.publish(t, machine)
	b.update(t, machine, fmt.Sprintf(passResult, "two"))
	v2 := b.publish(t, machine)
	b.update(t, machine, fmt.Sprintf(passResult, "three"))
	v3 := b.publish(t, machine)
	route := func(kv ...any) []types.RoutingConfigurationListItem {
		var r []types.RoutingConfigurationListItem
		for i := 0; i < len(kv); i += 2 {
			r = append(r, types.RoutingConfigurationListItem{StateMachineVersionArn: aws.String(kv[i].(string)), Weight: int32(kv[i+1].(int))})
		}
		return r
	}
	const pattern = `^(?=.*[a-zA-Z_\-\.])[a-zA-Z0-9_\-\.]+$`
	for _, tt := range []struct {
		name    string
		routing []types.RoutingConfigurationListItem
		code    string
		message string
	}{
		{"123", route(v1, 100), "ValidationException",
			"1 validation error detected: Value '123' at 'name' failed to satisfy constraint: Member must satisfy regular expression pattern: " + pattern},
		{"ALIAS@", route(v1, 100), "ValidationException",
			"1 validation error detected: Value 'ALIAS@' at 'name' failed to satisfy constraint: Member must satisfy regular expression pattern: " + pattern},
		{"too-many", route(v1, 50, v2, 30, v3, 20), "ValidationException",
			"1 validation error detected: Value '[RoutingConfigurationListItem(stateMachineVersionArn=" + v1 + ", weight=50), " +
				"RoutingConfigurationListItem(stateMachineVersionArn=" + v2 + ", weight=30), " +
				"RoutingConfigurationListItem(stateMachineVersionArn=" + v3 + ", weight=20)]' " +
				"at 'routingConfiguration' failed to satisfy constraint: Member must have length less than or equal to 2"},
		{"unversioned", route(machine, 100), "ValidationException",
			"Routing configuration must contain state machine version ARNs. Received: [" + machine + "]"},
		{"half-unversioned", route(machine, 70, v2, 30), "ValidationException",
			"Routing configuration must contain state machine version ARNs. Received: [" + machine + ", " + v2 + "]"},
		{"twice", route(v1, 50, v1, 50), "ValidationException",
			"Routing configuration must contain distinct state machine version ARNs. Received: [" + v1 + ", " + v1 + "]"},
		{"short", route(v1, 70, v2, 29), "ValidationException",
			"Sum of routing configuration weights must equal 100. Received: [70, 29]"},
		{"long", route(v1, 70, v2, 31), "ValidationException",
			"Sum of routing configuration weights must equal 100. Received: [70, 31]"},
	} {
		_, err := b.client.CreateStateMachineAlias(ctx, &sfn.CreateStateMachineAliasInput{
			Name: aws.String(tt.name), RoutingConfiguration: tt.routing})
		var ae smithy.APIError
		if !errors.As(err, &ae) || ae.ErrorCode() != tt.code || ae.ErrorMessage() != tt.message {
			t.Errorf("alias %s: %v, want %s %q", tt.name, err, tt.code, tt.message)
		}
	}

	// The conflicts, too, are worded as AWS words them.
	for _, name := range []string{"prod", "staging"} {
		if _, err := b.client.CreateStateMachineAlias(ctx, &sfn.CreateStateMachineAliasInput{
			Name: aws.String(name), RoutingConfiguration: route(v1, 100)}); err != nil {
			t.Fatalf("CreateStateMachineAlias %s: %v", name, err)
		}
	}
	_, err := b.client.CreateStateMachineAlias(ctx, &sfn.CreateStateMachineAliasInput{
		Name: aws.String("prod"), Description: aws.String("another"), RoutingConfiguration: route(v1, 100)})
	want := "Failed to create alias because an alias with the same name and a different routing configuration already exists."
	if ce := (*types.ConflictException)(nil); !errors.As(err, &ce) || aws.ToString(ce.Message) != want {
		t.Errorf("creating an alias again with another description: %v, want ConflictException %q", err, want)
	}
	_, err = b.client.DeleteStateMachineVersion(ctx, &sfn.DeleteStateMachineVersionInput{StateMachineVersionArn: aws.String(v1)})
	want = "Version to be deleted must not be referenced by an alias. Current list of aliases referencing this version: [prod, staging]"
	if ce := (*types.ConflictException)(nil); !errors.As(err, &ce) || aws.ToString(ce.Message) != want {
		t.Errorf("deleting a routed version: %v, want ConflictException %q", err, want)
	}
}

func TestPublishOnCreateAndUpdate(t *testing.T) {
	b := setup(t, server.Options{})
	ctx := context.Background()
	created, err := b.client.CreateStateMachine(ctx, &sfn.CreateStateMachineInput{Name: aws.String("published"),
		Definition: aws.String(fmt.Sprintf(passResult, "one")), RoleArn: aws.String(role), Publish: true,
		VersionDescription: aws.String("first")})
	if err != nil || aws.ToString(created.StateMachineVersionArn) != *created.StateMachineArn+":1" {
		t.Fatalf("CreateStateMachine with publish = %+v, %v", created, err)
	}
	updated, err := b.client.UpdateStateMachine(ctx, &sfn.UpdateStateMachineInput{StateMachineArn: created.StateMachineArn,
		Definition: aws.String(fmt.Sprintf(passResult, "two")), Publish: true})
	if err != nil || aws.ToString(updated.StateMachineVersionArn) != *created.StateMachineArn+":2" {
		t.Fatalf("UpdateStateMachine with publish = %+v, %v", updated, err)
	}
	if got := b.output(t, *created.StateMachineVersionArn); got != `"one"` {
		t.Fatalf("version 1 output %s", got)
	}
	d, err := b.client.DescribeStateMachine(ctx, &sfn.DescribeStateMachineInput{StateMachineArn: created.StateMachineVersionArn})
	if err != nil || *d.StateMachineArn != *created.StateMachineVersionArn || aws.ToString(d.Description) != "first" ||
		*d.Definition != fmt.Sprintf(passResult, "one") {
		t.Fatalf("DescribeStateMachine of version 1 = %+v, %v", d, err)
	}
	_, err = b.client.DescribeStateMachine(ctx, &sfn.DescribeStateMachineInput{StateMachineArn: aws.String(*created.StateMachineArn + ":9")})
	if e := (*types.StateMachineDoesNotExist)(nil); !errors.As(err, &e) {
		t.Fatalf("describing an unknown version: %v, want StateMachineDoesNotExist", err)
	}
}

// TestStartSyncExecutionOfVersionAndAlias runs an EXPRESS machine's version, directly and
// through an alias, after the machine moved on.
func TestStartSyncExecutionOfVersionAndAlias(t *testing.T) {
	b := setup(t, server.Options{})
	ctx := context.Background()
	created, err := b.client.CreateStateMachine(ctx, &sfn.CreateStateMachineInput{Name: aws.String("quick"),
		Definition: aws.String(fmt.Sprintf(passResult, "one")), RoleArn: aws.String(role), Type: types.StateMachineTypeExpress, Publish: true})
	if err != nil {
		t.Fatal(err)
	}
	b.update(t, *created.StateMachineArn, fmt.Sprintf(passResult, "two"))
	alias, err := b.client.CreateStateMachineAlias(ctx, &sfn.CreateStateMachineAliasInput{Name: aws.String("stable"),
		RoutingConfiguration: []types.RoutingConfigurationListItem{{StateMachineVersionArn: created.StateMachineVersionArn, Weight: 100}}})
	if err != nil {
		t.Fatal(err)
	}
	for arn, want := range map[string]string{*created.StateMachineArn: `"two"`, *created.StateMachineVersionArn: `"one"`, *alias.StateMachineAliasArn: `"one"`} {
		out, err := b.client.StartSyncExecution(ctx, &sfn.StartSyncExecutionInput{StateMachineArn: aws.String(arn)}, withoutHostPrefix)
		if err != nil || aws.ToString(out.Output) != want {
			t.Errorf("StartSyncExecution(%s) = %v, %v; want output %s", arn, out, err, want)
		}
	}
}
