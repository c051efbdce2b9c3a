package rig

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/ecr-deployer/ecr-deployer/internal/config"
	"github.com/ecr-deployer/ecr-deployer/internal/eventpattern"
	"github.com/ecr-deployer/ecr-deployer/local/emulator"
	"github.com/ecr-deployer/ecr-deployer/local/iam"
	"github.com/ecr-deployer/ecr-deployer/statemachine"
)

// Target account stacks (docs/multi-account.md): DeployTargetStack does
// what CloudFormation does with a target account stack's template in an
// account and Region of the local stack: its roles (named, with the trust
// policy and the permissions the template gives them) and its EventBridge
// rules, which put the account's matching ECS events on the deployer's
// default bus, where the deployer stack's bus policy must let that account
// in and the deployer's rules then route them.

// DeployTargetStack creates a target account stack from its template, with
// its parameters (DeployerAccount, DeployerRegion, ExternalId).
func (s *Stack) DeployTargetStack(templateFile, account, region string, params map[string]string) error {
	b, err := os.ReadFile(templateFile)
	if err != nil {
		return err
	}
	ref := func(id string) (string, bool) { v, ok := params[id]; return v, ok }
	tpl, err := iam.FromTemplate(b, iam.Pseudo{Partition: "aws", Region: region, AccountID: account, StackName: "EcrDeployerTarget", Ref: ref})
	if err != nil {
		return fmt.Errorf("%s: %w", templateFile, err)
	}
	to := params["DeployerAccount"] + "/" + params["DeployerRegion"]
	if to != emulator.Account+"/"+emulator.Region {
		return fmt.Errorf("%s: DeployerAccount/DeployerRegion %s is not the local deployer stack's %s/%s", templateFile, to, emulator.Account, emulator.Region)
	}
	forwarding, err := eventpattern.FromTemplate(b, eventpattern.Pseudo{Partition: "aws", Region: region, AccountID: account})
	if err != nil {
		return fmt.Errorf("%s: %w", templateFile, err)
	}
	for id, r := range tpl.Roles {
		if r.Name == "" {
			continue // EventBridge's own role: events.amazonaws.com assumes it
		}
		permissions := tpl.Policies[id]
		if permissions == nil {
			permissions = &iam.Policy{Role: r.Name}
		}
		s.putRole(account, r.Name, r.Trust, permissions, 0)
	}
	s.AddAccount(account, region).OnEvent = func(ev map[string]any) { s.forward(account, forwarding, ev) }
	return nil
}

// forward does a target account's forwarding rules: an event one of them
// matches is put on the deployer's default bus, if the deployer stack's
// bus policy lets the account put events there (else EventBridge counts a
// failed invocation in the target account, and the deployer never sees it).
func (s *Stack) forward(account string, forwarding []eventpattern.Rule, ev map[string]any) {
	body, err := json.Marshal(ev)
	if err != nil {
		return
	}
	var matched map[string]any
	_ = json.Unmarshal(body, &matched)
	for _, r := range forwarding {
		if !eventpattern.Match(r.Pattern, matched) {
			continue
		}
		if !s.busAdmits(account) {
			fmt.Fprintf(s.opts.LambdaLog, "EventBridge: account %s: rule %s: PutEvents on the deployer's bus refused (its policy does not name the account)\n", account, r.Name)
			return
		}
		s.deliver(ev)
		return
	}
}

// busAdmits says whether the deployer stack's event bus policy (read with
// its other policies, guard) lets an account put events on its default bus.
func (s *Stack) busAdmits(account string) bool {
	req := iam.Request{Action: "events:PutEvents", Resource: fmt.Sprintf("arn:aws:events:%s:%s:event-bus/default", emulator.Region, emulator.Account)}
	return s.guard.pol().bus.EvaluateFor("aws:arn:aws:iam::"+account+":root", req).Allowed
}

// targetEnv is what a function is told of the target account stacks: its
// role's name there and the external ID, when the deployer's template
// gives them (a stack with targets in other accounts or Regions).
func (s *Stack) targetEnv(f statemachine.Function) []string {
	b, err := os.ReadFile(s.templateFile())
	if err != nil {
		return nil
	}
	var doc struct {
		Resources map[string]struct {
			Type       string
			Properties struct {
				Environment struct{ Variables map[string]any }
			}
		}
	}
	if json.Unmarshal(b, &doc) != nil {
		return nil
	}
	for id, r := range doc.Resources {
		if r.Type == "AWS::Lambda::Function" && functionOf(id) == "ecr-deployer-"+f.Dir && r.Properties.Environment.Variables["TARGET_ROLE_NAME"] != nil {
			return []string{"TARGET_ROLE_NAME=" + StackName + "-" + f.Name, "TARGET_EXTERNAL_ID=" + StackID}
		}
	}
	return nil
}

// SetUpTargetAccounts makes each account and Region the stack's targets
// file names besides its own a workload account, as the multi-account
// layout has it: its environment seeded (emulator.SeedWorkload, the tools
// account's image replicated) and its target account stack deployed from
// dir's EcrDeployerTarget-<account>-<region>.template.json, trusting this
// deployer stack. change, if set, may deploy another template or other
// parameters in a place, or none there (false).
func (s *Stack) SetUpTargetAccounts(dir string, change TargetStackChange) error {
	cfg, err := config.LoadFile(s.opts.ConfigFile)
	if err != nil {
		return err
	}
	done := map[config.Place]bool{}
	for _, t := range cfg.Targets() {
		if t.Account == "" {
			continue
		}
		at := config.Place{Account: t.Account, Region: t.Region}
		if err := s.AddAccount(at.Account, at.Region).SeedWorkload(t.Environment, emulator.Digest); err != nil {
			return err
		}
		if done[at] {
			continue
		}
		done[at] = true
		tpl := filepath.Join(dir, fmt.Sprintf("EcrDeployerTarget-%s-%s.template.json", at.Account, at.Region))
		params := map[string]string{"DeployerAccount": emulator.Account, "DeployerRegion": emulator.Region, "ExternalId": StackID}
		if change != nil {
			var deploy bool
			if tpl, deploy = change(at, tpl, params); !deploy {
				continue
			}
		}
		if err := s.DeployTargetStack(tpl, at.Account, at.Region, params); err != nil {
			return err
		}
	}
	return nil
}

// TargetStackChange changes how a place's target account stack is
// deployed: the template (returned) and the parameters (changed in place);
// false deploys none there.
type TargetStackChange func(at config.Place, template string, params map[string]string) (string, bool)
