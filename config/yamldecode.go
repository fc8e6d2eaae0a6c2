package config

import (
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"gopkg.in/yaml.v3"
)

// Pos records where a mapping was written, and where each of its keys was, so that validation can point
// at the exact line of the value at fault. The decoder fills it in for every struct that embeds it.
type Pos struct {
	Line int `yaml:"-"`
	// Lines maps a key of this mapping to its line. Elements of a list are recorded as "key[i]" and entries
	// of a map as "key.name".
	Lines map[string]int `yaml:"-"`
}

// LineOf returns the line where key was written, or the line of the mapping itself when key is absent
// (a missing key is best reported where it should have been).
func (p Pos) LineOf(key string) int {
	if l, ok := p.Lines[key]; ok {
		return l
	}
	return p.Line
}

// maxYAMLNodes bounds the work of decoding one file. Aliases let a tiny file expand into billions of
// nodes; no real shipyard, SLO or config comes anywhere near this.
const maxYAMLNodes = 200_000

var (
	posType         = reflect.TypeFor[Pos]()
	durationType    = reflect.TypeFor[time.Duration]()
	timeType        = reflect.TypeFor[time.Time]()
	unmarshalerType = reflect.TypeFor[yaml.Unmarshaler]()
	configType      = reflect.TypeFor[Config]()
)

// yamlDecoder decodes a YAML node tree into Go structs, reporting every problem with its line instead of
// stopping at the first. It exists because yaml.v3 cannot be strict and line-aware at once: its strict
// mode (KnownFields) is lost inside custom unmarshalers and its errors name Go types, not the user's keys.
type yamlDecoder struct {
	diagnoser
	// tolerated is how problems that Keptn let pass are reported (unknown keys, fractional whole numbers):
	// errors in shipgate.yaml, warnings in Keptn files so that files that worked there still load.
	tolerated Severity
	budget    int
}

// parseYAML parses data into its root node. It returns nil, without a diagnostic, for an empty document,
// and nil with a diagnostic when the YAML does not parse.
func parseYAML(d diagnoser, data []byte) *yaml.Node {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		line, msg := splitYAMLError(err)
		d.errorf(line, "invalid YAML: %s", msg)
		return nil
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) == 0 {
		return nil
	}
	root := doc.Content[0]
	if isNull(root) {
		return nil
	}
	return root
}

// decodeYAML decodes the node tree into v (a pointer), reporting problems to d.
func decodeYAML(d diagnoser, root *yaml.Node, v any, tolerated Severity) {
	decodeYAMLAt(d, root, v, tolerated, "")
}

// decodeYAMLAt is decodeYAML for a node found at path (such as "slack"), which messages name.
func decodeYAMLAt(d diagnoser, n *yaml.Node, v any, tolerated Severity, path string) {
	dec := &yamlDecoder{diagnoser: d, tolerated: tolerated, budget: maxYAMLNodes}
	dec.decode(n, reflect.ValueOf(v).Elem(), path)
}

var yamlLineRE = regexp.MustCompile(`^(?:yaml: )?(?:unmarshal errors:\s*)?line (\d+): (.*)$`)

// splitYAMLError extracts the line from a yaml.v3 error ("yaml: line 3: did not find expected key").
func splitYAMLError(err error) (int, string) {
	msg := err.Error()
	var te *yaml.TypeError
	if errors.As(err, &te) && len(te.Errors) > 0 {
		msg = strings.TrimSpace(te.Errors[0])
	}
	if m := yamlLineRE.FindStringSubmatch(msg); m != nil {
		line, _ := strconv.Atoi(m[1])
		return line, m[2]
	}
	return 0, strings.TrimPrefix(msg, "yaml: ")
}

func isNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null"
}

func (d *yamlDecoder) decode(n *yaml.Node, v reflect.Value, path string) {
	for n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	d.budget--
	if d.budget == 0 {
		d.errorf(n.Line, "document is too large or expands too many aliases (more than %d nodes)", maxYAMLNodes)
	}
	if d.budget <= 0 || isNull(n) {
		return
	}
	if v.Kind() != reflect.Pointer && v.CanAddr() && v.Addr().Type().Implements(unmarshalerType) {
		if err := n.Decode(v.Addr().Interface()); err != nil {
			line, msg := splitYAMLError(err)
			if line == 0 {
				line = n.Line
			}
			d.errorf(line, "%s%s", prefix(path), msg)
		}
		return
	}
	if v.Type() == timeType {
		d.decodeScalar(n, v, path)
		return
	}
	switch v.Kind() {
	case reflect.Pointer:
		if v.IsNil() {
			v.Set(reflect.New(v.Type().Elem()))
		}
		d.decode(n, v.Elem(), path)
	case reflect.Struct:
		d.decodeStruct(n, v, path)
	case reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			d.errorf(n.Line, "%sexpected a list, got %s", prefix(path), describeNode(n))
			return
		}
		s := reflect.MakeSlice(v.Type(), len(n.Content), len(n.Content))
		for i, item := range n.Content {
			d.decode(item, s.Index(i), fmt.Sprintf("%s[%d]", path, i))
		}
		v.Set(s)
	case reflect.Map:
		d.decodeMap(n, v, path)
	case reflect.Interface:
		if err := n.Decode(v.Addr().Interface()); err != nil {
			line, msg := splitYAMLError(err)
			d.errorf(max(line, n.Line), "%s%s", prefix(path), msg)
		}
	default:
		d.decodeScalar(n, v, path)
	}
}

func (d *yamlDecoder) decodeScalar(n *yaml.Node, v reflect.Value, path string) {
	want := describeType(v.Type())
	if n.Kind != yaml.ScalarNode {
		d.errorf(n.Line, "%sexpected %s, got %s", prefix(path), want, describeNode(n))
		return
	}
	if v.Type() == durationType {
		// yaml.v3 reads a bare number as nanoseconds; people mean seconds or forgot the unit, so insist on one.
		dur, err := time.ParseDuration(n.Value)
		if err != nil {
			d.errorf(n.Line, "%sexpected %s, got %q", prefix(path), want, n.Value)
			return
		}
		v.SetInt(int64(dur))
		return
	}
	if v.Type() == timeType {
		// RFC 3339 only: a time without its offset would be read in whatever zone the machine has.
		ts, err := time.Parse(time.RFC3339, n.Value)
		if err != nil {
			d.errorf(n.Line, "%sexpected %s, got %q", prefix(path), want, n.Value)
			return
		}
		v.Set(reflect.ValueOf(ts))
		return
	}
	if err := n.Decode(v.Addr().Interface()); err != nil {
		d.errorf(n.Line, "%sexpected %s, got %q", prefix(path), want, n.Value)
		return
	}
	if v.CanInt() && n.ShortTag() == "!!float" {
		// yaml.v3 truncates 1.5 to 1 without a word, and Keptn inherited that.
		d.report(d.tolerated, n.Line, "%sexpected %s, got %q; it is read as %d", prefix(path), want, n.Value, v.Int())
	}
}

func (d *yamlDecoder) decodeMap(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind != yaml.MappingNode {
		d.errorf(n.Line, "%sexpected a mapping, got %s", prefix(path), describeNode(n))
		return
	}
	if v.IsNil() {
		v.Set(reflect.MakeMap(v.Type()))
	}
	seen := map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := n.Content[i], n.Content[i+1]
		if prev, dup := seen[k.Value]; dup {
			d.errorf(k.Line, "%skey %q is already defined at line %d", prefix(path), k.Value, prev)
			continue
		}
		seen[k.Value] = k.Line
		key := reflect.New(v.Type().Key()).Elem()
		d.decode(k, key, path)
		elem := reflect.New(v.Type().Elem()).Elem()
		d.decode(val, elem, path+"."+k.Value)
		v.SetMapIndex(key, elem)
	}
}

func (d *yamlDecoder) decodeStruct(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind != yaml.MappingNode {
		d.errorf(n.Line, "%sexpected a mapping, got %s", prefix(path), describeNode(n))
		return
	}
	info := fieldsOf(v.Type())
	var pos *Pos
	if info.pos >= 0 {
		pos = v.Field(info.pos).Addr().Interface().(*Pos)
		if pos.Line == 0 {
			pos.Line = n.Line
		}
		if pos.Lines == nil {
			pos.Lines = map[string]int{}
		}
	}
	seen := map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := n.Content[i], n.Content[i+1]
		if k.Tag == "!!merge" {
			d.decodeMerge(val, v, path)
			continue
		}
		if prev, dup := seen[k.Value]; dup {
			d.errorf(k.Line, "%skey %q is already defined at line %d", prefix(path), k.Value, prev)
			continue
		}
		seen[k.Value] = k.Line
		idx, ok := info.byName[k.Value]
		if !ok {
			names := info.names
			if path == "" && v.Type() == configType {
				// The platforms' sections are decoded apart (decodePlatforms) but are keys here too.
				names = append(slices.Clip(names), PlatformNames()...)
			}
			d.report(d.tolerated, k.Line, "unknown key %q %s; expected one of: %s",
				k.Value, where(path), strings.Join(names, ", "))
			continue
		}
		if pos != nil {
			recordLines(pos, k, val)
		}
		d.decode(val, v.Field(idx), joinPath(path, k.Value))
	}
}

// decodeMerge applies a YAML merge key (<<: *anchor), which yaml.v3 leaves to the decoder.
func (d *yamlDecoder) decodeMerge(n *yaml.Node, v reflect.Value, path string) {
	for n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	if n.Kind == yaml.SequenceNode {
		for _, item := range n.Content {
			d.decodeMerge(item, v, path)
		}
		return
	}
	d.decodeStruct(n, v, path)
}

// recordLines notes the line of a key and, one level down, of each list element or map entry under it,
// which is as deep as validation ever needs to point.
func recordLines(pos *Pos, k, val *yaml.Node) {
	pos.Lines[k.Value] = k.Line
	for val.Kind == yaml.AliasNode && val.Alias != nil {
		val = val.Alias
	}
	switch val.Kind {
	case yaml.SequenceNode:
		for i, item := range val.Content {
			pos.Lines[fmt.Sprintf("%s[%d]", k.Value, i)] = item.Line
		}
	case yaml.MappingNode:
		for i := 0; i+1 < len(val.Content); i += 2 {
			pos.Lines[k.Value+"."+val.Content[i].Value] = val.Content[i].Line
		}
	}
}

type structInfo struct {
	byName map[string]int
	names  []string
	pos    int
}

var structCache sync.Map // reflect.Type -> *structInfo

func fieldsOf(t reflect.Type) *structInfo {
	if info, ok := structCache.Load(t); ok {
		return info.(*structInfo)
	}
	info := &structInfo{byName: map[string]int{}, pos: -1}
	for i := range t.NumField() {
		f := t.Field(i)
		if f.Type == posType {
			info.pos = i
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if name == "-" || !f.IsExported() {
			continue
		}
		if name == "" {
			name = strings.ToLower(f.Name)
		}
		info.byName[name] = i
		info.names = append(info.names, name)
	}
	structCache.Store(t, info)
	return info
}

func joinPath(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func prefix(path string) string {
	if path == "" {
		return ""
	}
	return path + ": "
}

func where(path string) string {
	if path == "" {
		return "at the top level"
	}
	return "in " + path
}

func describeNode(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		return strconv.Quote(n.Value)
	}
	return "something else"
}

func describeType(t reflect.Type) string {
	if t == durationType {
		return "a duration such as 30s, 5m or 1h"
	}
	if t == timeType {
		return "a time with its offset such as 2026-12-20T00:00:00Z"
	}
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "a whole number"
	case reflect.Float32, reflect.Float64:
		return "a number"
	}
	return "a " + t.Kind().String()
}
