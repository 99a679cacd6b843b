package service

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	"github.com/stepline/stepline/internal/store"
)

// CodeTooManyTags is returned when tagging would leave a resource with more than maxTags.
const CodeTooManyTags Code = "TooManyTags"

// maxTags is Step Functions' quota of tags per resource.
const maxTags = 50

// tagRetries bounds how often a tag update re-reads tags that changed under it: each retry
// means another update committed, so running out takes that many concurrent writers.
const tagRetries = 20

// TagResource adds tags to a state machine or activity; a key it already has takes the new
// value, and so does a key repeated in tags, the last one winning.
func (s *Service) TagResource(ctx context.Context, arn string, tags []Tag) error {
	return s.updateTags(ctx, arn, func(cur []Tag) ([]Tag, error) {
		for _, t := range tags {
			i := slices.IndexFunc(cur, func(c Tag) bool { return c.Key == t.Key })
			if i >= 0 {
				cur[i].Value = t.Value
			} else {
				cur = append(cur, t)
			}
		}
		return cur, tooManyTags(arn, cur)
	})
}

// tooManyTags refuses tags beyond the quota.
func tooManyTags(arn string, tags []Tag) error {
	if len(tags) > maxTags {
		e := newError(CodeTooManyTags, nil, "Too many tags: a resource can have at most %d tags, '%s' would have %d", maxTags, arn, len(tags))
		e.ResourceName = arn
		return e
	}
	return nil
}

// UntagResource removes tags by key; keys the resource does not have are ignored, as AWS does.
func (s *Service) UntagResource(ctx context.Context, arn string, keys []string) error {
	return s.updateTags(ctx, arn, func(cur []Tag) ([]Tag, error) {
		return slices.DeleteFunc(cur, func(t Tag) bool { return slices.Contains(keys, t.Key) }), nil
	})
}

// ListTagsForResource returns the tags of a state machine or activity.
func (s *Service) ListTagsForResource(ctx context.Context, arn string) ([]Tag, error) {
	res, err := parseARN(arn, resStateMachine, resActivity)
	if err != nil {
		return nil, err
	}
	_, tags, err := s.readTags(ctx, res, arn)
	return tags, err
}

// updateTags applies change to a resource's tags, retrying when a concurrent update commits
// between the read and the write, so that no update is lost.
func (s *Service) updateTags(ctx context.Context, arn string, change func([]Tag) ([]Tag, error)) error {
	res, err := parseARN(arn, resStateMachine, resActivity)
	if err != nil {
		return err
	}
	replace := s.o.Store.StateMachineTagsReplace
	if res.Type == resActivity {
		replace = s.o.Store.ActivityTagsReplace
	}
	for range tagRetries {
		raw, cur, err := s.readTags(ctx, res, arn)
		if err != nil {
			return err
		}
		next, err := change(cur)
		if err != nil {
			return err
		}
		b, err := json.Marshal(nonNilTags(next))
		if err != nil {
			return fmt.Errorf("service: encoding tags of %s: %w", arn, err)
		}
		err = replace(ctx, &store.TagsReplaceParams{Arn: arn, Old: raw, Tags: b})
		switch {
		case err == nil:
			return nil
		case errors.Is(err, store.ErrNotFound):
			return resourceNotFound(arn, err)
		case !errors.Is(err, store.ErrConflict):
			return fmt.Errorf("service: writing tags of %s: %w", arn, err)
		}
	}
	return fmt.Errorf("service: tags of %s kept changing under %d attempts to update them: %w", arn, tagRetries, store.ErrConflict)
}

// readTags returns a resource's stored tags, raw (for the compare-and-swap) and decoded.
func (s *Service) readTags(ctx context.Context, res arn, resArn string) ([]byte, []Tag, error) {
	var raw []byte
	var err error
	if res.Type == resStateMachine {
		var sm *store.StateMachine
		if sm, err = s.o.Store.StateMachineGet(ctx, &store.StateMachineGetParams{Arn: resArn}); err == nil {
			raw = sm.Tags
		}
	} else {
		var act *store.Activity
		if act, err = s.o.Store.ActivityGet(ctx, &store.ActivityGetParams{Arn: resArn}); err == nil {
			raw = act.Tags
		}
	}
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil, resourceNotFound(resArn, err)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("service: reading %s: %w", resArn, err)
	}
	tags := []Tag{}
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &tags); err != nil {
			return nil, nil, fmt.Errorf("service: stored tags of %s: %w", resArn, err)
		}
	}
	return raw, tags, nil
}
