// Package phases runs a migration plan as a state machine: inventory,
// translate, deploy, parallel_run, cutover and decommission. Each phase has
// an entry gate, idempotent steps and an exit gate. Every step is
// checkpointed in a state store before and after it runs, so a crash or a
// restart resumes at the last checkpoint: a step that was interrupted runs
// again from its beginning, and the journal records the interruption. Every
// transition, step, gate result, approval and hook run is appended to the
// journal with its time, actor and reason.
package phases
