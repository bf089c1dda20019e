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
// rule group per rule. It never stops on a bad object: failures are items
// of the report. Data views, log views and connectors anywhere in the batch
// resolve the references of rules in any file.
func Convert(inputs []Input, opts Options) *Result {
	c := &converter{res: newResources(), builder: builder{mappings: opts.Mappings}}
	report := &Report{}
	files := c.readAll(inputs, report)

	var outputs []Output
	seen := make(map[string]string)
	usedNames := make(map[string]bool)
	for _, f := range files {
		if out, ok := c.convertFile(f, seen, usedNames, report); ok {
			outputs = append(outputs, out)
		}
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
				report.addFailed(oerr, "")
				continue
			}
			v, oerr := classify(el, doc, c.res)
			switch {
			case oerr != nil:
				report.addFailed(oerr, "")
			case v != nil:
				canon, _ := json.Marshal(doc)
				f.objects = append(f.objects, sourceObject{value: v, canon: string(canon)})
				report.Summary.Objects++
			}
		}
		files = append(files, f)
	}
	return files
}

// fileConversion collects the rule file of one input.
type fileConversion struct {
	name    string
	groups  []RuleGroup
	skipped []string
}

// convertFile converts the rules of one input into one rule file. seen
// maps kind/id to the canonical JSON of the first copy of each rule.
func (c *converter) convertFile(f inputFile, seen map[string]string, usedNames map[string]bool, report *Report) (Output, bool) {
	fc := &fileConversion{name: outputName(f.input.File, usedNames)}
	groupNames := make(map[string]bool)
	for _, o := range f.objects {
		switch v := o.value.(type) {
		case *otherObject:
			c.reportOther(v, report)
		case *kibanaRule, *watch:
			c.convertRule(v, o.canon, fc, seen, groupNames, report)
		}
	}
	if len(fc.groups) == 0 {
		return Output{}, false
	}
	usedNames[fc.name] = true
	header := []string{
		fmt.Sprintf("Loki ruler rules converted by migrate translate alerts from %s.", lastPathElement(f.input.File)),
		"Each group is one source rule, named by its id. Loki rules have no actions: Alertmanager",
		"routes the alerts, and each rule's annotations list what the source notified.",
	}
	var footer []string
	if len(fc.skipped) > 0 {
		footer = append([]string{"Not converted (see the report for the reasons):"}, fc.skipped...)
	}
	data, err := encodeRuleFile(RuleFile{Groups: fc.groups}, header, footer)
	if err != nil {
		report.addFileError(f.input.File, err)
		return Output{}, false
	}
	return Output{File: fc.name, Rules: len(fc.groups), YAML: data}, true
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
func (c *converter) convertRule(v any, canon string, fc *fileConversion, seen map[string]string, groupNames map[string]bool, report *Report) {
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
		Status: b.level().String(), Original: spec.original, Expr: b.expr, Reasons: b.reasons,
		Actions: spec.notes[noteActions], rule: true,
	}
	report.Items = append(report.Items, it)
	if b.rule == nil {
		fc.skipped = append(fc.skipped, fmt.Sprintf("- %s %s (%s): %s", spec.kind, spec.id, spec.displayName(), b.level()))
		return
	}
	name := uniqueName(groupName(spec.source, spec.id), groupNames)
	groupNames[name] = true
	fc.groups = append(fc.groups, RuleGroup{Name: name, Interval: formatDuration(spec.interval), Rules: []Rule{*b.rule}})
	it.Output, it.Group = fc.name, name
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

// outputName names the rule file of an input after the input file, with a
// number added when an earlier input of the batch wrote a file of that name.
func outputName(input string, used map[string]bool) string {
	base := filepath.Base(input)
	stem := slug(strings.TrimSuffix(base, filepath.Ext(base)))
	name := stem + ".yaml"
	for n := 2; used[name]; n++ {
		name = stem + "-" + strconv.Itoa(n) + ".yaml"
	}
	return name
}

// uniqueName returns name, or name-2, name-3 ... when name is taken.
func uniqueName(name string, taken map[string]bool) string {
	candidate := name
	for n := 2; taken[candidate]; n++ {
		candidate = name + "-" + strconv.Itoa(n)
	}
	return candidate
}
