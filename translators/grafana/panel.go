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

	var (
		out                       []any
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
		kind := c.targetKind(target, panelKind)
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
		c.record(panel, target, kind, res)
		if len(res.targets) == 0 {
			out = append(out, target)
			keptTargets = append(keptTargets, target)
			continue
		}
		converted++
		for _, nt := range res.targets {
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
	panel.Set("targets", uniqueRefIDs(out))
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

// targetKind is the data source kind of a target: its own reference, the
// panel's, or its shape.
func (c *dashConv) targetKind(target *ojson.Object, panelKind Kind) Kind {
	kind := panelKind
	if ds, ok := target.Get("datasource"); ok && ds != nil {
		if k := c.res.kind(ds); k != KindUnknown {
			kind = k
		}
	}
	switch kind {
	case KindUnknown, KindMixed:
		if k := kindByShape(target); k != KindUnknown {
			return k
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

// uniqueRefIDs gives targets that one source target became distinct refIds:
// A, then A2, A3.
func uniqueRefIDs(targets []any) []any {
	seen := map[string]int{}
	for _, t := range targets {
		o, ok := t.(*ojson.Object)
		if !ok {
			continue
		}
		id := o.String("refId")
		seen[id]++
		if n := seen[id]; n > 1 {
			next := id + itoa(n)
			for seen[next] > 0 {
				n++
				next = id + itoa(n)
			}
			seen[next]++
			o.Set("refId", next)
		}
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
