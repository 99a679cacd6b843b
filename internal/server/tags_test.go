package server_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/aws/aws-sdk-go-v2/service/sfn/types"

	"github.com/stepline/stepline/internal/server"
)

func tagList(kv ...string) []types.Tag {
	var tags []types.Tag
	for i := 0; i < len(kv); i += 2 {
		tags = append(tags, types.Tag{Key: aws.String(kv[i]), Value: aws.String(kv[i+1])})
	}
	return tags
}

// listTags returns a resource's tags as "k=v" strings, sorted.
func (b *bundle) listTags(t *testing.T, arn string) []string {
	t.Helper()
	out, err := b.client.ListTagsForResource(context.Background(), &sfn.ListTagsForResourceInput{ResourceArn: aws.String(arn)})
	if err != nil {
		t.Fatalf("ListTagsForResource: %v", err)
	}
	var got []string
	for _, tag := range out.Tags {
		got = append(got, *tag.Key+"="+*tag.Value)
	}
	sort.Strings(got)
	return got
}

func TestTagResource(t *testing.T) {
	b := setup(t, server.Options{})
	ctx := context.Background()
	machine := b.createMachine(t, "tagged", passChain)
	act, err := b.client.CreateActivity(ctx, &sfn.CreateActivityInput{Name: aws.String("tagged"), Tags: tagList("team", "core")})
	if err != nil {
		t.Fatal(err)
	}
	for _, arn := range []string{machine, *act.ActivityArn} {
		t.Run(arn, func(t *testing.T) {
			steps := []struct {
				name  string
				tag   []types.Tag
				untag []string
				want  string
			}{
				{"add", tagList("env", "dev", "owner", "ann"), nil, "[env=dev owner=ann]"},
				{"overwrite, the last of a repeated key wins", tagList("env", "staging", "env", "prod"), nil, "[env=prod owner=ann]"},
				{"remove, ignoring unknown keys", nil, []string{"owner", "nope"}, "[env=prod]"},
				{"remove the last", nil, []string{"env"}, "[]"},
			}
			// The activity starts with its creation tag; the machine without any.
			base := b.listTags(t, arn)
			for _, st := range steps {
				if st.tag != nil {
					_, err = b.client.TagResource(ctx, &sfn.TagResourceInput{ResourceArn: aws.String(arn), Tags: st.tag})
				} else {
					_, err = b.client.UntagResource(ctx, &sfn.UntagResourceInput{ResourceArn: aws.String(arn), TagKeys: st.untag})
				}
				if err != nil {
					t.Fatalf("%s: %v", st.name, err)
				}
				got := slices.DeleteFunc(b.listTags(t, arn), func(s string) bool { return slices.Contains(base, s) })
				if fmt.Sprint(got) != st.want {
					t.Fatalf("%s: tags %v, want %s after %v", st.name, got, st.want, base)
				}
			}
		})
	}
}

func TestTagResourceRefusals(t *testing.T) {
	b := setup(t, server.Options{})
	ctx := context.Background()
	machine := b.createMachine(t, "full", passChain)
	var fifty []string
	for i := range 50 {
		fifty = append(fifty, "k"+strconv.Itoa(i), "v")
	}
	if _, err := b.client.TagResource(ctx, &sfn.TagResourceInput{ResourceArn: aws.String(machine), Tags: tagList(fifty...)}); err != nil {
		t.Fatalf("50 tags: %v", err)
	}
	fiftyOne := append(slices.Clone(fifty), "one", "more")
	tests := []struct {
		name string
		call func() error
		want any
	}{
		{"a 51st tag", func() error {
			_, err := b.client.TagResource(ctx, &sfn.TagResourceInput{ResourceArn: aws.String(machine), Tags: tagList("one", "more")})
			return err
		}, &types.TooManyTags{}},
		{"a machine created with 51 tags", func() error {
			_, err := b.client.CreateStateMachine(ctx, &sfn.CreateStateMachineInput{Name: aws.String("crowded"),
				Definition: aws.String(passChain), RoleArn: aws.String(role), Tags: tagList(fiftyOne...)})
			return err
		}, &types.TooManyTags{}},
		{"an activity created with 51 tags", func() error {
			_, err := b.client.CreateActivity(ctx, &sfn.CreateActivityInput{Name: aws.String("crowded"), Tags: tagList(fiftyOne...)})
			return err
		}, &types.TooManyTags{}},
		{"unknown machine", func() error {
			_, err := b.client.TagResource(ctx, &sfn.TagResourceInput{ResourceArn: aws.String(smArn + "nope"), Tags: tagList("a", "b")})
			return err
		}, &types.ResourceNotFound{}},
		{"unknown activity", func() error {
			_, err := b.client.UntagResource(ctx, &sfn.UntagResourceInput{ResourceArn: aws.String(actArn + "nope"), TagKeys: []string{"a"}})
			return err
		}, &types.ResourceNotFound{}},
		{"an execution is not taggable", func() error {
			_, err := b.client.TagResource(ctx, &sfn.TagResourceInput{ResourceArn: aws.String(exArn + "full:x"), Tags: tagList("a", "b")})
			return err
		}, &types.InvalidArn{}},
		{"not an ARN", func() error {
			_, err := b.client.UntagResource(ctx, &sfn.UntagResourceInput{ResourceArn: aws.String("x"), TagKeys: []string{"a"}})
			return err
		}, &types.InvalidArn{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.call()
			target := tt.want
			if err == nil || !errors.As(err, &target) {
				t.Fatalf("error %v, want %T", err, tt.want)
			}
		})
	}
	if got := b.listTags(t, machine); len(got) != 50 {
		t.Fatalf("%d tags after refusals, want 50", len(got))
	}
}

// TestTagResourceConcurrent checks that concurrent TagResource calls, each merging into the
// stored tags, lose none of one another's tags.
func TestTagResourceConcurrent(t *testing.T) {
	b := setup(t, server.Options{})
	machine := b.createMachine(t, "busy", passChain)
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Go(func() {
			key := fmt.Sprintf("k%02d", i)
			if _, err := b.client.TagResource(context.Background(), &sfn.TagResourceInput{
				ResourceArn: aws.String(machine), Tags: tagList(key, "v")}); err != nil {
				t.Errorf("TagResource %s: %v", key, err)
			}
		})
	}
	wg.Wait()
	if got := b.listTags(t, machine); len(got) != 20 {
		t.Fatalf("%d tags, want 20: %v", len(got), got)
	}
}
