package apidocs

import (
	"bytes"
	"encoding/json"
	"slices"
)

// A schema's allOf, merged into one schema for the page: each part adds
// what it says, and a property a later part names again replaces the
// earlier one, so that a body's fields show once each.

// merge adds to s what p, one part of its allOf, says and s does not.
func (s *docSchema) merge(p docSchema) error {
	if len(s.Type) == 0 {
		s.Type = p.Type
	}
	if s.Description == "" {
		s.Description = p.Description
	}
	s.Required = append(s.Required, p.Required...)
	ours, err := members(s.Properties)
	if err != nil {
		return err
	}
	theirs, err := members(p.Properties)
	if err != nil {
		return err
	}
	if len(theirs) > 0 {
		s.Properties = objectOf(mergeMembers(ours, theirs))
	}
	return nil
}

// mergeMembers adds theirs to ours, one of theirs replacing one of ours of
// the same name in its place: a part of an allOf that narrows a property
// (an error's status text to one const) shows it once, as narrowed.
func mergeMembers(ours, theirs []member) []member {
	merged := slices.Clone(ours)
	for _, t := range theirs {
		i := slices.IndexFunc(merged, func(m member) bool { return m.name == t.name })
		if i < 0 {
			merged = append(merged, t)
			continue
		}
		merged[i] = t
	}
	return merged
}

// objectOf is the JSON object of ms, in their order.
func objectOf(ms []member) json.RawMessage {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, m := range ms {
		if i > 0 {
			b.WriteByte(',')
		}
		name, _ := json.Marshal(m.name) // a string always marshals
		b.Write(name)
		b.WriteByte(':')
		b.Write(m.value)
	}
	b.WriteByte('}')
	return b.Bytes()
}
