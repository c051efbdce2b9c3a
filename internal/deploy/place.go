package deploy

import (
	"context"
	"strings"

	"github.com/ecr-deployer/ecr-deployer/internal/config"
)

// Where a target's cluster is (issue 27, docs/multi-account.md). A target
// in another account or Region is reached with the target account stack's
// roles there: every step puts its State's place in the context it calls
// ECS and CloudWatch Logs with (in), and the clients the Lambdas are built
// with (awsconf's router) call that account and Region with the role's
// session. A call without a place goes to the deployer's own account and
// Region, where the stack's roles may not touch a remote target's cluster
// (unless a target at home has the same names): so every step sets the
// place first thing, and the multi-account e2e test fails on a step that
// does not.

type placeKey struct{}

// WithPlace is ctx with the account and Region the calls made with it go to.
func WithPlace(ctx context.Context, p config.Place) context.Context {
	return context.WithValue(ctx, placeKey{}, p)
}

// PlaceOf is the place ctx carries, if any.
func PlaceOf(ctx context.Context) (config.Place, bool) {
	p, ok := ctx.Value(placeKey{}).(config.Place)
	return p, ok && p.Account != "" && p.Region != ""
}

// HomeOf is the deployer's own account and Region: its state machine's
// (region when the ARN is not known).
func HomeOf(stateMachineARN, region string) config.Place {
	p := strings.SplitN(stateMachineARN, ":", 6)
	if len(p) < 6 {
		return config.Place{Region: region}
	}
	return config.Place{Account: p[4], Region: p[3]}
}

func (d *Deployer) home() config.Place { return HomeOf(d.StateMachineARN, d.Region) }

// placeOf is where a State's target is: its account and Region, or the
// deployer's own (a State written before issue 27 has neither).
func (d *Deployer) placeOf(s State) config.Place { return d.at(s.Account, s.Region) }

// at is an account and Region as a State or an event gives them, each
// defaulting to the deployer's own.
func (d *Deployer) at(account, region string) config.Place {
	return config.Resolved{Account: account, Region: region}.PlaceIn(d.home())
}

// in is ctx for the calls of a step on s's target.
func (d *Deployer) in(ctx context.Context, s State) context.Context {
	return WithPlace(ctx, d.placeOf(s))
}

// remote says whether a place is not the deployer's own.
func (d *Deployer) remote(p config.Place) bool { return p != d.home() }

// serviceKeys names a target's services as the queue and the turns table
// do: "cluster/service", after "account/region/" for a target elsewhere
// (the same cluster and service names may exist in each account).
func (d *Deployer) serviceKeys(p config.Place, cluster string, services []string) []string {
	keys := servicesOf(cluster, services)
	if d.remote(p) {
		for i := range keys {
			keys[i] = p.Account + "/" + p.Region + "/" + keys[i]
		}
	}
	return keys
}

// TargetRoleRefused is what a client of a target's place answers when STS
// will not let the deployer assume the target account stack's role there
// (no such role, a trust policy that does not name this deployer, another
// external ID): the step ends TargetMisconfigured, saying what to deploy.
type TargetRoleRefused struct {
	Place config.Place
	Role  string
	Err   error
}

func (e *TargetRoleRefused) Error() string {
	return "assume role " + e.Role + " in account " + e.Place.Account + ", Region " + e.Place.Region + ": " + e.Err.Error()
}

func (e *TargetRoleRefused) Unwrap() error { return e.Err }
