package store

// TagsReplaceParams replaces a resource's tags with Tags if they are still Old, byte for byte
// as the store returned them (absent and empty tags are the same). TagResource and UntagResource merge into the stored tags, so
// without the comparison two concurrent calls could each write their own merge and lose the
// other's change; the caller reads again and retries on ErrConflict instead.
type TagsReplaceParams struct {
	Arn  string
	Old  []byte
	Tags []byte
}

// Validate checks the params.
func (p *TagsReplaceParams) Validate() error {
	if p.Arn == "" {
		return invalid("tags replacement needs an ARN")
	}
	return nil
}
