package cli

import (
	"context"
	"encoding/json"

	"github.com/ecr-deployer/ecr-deployer/internal/executions"
	"github.com/ecr-deployer/ecr-deployer/internal/history"
)

func (a *App) history(ctx context.Context, args []string) error {
	fs := a.flags("history", "An execution's history as the console shows it: each state, its duration, key output, and the error where it failed.",
		"deployer history staging-7f5b2640fe6f-20261125T101500Z-3f9a")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return &usageError{"give one execution name or ARN"}
	}
	if err := a.checkOutput(); err != nil {
		return err
	}
	if err := a.connect(ctx); err != nil {
		return err
	}
	arn := pos[0]
	if len(arn) < 4 || arn[:4] != "arn:" {
		sm, err := a.stateMachine(ctx)
		if err != nil {
			return err
		}
		arn = executions.ARN(sm, arn)
	}
	d, err := a.executions("").Reread(ctx, arn)
	if err != nil {
		return err
	}
	events, err := a.allEvents(ctx, arn)
	if err != nil {
		return err
	}
	steps := history.Steps(history.FromSDK(events))
	res := history.Result{ExecutionARN: arn, Status: string(d.Status), Output: d.Output, Error: d.Error, Cause: d.Cause}
	if a.global.output == "json" {
		type step struct {
			Name     string  `json:"name"`
			Type     string  `json:"type"`
			AtSecs   float64 `json:"atSeconds"`
			TookSecs float64 `json:"tookSeconds"`
			Detail   string  `json:"detail,omitempty"`
		}
		out := struct {
			SchemaVersion int             `json:"schemaVersion"`
			Execution     string          `json:"execution"`
			Status        string          `json:"status"`
			Error         string          `json:"error,omitempty"`
			Cause         string          `json:"cause,omitempty"`
			Output        json.RawMessage `json:"output,omitempty"`
			Steps         []step          `json:"steps"`
		}{SchemaVersion: SchemaVersion, Execution: arn, Status: res.Status, Error: res.Error, Cause: history.CauseMessage(res.Cause), Steps: []step{}}
		if res.Output != "" {
			out.Output = json.RawMessage(res.Output)
		}
		for _, s := range steps {
			out.Steps = append(out.Steps, step{s.Name, s.Type, s.Offset.Seconds(), s.Duration.Seconds(), s.Summary})
		}
		enc := json.NewEncoder(a.Out)
		enc.SetIndent("", "  ")
		return enc.Encode(out)
	}
	history.Render(a.Out, res, steps)
	return nil
}
