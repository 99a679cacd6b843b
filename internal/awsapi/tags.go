package awsapi

import (
	"context"
	"strconv"

	"github.com/stepline/stepline/internal/service"
)

type listTagsOut struct {
	Tags []service.Tag `json:"tags"`
}

func (a *API) listTagsForResource(ctx context.Context, body []byte) (any, error) {
	arn, _, err := decodeArn(body, "resourceArn")
	if err != nil {
		return nil, err
	}
	tags, err := a.o.Service.ListTagsForResource(ctx, arn)
	if err != nil {
		return nil, err
	}
	return listTagsOut{Tags: tags}, nil
}

type tagResourceIn struct {
	ResourceArn *string `json:"resourceArn"`
	Tags        []tagIn `json:"tags"`
}

func (a *API) tagResource(ctx context.Context, body []byte) (any, error) {
	var in tagResourceIn
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	var c checker
	c.reqStr("resourceArn", in.ResourceArn, 1, maxArn, false)
	c.required("tags", in.Tags != nil)
	tags := checkTags(&c, in.Tags)
	if err := c.err(); err != nil {
		return nil, err
	}
	if err := a.o.Service.TagResource(ctx, *in.ResourceArn, tags); err != nil {
		return nil, err
	}
	return empty{}, nil
}

type untagResourceIn struct {
	ResourceArn *string   `json:"resourceArn"`
	TagKeys     []*string `json:"tagKeys"`
}

func (a *API) untagResource(ctx context.Context, body []byte) (any, error) {
	var in untagResourceIn
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	var c checker
	c.reqStr("resourceArn", in.ResourceArn, 1, maxArn, false)
	c.required("tagKeys", in.TagKeys != nil)
	keys := make([]string, len(in.TagKeys))
	for i, k := range in.TagKeys {
		field := "tagKeys." + strconv.Itoa(i+1) + ".member"
		if c.required(field, k != nil) {
			c.str(field, k, 1, maxTagKey, false)
			keys[i] = *k
		}
	}
	if err := c.err(); err != nil {
		return nil, err
	}
	if err := a.o.Service.UntagResource(ctx, *in.ResourceArn, keys); err != nil {
		return nil, err
	}
	return empty{}, nil
}
