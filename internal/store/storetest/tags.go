package storetest

import (
	"context"
	"testing"

	"github.com/stepline/stepline/internal/store"
)

func testTagsReplace(t *testing.T, s store.Store) {
	ctx := t.Context()
	sm := mustCreateMachine(t, s, "tagged")
	act, err := s.ActivityCreate(ctx, &store.ActivityCreateParams{Arn: activityArn("tagged"), Name: "tagged", CreatedAt: t0})
	if err != nil {
		t.Fatalf("ActivityCreate: %v", err)
	}
	smTags := func() []byte {
		got, err := s.StateMachineGet(ctx, &store.StateMachineGetParams{Arn: sm.Arn})
		if err != nil {
			t.Fatalf("StateMachineGet: %v", err)
		}
		return got.Tags
	}
	actTags := func() []byte {
		got, err := s.ActivityGet(ctx, &store.ActivityGetParams{Arn: act.Arn})
		if err != nil {
			t.Fatalf("ActivityGet: %v", err)
		}
		return got.Tags
	}
	resources := []struct {
		name    string
		arn     string
		replace func(context.Context, *store.TagsReplaceParams) error
		read    func() []byte
		missing string
	}{
		{"state machine", sm.Arn, s.StateMachineTagsReplace, smTags, smArn("missing")},
		// The activity was created without tags: absent tags compare equal to empty ones.
		{"activity", act.Arn, s.ActivityTagsReplace, actTags, activityArn("missing")},
	}
	for _, r := range resources {
		t.Run(r.name, func(t *testing.T) {
			old := r.read()
			v1 := []byte(`[{"key":"a","value":"1"}]`)
			if err := r.replace(ctx, &store.TagsReplaceParams{Arn: r.arn, Old: old, Tags: v1}); err != nil {
				t.Fatalf("replace: %v", err)
			}
			if got := r.read(); string(got) != string(v1) {
				t.Fatalf("tags = %s, want %s", got, v1)
			}
			// A writer that read before the first replacement loses, and writes nothing.
			wantErr(t, "stale old tags", r.replace(ctx, &store.TagsReplaceParams{Arn: r.arn, Old: old,
				Tags: []byte(`[]`)}), store.ErrConflict)
			if got := r.read(); string(got) != string(v1) {
				t.Fatalf("tags after a conflict = %s, want %s", got, v1)
			}
			if err := r.replace(ctx, &store.TagsReplaceParams{Arn: r.arn, Old: v1, Tags: []byte(`[]`)}); err != nil {
				t.Fatalf("second replace: %v", err)
			}
			wantErr(t, "unknown resource", r.replace(ctx, &store.TagsReplaceParams{Arn: r.missing, Tags: v1}), store.ErrNotFound)
			wantErr(t, "no ARN", r.replace(ctx, &store.TagsReplaceParams{Tags: v1}), store.ErrInvalidParams)
		})
	}
}
