package rig

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/ecr-deployer/ecr-deployer/local/emulator"
	"github.com/ecr-deployer/ecr-deployer/local/iam"
	"github.com/ecr-deployer/ecr-deployer/statemachine"
)

// StackName is the CloudFormation stack the local template stands for: its
// policies name the state machine <StackName>-deploy.
const StackName = "EcrDeployer"

// accessKey is the access key ID a function's RIE runs with: the local stack
// knows the caller of every request by it, as IAM knows a Lambda's role.
func accessKey(f statemachine.Function) string { return "LOCAL" + f.Name }

// OperatorAccessKey is the access key ID of a person or CI role with the
// stack's OperatorPolicy attached, and nothing else: the CLI tests run with
// it, so a call the CLI makes that the policy lacks is refused, as it would
// be for a customer who attached the policy the README names.
const OperatorAccessKey = "LOCALOperator"

// The access keys of people with one duty's policy attached (the stack's
// ViewerPolicy, PromoterPolicy, ApproverPolicy), and nothing else; Outsider
// holds the ApproverPolicy but is named in no target's approvers; Overrider
// holds the PromoterPolicy and the OverriderPolicy.
const (
	ViewerAccessKey    = "LOCALViewer"
	PromoterAccessKey  = "LOCALPromoter"
	ApproverAccessKey  = "LOCALApprover"
	OutsiderAccessKey  = "LOCALOutsider"
	OverriderAccessKey = "LOCALOverrider"
)

// person is an IAM user of the local stack: its name, and the managed
// policies attached to it (the template's with those logical ID prefixes).
type person struct {
	name     string
	policies []string
}

var people = map[string]person{
	OperatorAccessKey:  {"operator", []string{"OperatorPolicy"}},
	ViewerAccessKey:    {"viewer", []string{"ViewerPolicy"}},
	PromoterAccessKey:  {"promoter", []string{"PromoterPolicy"}},
	ApproverAccessKey:  {"approver", []string{"ApproverPolicy"}},
	OutsiderAccessKey:  {"outsider", []string{"ApproverPolicy"}},
	OverriderAccessKey: {"overrider", []string{"PromoterPolicy", "OverriderPolicy"}},
}

// PersonARN is the principal ARN AWS authenticates a person's key as.
func PersonARN(key string) string {
	return "arn:aws:iam::" + emulator.Account + ":user/" + people[key].name
}

// roleName is the name CloudFormation gives the role of a logical ID of
// the stack: the stack's name, the logical ID and a random suffix, which
// the local stack leaves out. A target account stack's trust policy names
// the deployer's roles by it (arn:…:role/EcrDeployer-RunMigrationRole*).
func roleName(logicalID string) string { return StackName + "-" + logicalID }

// roleARN is the ARN of the role a function's key is a session of (what
// aws:PrincipalArn is for it); "" for another key.
func (g *guard) roleARN(key string) string {
	if g == nil || people[key].name != "" || g.pol().names[key] == "" {
		return ""
	}
	return "arn:aws:iam::" + emulator.Account + ":role/" + roleName(g.pol().roles[key].Role)
}

// guard evaluates each Lambda's requests against its role's policy in the
// template, as IAM does, and remembers every denial.
type guard struct {
	// policies are the template's; an upgrade swaps them (reload).
	policies atomic.Pointer[policies]

	mu     sync.Mutex
	denied []string
}

// policies are a template's IAM, as the guard evaluates it.
type policies struct {
	roles map[string]*iam.Policy // access key → policy
	names map[string]string      // access key → function name
	// topics are the topics' resource policies, by ARN.
	topics map[string]*iam.Policy
	// bus is the default event bus's policy: who may put events on it.
	bus *iam.Policy
}

func (g *guard) pol() *policies { return g.policies.Load() }

// reload evaluates another template's policies from now on (an upgrade).
func (g *guard) reload(templateFile string) error {
	ng, err := newGuard(templateFile)
	if err != nil {
		return err
	}
	g.policies.Store(ng.pol())
	return nil
}

func newGuard(templateFile string) (*guard, error) {
	b, err := os.ReadFile(templateFile)
	if err != nil {
		return nil, fmt.Errorf("read the IAM policies: %w", err)
	}
	res, err := readResources(templateFile)
	if err != nil {
		return nil, err
	}
	tpl, err := iam.FromTemplate(b, iam.Pseudo{Partition: "aws", Region: emulator.Region, AccountID: emulator.Account, StackName: StackName,
		Ref: res.ref, GetAtt: res.getAtt})
	if err != nil {
		return nil, err
	}
	g := &policies{roles: map[string]*iam.Policy{}, names: map[string]string{}, topics: tpl.Topics,
		bus: &iam.Policy{Role: "default bus", Statements: tpl.BusPolicies}}
	for fnID, role := range tpl.FunctionRoles {
		for _, f := range statemachine.Functions {
			if functionOf(fnID) == "ecr-deployer-"+f.Dir {
				p := tpl.Policies[role]
				if p == nil {
					p = &iam.Policy{Role: role}
				}
				g.roles[accessKey(f)] = p
				g.names[accessKey(f)] = "ecr-deployer-" + f.Dir
			}
		}
	}
	if len(g.roles) != len(statemachine.Functions) {
		return nil, fmt.Errorf("%s: found the roles of %d of %d functions", templateFile, len(g.roles), len(statemachine.Functions))
	}
	// Each person has every policy of their role attached (one for a few
	// dozen services, more beyond: OperatorPolicy, OperatorPolicy2, …).
	for key, who := range people {
		g.roles[key], g.names[key] = &iam.Policy{Role: who.name}, who.name
		for _, policy := range who.policies {
			found := false
			for id, p := range tpl.Managed {
				if strings.HasPrefix(id, policy) {
					found = true
					g.roles[key].Statements = append(g.roles[key].Statements, p.Statements...)
				}
			}
			if !found {
				return nil, fmt.Errorf("%s: no %s", templateFile, policy)
			}
		}
	}
	out := &guard{}
	out.policies.Store(g)
	return out, nil
}

// authorize is the emulator's and the local Step Functions API's Authorizer.
// A caller that is neither one of the functions nor the operator (a test's
// own setup, the AWS CLI in the demo) has an administrator's credentials,
// which the template does not govern.
func (g *guard) authorize(key string, reqs []iam.Request) error {
	if g == nil {
		return nil
	}
	pol := g.pol()
	p := pol.roles[key]
	if p == nil {
		return nil
	}
	for _, r := range reqs {
		if d := p.Evaluate(r); !d.Allowed {
			principal := fmt.Sprintf("arn:aws:sts::%s:assumed-role/%s/%s", emulator.Account, roleName(p.Role), pol.names[key])
			if _, ok := people[key]; ok {
				principal = PersonARN(key)
			}
			msg := fmt.Sprintf("User: %s is not authorized to perform: %s on resource: %s because %s",
				principal, r.Action, r.Resource, d.Reason)
			g.mu.Lock()
			g.denied = append(g.denied, msg)
			g.mu.Unlock()
			return fmt.Errorf("%s", msg)
		}
	}
	return nil
}

// AdminConfig is an AWS SDK configuration for the local stack signed with an
// administrator's key, which the template does not govern: for a test's or
// the benchmark's own setup and observation, never for what a function or
// the CLI would send.
func (s *Stack) AdminConfig() aws.Config {
	return aws.Config{Region: emulator.Region, BaseEndpoint: aws.String(s.Endpoint),
		Credentials: credentials.NewStaticCredentialsProvider("admin", "local", "")}
}

// Denied returns every request IAM refused so far.
func (s *Stack) Denied() []string {
	s.guard.mu.Lock()
	defer s.guard.mu.Unlock()
	return append([]string(nil), s.guard.denied...)
}

// SynthTemplate synthesizes the CDK app for a targets file into dir and
// returns the template's path: a local stack for other targets than
// local/targets.json (the benchmark's) enforces the policies the app makes
// for them. It needs Node on PATH, as make synth does.
//
// The benchmarks run more services than one stack can hold within IAM's and
// EventBridge's size quotas (they measure the workflow, not the stack), so
// the app's quota check only warns for them (DEPLOYER_QUOTAS=warn).
func SynthTemplate(ctx context.Context, root, configFile, dir string) (string, error) {
	cmd := exec.CommandContext(ctx, "go", "run", ".")
	cmd.Dir = filepath.Join(root, "cdk")
	cmd.Env = append(os.Environ(), "DEPLOYER_CONFIG_FILE="+configFile, "CDK_OUTDIR="+dir, "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION=1", "DEPLOYER_QUOTAS=warn")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("synthesize the stack for %s: %w\n%s", configFile, err, out)
	}
	return filepath.Join(dir, StackName+".template.json"), nil
}

// servicePublish decides whether an AWS service principal (CloudWatch's
// alarms) may publish to a topic, by the topic's resource policy alone: a
// service principal holds no identity policy. A topic without a policy has
// SNS's default one, which lets the account's own services publish.
// https://docs.aws.amazon.com/sns/latest/dg/sns-access-policy-use-cases.html
func (g *guard) servicePublish(service, topic, sourceARN string) iam.Decision {
	if g == nil || g.pol().topics[topic] == nil {
		return iam.Decision{Allowed: true, Reason: "SNS's default topic policy"}
	}
	return g.pol().topics[topic].EvaluateFor("service:"+service, iam.Request{Action: "sns:Publish", Resource: topic, Context: map[string]string{
		"aws:SourceArn": sourceARN, "aws:SourceAccount": emulator.Account, "aws:SecureTransport": "true"}})
}
