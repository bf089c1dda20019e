package alerts

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/obs-migrate/migrate/plans"
	"github.com/obs-migrate/migrate/translators/fidelity"
)

// Options configures a batch conversion.
type Options struct {
	// Mappings is the plan's logs section. Empty means no mapping: every
	// query searches all streams, parses lines as JSON and carries a reason
	// stating this.
	Mappings []plans.LogMapping
}

// Output is one generated rule file.
type Output struct {
	// File is the file name to write, relative to the output folder.
	File string
	// Rules is the number of rules in the file.
	Rules int
	// Disabled marks the file of an input's rules that were disabled in
	// Kibana or deactivated in Watcher, named <input>.disabled.yaml. It is
	// not meant to be loaded as it is, because Loki runs every rule it
	// loads.
	Disabled bool
	// YAML is the rule file in Loki's ruler format.
	YAML []byte
}

// Result is the outcome of a batch.
type Result struct {
	Files  []Output
	Report *Report
}

// converter holds what the conversion of one batch shares.
type converter struct {
	res     *resources
	builder builder
}

// sourceObject is one object read from an input, classified.
type sourceObject struct {
	value any
	// canon is the object as canonical JSON, to tell a repeated copy of a
	// rule from a different rule that reuses its id.
	canon string
}

// inputFile is one input with its objects.
type inputFile struct {
	input   Input
	objects []sourceObject
}

// Convert reads every input and converts its Kibana rules and watches into
// Loki rule files, one per input file that has a convertible rule, with one
// rule group per rule. Rules that are disabled in the source go to a second
// file of the input, <input>.disabled.yaml. It never stops on a bad object:
// failures are items of the report. Data views, log views and connectors
// anywhere in the batch resolve the references of rules in any file.
func Convert(inputs []Input, opts Options) *Result {
	c := &converter{res: newResources(), builder: builder{mappings: opts.Mappings}}
	report := &Report{}
	files := c.readAll(inputs, report)

	var outputs []Output
	seen := make(map[string]string)
	usedNames := make(map[string]bool)
	for _, f := range files {
		outputs = append(outputs, c.convertFile(f, seen, usedNames, report)...)
	}
	report.Summary.Files = len(inputs)
	report.finish()
	return &Result{Files: outputs, Report: report}
}

// readAll reads and classifies every object of every input; failures go
// to the report.
func (c *converter) readAll(inputs []Input, report *Report) []inputFile {
	var files []inputFile
	for _, in := range inputs {
		elems, err := splitFile(in.File, in.Data)
		if err != nil {
			report.addFileError(in.File, err)
			continue
		}
		f := inputFile{input: in}
		for _, el := range elems {
			doc, oerr := decodeElement(el)
			if oerr != nil {
				report.addUnreadable(oerr)
				continue
			}
			v, oerr := classify(el, doc, c.res)
			switch {
			case oerr != nil:
				report.addUnreadable(oerr)
			case v != nil:
				canon, _ := json.Marshal(doc)
				f.objects = append(f.objects, sourceObject{value: v, canon: string(canon)})
			}
		}
		files = append(files, f)
	}
	return files
}

// fileConversion collects the rule files of one input: the enabled rules,
// and the rules that are disabled in the source.
type fileConversion struct {
	// input is the input file name without its folders.
	input    string
	stem     string
	groups   []RuleGroup
	disabled []RuleGroup
	skipped  []string
	// groupNames are the group names taken in either file, so a group
	// keeps its name when it is moved from one to the other.
	groupNames map[string]bool
}

// disabledSuffix ends the name of a file of rules that are disabled in the
// source.
const disabledSuffix = ".disabled.yaml"

func (fc *fileConversion) enabledFile() string  { return fc.stem + ".yaml" }
func (fc *fileConversion) disabledFile() string { return fc.stem + disabledSuffix }

// add puts a group into the enabled or the disabled file and returns the
// file's name.
func (fc *fileConversion) add(g RuleGroup, disabled bool) string {
	if disabled {
		fc.disabled = append(fc.disabled, g)
		return fc.disabledFile()
	}
	fc.groups = append(fc.groups, g)
	return fc.enabledFile()
}

// convertFile converts the rules of one input into its rule files. seen
// maps kind/id to the canonical JSON of the first copy of each rule.
func (c *converter) convertFile(f inputFile, seen map[string]string, usedNames map[string]bool, report *Report) []Output {
	fc := &fileConversion{
		input:      lastPathElement(f.input.File),
		stem:       outputStem(f.input.File, usedNames),
		groupNames: make(map[string]bool),
	}
	for _, o := range f.objects {
		switch v := o.value.(type) {
		case *otherObject:
			c.reportOther(v, report)
		case *kibanaRule, *watch:
			c.convertRule(v, o.canon, fc, seen, report)
		}
	}
	outs, err := fc.encode()
	if err != nil {
		report.addFileError(f.input.File, err)
		return nil
	}
	for _, out := range outs {
		usedNames[out.File] = true
	}
	return outs
}

// encode writes the enabled and the disabled rule file, each when it has
// a group. The list of the input's rules that were not converted goes at
// the end of the enabled file, or of the disabled file when there is no
// enabled one.
func (fc *fileConversion) encode() ([]Output, error) {
	var footer []string
	if len(fc.skipped) > 0 {
		footer = append([]string{"Not converted (see the report for the reasons):"}, fc.skipped...)
	}
	var outs []Output
	if len(fc.groups) > 0 {
		data, err := encodeRuleFile(RuleFile{Groups: fc.groups}, fc.enabledHeader(), footer)
		if err != nil {
			return nil, err
		}
		outs = append(outs, Output{File: fc.enabledFile(), Rules: len(fc.groups), YAML: data})
		footer = nil
	}
	if len(fc.disabled) > 0 {
		data, err := encodeRuleFile(RuleFile{Groups: fc.disabled}, fc.disabledHeader(), footer)
		if err != nil {
			return nil, err
		}
		outs = append(outs, Output{File: fc.disabledFile(), Rules: len(fc.disabled), Disabled: true, YAML: data})
	}
	return outs, nil
}

// groupsComment is the part of each file's header that explains groups and
// notifications.
var groupsComment = []string{
	"Each group is one source rule, named by its id. Loki rules have no actions: Alertmanager",
	"routes the alerts, and each rule's annotations list what the source notified.",
}

func (fc *fileConversion) enabledHeader() []string {
	header := append([]string{
		fmt.Sprintf("Loki ruler rules converted by migrate translate alerts from %s.", fc.input),
	}, groupsComment...)
	if len(fc.disabled) > 0 {
		header = append(header,
			fmt.Sprintf("The rules that are disabled in the source are in %s,", fc.disabledFile()),
			"which is not meant to be loaded.")
	}
	return header
}

func (fc *fileConversion) disabledHeader() []string {
	return append([]string{
		fmt.Sprintf("Loki ruler rules converted by migrate translate alerts from %s,", fc.input),
		"for the rules that are disabled in Kibana or deactivated in Watcher. This file is not",
		"meant to be loaded as it is, because Loki runs every rule it loads: to turn a rule on",
		"in Loki, move its group to a loaded rule file.",
	}, groupsComment...)
}

func (c *converter) reportOther(o *otherObject, report *Report) {
	switch o.kind {
	case KindDetectionRule:
		it := &Item{
			ID: o.id, Kind: o.kind, Name: o.title, Source: o.origin.String(),
			Status: fidelity.Unsupported.String(), rule: true,
		}
		it.Reasons.Addf(fidelity.Unsupported, "detection_rule",
			"security detection rules are not converted: they run in Kibana's security app, and their alerts are documents, not notifications; rewrite it as a LogQL rule by hand")
		report.Items = append(report.Items, it)
	default:
		report.addSkipped(o.origin, o.kind, o.id, o.title, "not_a_rule",
			"not an alerting rule; read to resolve the references of rules in the batch")
	}
}

// convertRule converts one Kibana rule or watch and records it.
func (c *converter) convertRule(v any, canon string, fc *fileConversion, seen map[string]string, report *Report) {
	spec, oerr := c.spec(v)
	if oerr != nil {
		report.addFailed(oerr, "")
		return
	}
	key := spec.kind + "/" + spec.id
	if first, dup := seen[key]; dup {
		if first == canon {
			report.addSkipped(spec.origin, spec.kind, spec.id, spec.displayName(), "duplicate",
				"an identical copy of a rule read earlier in the batch; converted once")
			return
		}
		spec.reasons.Addf(fidelity.Exact, "id_reused",
			"another rule in the batch has the id %s; each is converted into its own group", spec.id)
	} else {
		seen[key] = canon
	}

	b := c.builder.build(spec)
	it := &Item{
		ID: spec.id, Kind: spec.kind, Name: spec.displayName(), Source: spec.origin.String(),
		Status: b.level().String(), Disabled: spec.disabled, Original: spec.original, Expr: b.expr,
		Reasons: b.reasons, Actions: spec.notes[noteActions], rule: true,
	}
	report.Items = append(report.Items, it)
	if b.rule == nil {
		line := fmt.Sprintf("- %s %s (%s): %s", spec.kind, spec.id, spec.displayName(), b.level())
		if spec.disabled {
			line += ", disabled in the source"
		}
		fc.skipped = append(fc.skipped, line)
		return
	}
	name := uniqueName(groupName(spec.source, spec.id), fc.groupNames)
	fc.groupNames[name] = true
	group := RuleGroup{Name: name, Interval: formatDuration(spec.interval), Rules: []Rule{*b.rule}}
	it.Output, it.Group = fc.add(group, spec.disabled), name
}

// spec reads the rule spec of a Kibana rule or a watch; an error names the
// object.
func (c *converter) spec(v any) (*ruleSpec, *ObjectError) {
	var (
		spec   *ruleSpec
		err    error
		origin Origin
		kind   string
		id     string
		name   string
	)
	switch v := v.(type) {
	case *kibanaRule:
		origin, kind, id, name = v.origin, v.typeID, v.id, v.name
		spec, err = c.kibanaSpec(v)
	case *watch:
		origin, kind, id, name = v.origin, KindWatch, v.id, watchName(v)
		spec, err = c.watchSpec(v)
	}
	if err != nil {
		if name != "" && name != id {
			err = fmt.Errorf("%q: %w", name, err)
		}
		return nil, &ObjectError{Origin: origin, Kind: kind, ID: id, Err: err}
	}
	return spec, nil
}

// outputStem names the rule files of an input after the input file, with a
// number added when an earlier input of the batch wrote a file of either
// name. A stem never ends in .disabled, so that only a file of disabled
// rules has a name that ends in .disabled.yaml.
func outputStem(input string, used map[string]bool) string {
	base := filepath.Base(input)
	stem := slug(strings.TrimSuffix(base, filepath.Ext(base)))
	if trimmed, ok := strings.CutSuffix(stem, ".disabled"); ok {
		stem = trimmed + "_disabled"
	}
	candidate := stem
	for n := 2; used[candidate+".yaml"] || used[candidate+disabledSuffix]; n++ {
		candidate = stem + "-" + strconv.Itoa(n)
	}
	return candidate
}

// uniqueName returns name, or name-2, name-3 ... when name is taken.
func uniqueName(name string, taken map[string]bool) string {
	candidate := name
	for n := 2; taken[candidate]; n++ {
		candidate = name + "-" + strconv.Itoa(n)
	}
	return candidate
}
