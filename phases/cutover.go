package phases

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"

	"github.com/obs-migrate/migrate/connectors/grafana"
)

// Journal kinds of the cutover actions and of their reversal.
const (
	KindCutoverAction = "cutover_action"
	KindCutoverUndo   = "cutover_undo"
)

// Gateway modes, as State.GatewayMode stores them.
const (
	GatewayDual       = "dual"
	GatewayNewPrimary = "new_primary"
)

// Cutover step names.
const (
	stepImportDashboards  = "import_dashboards"
	stepDefaultDataSource = "default_datasource"
	stepGatewayMode       = "gateway_new_primary"
)

// maxJournalNames bounds the names one journal entry lists; the state
// artifact keeps all of them.
const maxJournalNames = 100

// cutoverKey is the artifact key of an action's undo record in the cutover
// entry generation gen.
func cutoverKey(gen int, action string) string {
	return fmt.Sprintf("cutover.%d.%s", gen, action)
}

// ImportedDashboard is one dashboard the cutover imported, with what a
// rollback needs to reverse it.
type ImportedDashboard struct {
	File  string `json:"file"`
	UID   string `json:"uid"`
	Title string `json:"title"`
	// Previous is the dashboard that had this UID before the import, or
	// nil when the import created it.
	Previous *PreviousDashboard `json:"previous,omitempty"`
	Imported bool               `json:"imported"`
	Version  int                `json:"version,omitempty"`
}

// PreviousDashboard is a dashboard as it was before the cutover replaced
// it.
type PreviousDashboard struct {
	JSON      json.RawMessage `json:"json"`
	FolderUID string          `json:"folder_uid"`
	Version   int             `json:"version"`
}

// DashboardImport is the undo record of the import_dashboards step.
type DashboardImport struct {
	Folder     string              `json:"folder"`
	FolderUID  string              `json:"folder_uid"`
	Dashboards []ImportedDashboard `json:"dashboards"`
}

// DefaultDataSourceChange is the undo record of the default_datasource
// step. Previous is empty when the organization had no default.
type DefaultDataSourceChange struct {
	Previous     string `json:"previous"`
	PreviousName string `json:"previous_name,omitempty"`
	New          string `json:"new"`
	Changed      bool   `json:"changed"`
}

// GatewayChange is the undo record of the gateway_new_primary step.
type GatewayChange struct {
	Previous string `json:"previous"`
	New      string `json:"new"`
}

// cutoverSteps are the cutover actions, in order. Each is idempotent: it
// keeps its undo record in the state before it changes anything, and a
// repeated run keeps the first record.
func cutoverSteps() []Step {
	return []Step{
		{Name: stepImportDashboards, Run: importDashboards},
		{Name: stepDefaultDataSource, Run: switchDefaultDataSource},
		{Name: stepGatewayMode, Run: switchGateway},
	}
}

// convertedDashboards lists the dashboards the translate phase wrote.
func convertedDashboards(r *Run) ([]string, error) {
	var files []string
	for _, sub := range []string{"kibana", "grafana"} {
		dir := filepath.Join(translateOut(r, sub), "dashboards")
		found, err := filepath.Glob(filepath.Join(dir, "*.json"))
		if err != nil {
			return nil, err
		}
		files = append(files, found...)
	}
	slices.Sort(files)
	return files, nil
}

// dashboardHead reads a dashboard's uid and title.
func dashboardHead(data []byte) (uid, title string, err error) {
	var head struct {
		UID   string `json:"uid"`
		Title string `json:"title"`
	}
	if err := json.Unmarshal(data, &head); err != nil {
		return "", "", err
	}
	return head.UID, head.Title, nil
}

// importDashboards imports the converted dashboards into
// targets.grafana.folder, replacing dashboards with the same UID or
// title. Before importing one it stores the dashboard it replaces, so a
// rollback can restore it.
func importDashboards(ctx context.Context, r *Run) (string, error) {
	files, err := convertedDashboards(r)
	if err != nil {
		return "", err
	}
	folder := r.Plan.Targets.Grafana.Folder
	folderName := folder
	if folderName == "" {
		folderName = "General"
	}
	if len(files) == 0 {
		return fmt.Sprintf("no converted dashboard under %s: nothing to import", filepath.Join(r.Plan.Path(r.Plan.Phases.Translate.Out), "translate")), nil
	}
	if r.DryRun {
		for _, f := range files {
			r.Would("import dashboard %s into Grafana folder %s", f, folderName)
		}
		return fmt.Sprintf("dry run: %d dashboards not imported", len(files)), nil
	}
	g, err := r.actions().TargetGrafana(r.Plan)
	if err != nil {
		return "", fmt.Errorf("connecting to targets.grafana: %w", err)
	}
	defer closeAll(g)

	key := cutoverKey(r.Generation, stepImportDashboards)
	var rec DashboardImport
	if _, err := getJSON(ctx, r, key, &rec); err != nil {
		return "", err
	}
	if folder != "" && rec.FolderUID == "" {
		f, err := g.EnsureFolder(ctx, folder)
		if err != nil {
			return "", fmt.Errorf("targets.grafana.folder %q: %w", folder, err)
		}
		rec.Folder, rec.FolderUID = f.Title, f.UID
	}
	byFile := map[string]int{}
	for i, d := range rec.Dashboards {
		byFile[d.File] = i
	}
	message := "migrate cutover of plan " + r.Plan.Metadata.Name
	var created, replaced []string
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			return "", err
		}
		uid, title, err := dashboardHead(data)
		if err != nil {
			return "", fmt.Errorf("dashboard %s: %w; run the translate phase again", file, err)
		}
		i, seen := byFile[file]
		if !seen {
			d := ImportedDashboard{File: file, UID: uid, Title: title}
			if uid != "" {
				raw, meta, err := g.Dashboard(ctx, uid)
				switch {
				case grafana.IsNotFound(err):
				case err != nil:
					return "", fmt.Errorf("reading the dashboard %s that %s replaces: %w", uid, file, err)
				default:
					d.Previous = &PreviousDashboard{JSON: raw, FolderUID: meta.FolderUID, Version: meta.Version}
				}
			}
			rec.Dashboards = append(rec.Dashboards, d)
			i = len(rec.Dashboards) - 1
			byFile[file] = i
			// The record of what this import replaces is stored before
			// the import, so a crash in between loses nothing.
			if err := putJSON(ctx, r, key, rec); err != nil {
				return "", err
			}
		}
		res, err := g.ImportDashboard(ctx, data, rec.FolderUID, true, message)
		if err != nil {
			return "", fmt.Errorf("importing %s (%q): %w", file, title, err)
		}
		d := &rec.Dashboards[i]
		d.UID, d.Imported, d.Version = res.UID, true, res.Version
		if err := putJSON(ctx, r, key, rec); err != nil {
			return "", err
		}
		if d.Previous != nil {
			replaced = append(replaced, fmt.Sprintf("%s (was version %d)", d.UID, d.Previous.Version))
		} else {
			created = append(created, d.UID)
		}
	}
	summary := fmt.Sprintf("imported %d dashboards into Grafana folder %s: %d new, %d replacing an earlier version",
		len(files), folderName, len(created), len(replaced))
	err = r.Store.Append(ctx, Entry{
		Actor: r.Actor, Kind: KindCutoverAction, Phase: r.Phase, Generation: r.Generation, Step: stepImportDashboards,
		Message: summary,
		Data: map[string]any{
			"action": stepImportDashboards, "folder": folderName, "folder_uid": rec.FolderUID,
			"created": capList(created), "replaced": capList(replaced), "undo_record": key,
		},
	})
	return summary, err
}

// capList keeps at most maxJournalNames names and counts the rest.
func capList(names []string) []string {
	if len(names) <= maxJournalNames {
		return names
	}
	return append(slices.Clone(names[:maxJournalNames]), fmt.Sprintf("and %d more", len(names)-maxJournalNames))
}

// defaultDataSourceUID is the data source that becomes Grafana's default:
// targets.grafana.loki_uid, or tempo_uid for a plan without Loki's.
func defaultDataSourceUID(r *Run) (string, error) {
	g := r.Plan.Targets.Grafana
	switch {
	case g.LokiUID != "":
		return g.LokiUID, nil
	case g.TempoUID != "":
		return g.TempoUID, nil
	}
	return "", errors.New("targets.grafana has no loki_uid or tempo_uid: set loki_uid to the UID of the Loki data source that becomes the default")
}

// switchDefaultDataSource makes the Loki data source Grafana's default and
// stores the previous default. Grafana has one default per organization;
// the Tempo data source is reached through the converted dashboards, which
// name it by UID.
func switchDefaultDataSource(ctx context.Context, r *Run) (string, error) {
	uid, err := defaultDataSourceUID(r)
	if err != nil {
		return "", err
	}
	if r.DryRun {
		r.Would("make Grafana data source %s the default, remembering the current default", uid)
		return "dry run: default data source not changed", nil
	}
	g, err := r.actions().TargetGrafana(r.Plan)
	if err != nil {
		return "", fmt.Errorf("connecting to targets.grafana: %w", err)
	}
	defer closeAll(g)

	key := cutoverKey(r.Generation, stepDefaultDataSource)
	var rec DefaultDataSourceChange
	found, err := getJSON(ctx, r, key, &rec)
	if err != nil {
		return "", err
	}
	if !found {
		sources, err := g.DataSources(ctx)
		if err != nil {
			return "", fmt.Errorf("listing Grafana's data sources: %w", err)
		}
		exists := false
		for _, ds := range sources {
			if ds.IsDefault {
				rec.Previous, rec.PreviousName = ds.UID, ds.Name
			}
			exists = exists || ds.UID == uid
		}
		if !exists {
			return "", fmt.Errorf("Grafana has no data source with UID %s: create it, or fix targets.grafana.loki_uid", uid)
		}
		rec.New = uid
		if err := putJSON(ctx, r, key, rec); err != nil {
			return "", err
		}
	}

	changed, err := g.SetDataSourceDefault(ctx, uid, true)
	if err != nil {
		return "", fmt.Errorf("making data source %s the default: %w", uid, err)
	}
	if changed {
		rec.Changed = true
		if err := putJSON(ctx, r, key, rec); err != nil {
			return "", err
		}
	}

	previous := rec.Previous
	if previous == "" {
		previous = "none"
	}
	summary := fmt.Sprintf("default data source %s -> %s", previous, uid)
	if !rec.Changed {
		summary = fmt.Sprintf("data source %s was already the default", uid)
	}
	err = r.Store.Append(ctx, Entry{
		Actor: r.Actor, Kind: KindCutoverAction, Phase: r.Phase, Generation: r.Generation, Step: stepDefaultDataSource,
		Message: summary,
		Data:    map[string]any{"action": stepDefaultDataSource, "previous": rec.Previous, "previous_name": rec.PreviousName, "new": uid, "changed": rec.Changed},
	})
	return summary, err
}

// switchGateway puts the gateway in new_primary mode: Loki's and Tempo's
// responses go to the clients, and Elasticsearch and Jaeger receive the
// secondary copy. The gateway
// reads the mode from the state.
func switchGateway(ctx context.Context, r *Run) (string, error) {
	st, err := r.Store.State(ctx)
	if err != nil {
		return "", err
	}
	if r.DryRun {
		r.Would("switch the gateway from %s to %s", modeName(st.GatewayMode), GatewayNewPrimary)
		return "dry run: gateway mode not changed", nil
	}

	key := cutoverKey(r.Generation, stepGatewayMode)
	var rec GatewayChange
	found, err := getJSON(ctx, r, key, &rec)
	if err != nil {
		return "", err
	}
	if !found {
		rec = GatewayChange{Previous: modeName(st.GatewayMode), New: GatewayNewPrimary}
		if err := putJSON(ctx, r, key, rec); err != nil {
			return "", err
		}
	}
	if st.GatewayMode == GatewayNewPrimary {
		return "the gateway was already in new_primary mode", nil
	}

	summary := fmt.Sprintf("gateway mode %s -> %s", modeName(st.GatewayMode), GatewayNewPrimary)
	st.GatewayMode = GatewayNewPrimary
	err = r.Store.SetState(ctx, st, Entry{
		Actor: r.Actor, Kind: KindCutoverAction, Phase: r.Phase, Generation: r.Generation, Step: stepGatewayMode,
		Message: summary,
		Data:    map[string]any{"action": stepGatewayMode, "previous": rec.Previous, "new": GatewayNewPrimary},
	})
	return summary, err
}

func modeName(m string) string {
	if m == "" {
		return GatewayDual
	}
	return m
}

// undoCutover reverses the cutover actions of the cutover entry r.Generation
// in reverse order: the default data source, then the dashboards. The
// gateway goes back to dual in the rollback's own transition. Each undone
// action is journaled; undoing goes on past a failure.
func undoCutover(ctx context.Context, r *Run) []error {
	var (
		dsRec    DefaultDataSourceChange
		dashRec  DashboardImport
		gwRec    GatewayChange
		errs     []error
		anything bool
	)
	for key, v := range map[string]any{
		cutoverKey(r.Generation, stepDefaultDataSource): &dsRec,
		cutoverKey(r.Generation, stepImportDashboards):  &dashRec,
		cutoverKey(r.Generation, stepGatewayMode):       &gwRec,
	} {
		found, err := getJSON(ctx, r, key, v)
		if err != nil {
			errs = append(errs, fmt.Errorf("reading the undo record %s: %w", key, err))
		}
		anything = anything || found
	}
	if !anything || len(errs) > 0 {
		return errs
	}
	if gwRec.New != "" {
		errs = append(errs, r.journalUndo(ctx, stepGatewayMode,
			fmt.Sprintf("gateway mode %s -> %s", gwRec.New, GatewayDual),
			map[string]any{"previous": gwRec.New, "restored": GatewayDual}))
	}
	if dsRec.New == "" && len(dashRec.Dashboards) == 0 {
		return slices.DeleteFunc(errs, func(e error) bool { return e == nil })
	}
	g, err := r.actions().TargetGrafana(r.Plan)
	if err != nil {
		return append(errs, fmt.Errorf("connecting to targets.grafana to undo the cutover: %w; restore the default data source and the dashboards by hand (see the journal)", err))
	}
	defer closeAll(g)
	if dsRec.Changed {
		errs = append(errs, undoDefaultDataSource(ctx, r, g, dsRec))
	}
	if len(dashRec.Dashboards) > 0 {
		errs = append(errs, undoDashboards(ctx, r, g, dashRec)...)
	}
	return slices.DeleteFunc(errs, func(e error) bool { return e == nil })
}

func undoDefaultDataSource(ctx context.Context, r *Run, g GrafanaActions, rec DefaultDataSourceChange) error {
	var err error
	msg := ""
	if rec.Previous != "" {
		_, err = g.SetDataSourceDefault(ctx, rec.Previous, true)
		msg = fmt.Sprintf("default data source %s -> %s", rec.New, rec.Previous)
	} else {
		_, err = g.SetDataSourceDefault(ctx, rec.New, false)
		msg = fmt.Sprintf("data source %s is no longer the default; the organization had none before", rec.New)
	}
	if err != nil {
		return fmt.Errorf("restoring the default data source %s: %w", rec.Previous, err)
	}
	return r.journalUndo(ctx, stepDefaultDataSource, msg, map[string]any{"previous": rec.New, "restored": rec.Previous})
}

func undoDashboards(ctx context.Context, r *Run, g GrafanaActions, rec DashboardImport) []error {
	var (
		errs               []error
		deleted, restored  []string
		message            = "migrate rollback of plan " + r.Plan.Metadata.Name
		dashboards         = slices.Clone(rec.Dashboards)
		failedDeletes      int
		failedRestorations int
	)
	slices.Reverse(dashboards)
	for _, d := range dashboards {
		if d.UID == "" {
			continue
		}
		if d.Previous != nil {
			if _, err := g.ImportDashboard(ctx, d.Previous.JSON, d.Previous.FolderUID, true, message); err != nil {
				failedRestorations++
				errs = append(errs, fmt.Errorf("restoring dashboard %s to its version %d: %w", d.UID, d.Previous.Version, err))
				continue
			}
			restored = append(restored, fmt.Sprintf("%s (version %d)", d.UID, d.Previous.Version))
			continue
		}
		if _, err := g.DeleteDashboard(ctx, d.UID); err != nil {
			failedDeletes++
			errs = append(errs, fmt.Errorf("deleting imported dashboard %s: %w", d.UID, err))
			continue
		}
		deleted = append(deleted, d.UID)
	}
	msg := fmt.Sprintf("removed %d imported dashboards and restored %d earlier versions", len(deleted), len(restored))
	if failedDeletes+failedRestorations > 0 {
		msg += fmt.Sprintf("; %d deletions and %d restorations failed", failedDeletes, failedRestorations)
	}
	errs = append(errs, r.journalUndo(ctx, stepImportDashboards, msg,
		map[string]any{"deleted": capList(deleted), "restored": capList(restored)}))
	return errs
}

// journalUndo appends the journal entry of one reversed action.
func (r *Run) journalUndo(ctx context.Context, step, msg string, data map[string]any) error {
	data["action"] = step
	return r.Store.Append(ctx, Entry{
		Actor: r.Actor, Kind: KindCutoverUndo, Phase: r.Phase, Generation: r.Generation, Step: step,
		Message: "undid " + step + ": " + msg, Data: data,
	})
}
