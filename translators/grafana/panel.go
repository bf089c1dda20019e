package grafana

import (
	"github.com/obs-migrate/migrate/internal/ojson"
	"github.com/obs-migrate/migrate/translators/fidelity"
)

// mixedRef is Grafana's reference to the Mixed data source, which lets each
// target name its own.
func mixedRef() *ojson.Object {
	ref := ojson.NewObject()
	ref.Set("type", "datasource")
	ref.Set("uid", "-- Mixed --")
	return ref
}

// convertPanel converts the panel's Elasticsearch, OpenSearch and Jaeger
// targets and repoints its data source. A target that cannot be converted
// stays on its old data source, and the panel becomes Mixed, so the panel
// keeps working until the old stack is gone and the report names the
// target.
func (c *dashConv) convertPanel(panel *ojson.Object) {
	panelDS, _ := panel.Get("datasource")
	panelKind := c.res.kind(panelDS)
	targets := panel.Array("targets")
	if len(targets) == 0 {
		return
	}
	// Grafana regenerates repeated panels from their source on load, so
	// copies are converted like the source but reported once.
	_, isCopy := panel.Get("repeatPanelId")

	var (
		out                       []any
		generated                 map[*ojson.Object]bool
		converted                 int
		keptTargets               []*ojson.Object
		lokiTargets, tempoTargets int
		logs                      bool
	)
	for _, t := range targets {
		target, ok := t.(*ojson.Object)
		if !ok {
			out = append(out, t)
			continue
		}
		kind := c.targetKind(target, panelKind, panelDS)
		var (
			res  convertedTarget
			done bool
		)
		switch {
		case kind.logsSource():
			r := c.convertES(target, panel.String("type"))
			res = convertedTarget{targets: r.targets, reasons: r.reasons, queries: r.queries, lang: "logql"}
			logs = logs || r.logs
			done = true
			lokiTargets += len(r.targets)
		case kind == KindJaeger:
			res = c.convertJaeger(target)
			done = true
			tempoTargets += len(res.targets)
		}
		if !done {
			out = append(out, target)
			continue
		}
		if !isCopy {
			c.record(panel, target, kind, res)
		}
		if len(res.targets) == 0 {
			out = append(out, target)
			keptTargets = append(keptTargets, target)
			c.keepRef(effectiveRef(target, panelDS))
			continue
		}
		converted++
		if generated == nil {
			generated = map[*ojson.Object]bool{}
		}
		for i, nt := range res.targets {
			// Every converted target names its data source, so it keeps
			// it when the panel becomes Mixed.
			if _, has := nt.Get("datasource"); !has {
				if kind == KindJaeger {
					nt.Set("datasource", c.tempoRef(panelDS))
				} else {
					nt.Set("datasource", c.lokiRef(panelDS))
				}
			}
			if i > 0 {
				generated[nt] = true
			}
			out = append(out, nt)
		}
	}
	if converted == 0 {
		return
	}
	c.changed = true
	// A target left on its old data source must name it, since the
	// panel's reference is about to change.
	for _, t := range keptTargets {
		if ds, _ := t.Get("datasource"); ds == nil && panelDS != nil {
			t.Set("datasource", ojson.Clone(panelDS))
		}
	}
	panel.Set("targets", uniqueRefIDs(out, generated))
	switch {
	case len(keptTargets) > 0 || panelKind == KindMixed || (lokiTargets > 0 && tempoTargets > 0):
		panel.Set("datasource", mixedRef())
	case lokiTargets > 0:
		panel.Set("datasource", c.lokiRef(panelDS))
	case tempoTargets > 0:
		panel.Set("datasource", c.tempoRef(panelDS))
	}
	if logs && converted == len(targets) {
		panel.Set("type", "logs")
	}
}

// effectiveRef is the data source a target runs on: its own, or the
// panel's.
func effectiveRef(target *ojson.Object, panelDS any) any {
	if ds, _ := target.Get("datasource"); ds != nil {
		return ds
	}
	return panelDS
}

// targetKind is the data source kind of a target: its own reference, the
// panel's, or its shape. A name recognised by shape is remembered, so
// variables and annotations on the same data source follow it; a name that
// stays unknown is reported.
func (c *dashConv) targetKind(target *ojson.Object, panelKind Kind, panelDS any) Kind {
	kind := panelKind
	ref := panelDS
	if ds, ok := target.Get("datasource"); ok && ds != nil {
		ref = ds
		if k := c.res.kind(ds); k != KindUnknown {
			kind = k
		}
	}
	switch kind {
	case KindUnknown, KindMixed:
		if k := kindByShape(target); k != KindUnknown {
			c.res.learn(ref, k)
			return k
		}
		if kind == KindUnknown {
			c.unresolved(ref, target)
		}
	case KindOther:
		// A plugin this tool does not know, whose targets carry the
		// whole Elasticsearch model, is a fork of that plugin.
		if esModel(target) {
			return KindElasticsearch
		}
	}
	return kind
}

// convertedTarget is one source target's conversion.
type convertedTarget struct {
	targets []*ojson.Object
	reasons fidelity.Reasons
	queries []string
	lang    string
}

// uniqueRefIDs gives the targets a conversion generated (the second and
// later of one source target) refIds that no other target of the panel
// has: A, then A2, A3. Targets the conversion did not generate keep their
// refIds, which expressions and field overrides refer to.
func uniqueRefIDs(targets []any, generated map[*ojson.Object]bool) []any {
	taken := map[string]bool{}
	for _, t := range targets {
		if o, ok := t.(*ojson.Object); ok && !generated[o] {
			taken[o.String("refId")] = true
		}
	}
	for _, t := range targets {
		o, ok := t.(*ojson.Object)
		if !ok || !generated[o] {
			continue
		}
		base := o.String("refId")
		next := base
		for n := 2; taken[next]; n++ {
			next = base + itoa(n)
		}
		taken[next] = true
		o.Set("refId", next)
	}
	return targets
}

func itoa(n int) string {
	const digits = "0123456789"
	if n < 10 {
		return digits[n : n+1]
	}
	return itoa(n/10) + digits[n%10:n%10+1]
}
