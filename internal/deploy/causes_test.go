package deploy

import (
	"errors"
	"go/ast"
	"go/parser"
	"go/token"
	"reflect"
	"strings"
	"testing"
	"time"

	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"

	"github.com/ecr-deployer/ecr-deployer/internal/config"
	"github.com/ecr-deployer/ecr-deployer/internal/golden"
)

// Every cause a Fail state can end with, rendered from sample facts: a
// change to a sentence shows in testdata/causes.golden (go test -update),
// and a constructor added to errors.go without a row here fails the test.
func TestCausesRender(t *testing.T) {
	const (
		id      = "ecs-svc/6147284638427612413"
		sd      = "arn:aws:ecs:eu-west-1:123456789012:service-deployment/staging/staging-service/Sxi1-kXnwnmHcVkRwUSx8"
		task    = "arn:aws:ecs:eu-west-1:123456789012:task/staging/0b3c2f2bd7bd4d3d8b6f51d5e41e3d3a"
		digest  = "sha256:7f5b2640fe6fb4f46592dfd3410c4a79dac4f89e4782432e0378abcd1234"
		console = "https://console.aws.amazon.com/ecs/v2/…"
		td      = "arn:aws:ecs:eu-west-1:123456789012:task-definition/app:42"
	)
	stopped := " Stopped tasks: 0b3c2f2b (Essential container in task exited)."
	events := "(service staging-service) has started 1 tasks"
	tail := "\nLast log lines:\n  goose: no migrations to run"
	causes := []struct {
		ctor string
		err  error
	}{
		{"deploymentFailedNoRollback", deploymentFailedNoRollback(id, "staging-service", "the circuit breaker tripped (3 tasks failed)", stopped, sd)},
		{"deploymentStopped", deploymentStopped(id, "staging-service", "stopped by user")},
		{"deploymentSuperseded", deploymentSuperseded(id, "staging-service", "deployment ecs-svc/2 (task definition app:43)")},
		{"rollbackUnsettled", rollbackUnsettled(id, "staging-service", "ROLLBACK_IN_PROGRESS", 1800, "the alarm HighErrors fired", sd)},
		{"rolledBackOnRequest", rolledBackOnRequest(id, "staging-service", "alice: errors in checkout", "ECS rolled it back; the service runs the previous version", sd)},
		{"deploymentRolledBack", deploymentRolledBack(id, "staging-service", "the circuit breaker tripped", "ECS rolled it back; the service runs the previous version", stopped, events, sd, console)},
		{"rolledBackByCircuitBreaker", rolledBackByCircuitBreaker(id, "staging-service", "ECS deployment circuit breaker: tasks failed to start", 3, stopped, events)},
		{"pausedPastTimeout", pausedPastTimeout(id, "staging-service", 1800, "POST_TEST_TRAFFIC_SHIFT", "hook-1", "2026-12-01T10:00:00Z", "deployer continue staging | deployer rollback staging --reason …")},
		{"deploymentTimedOut", deploymentTimedOut(id, "staging-service", 1800, "rollout IN_PROGRESS", 1, 2, 1)},
		{"migrationFailedToStart", migrationFailedToStart("staging", td, "RESOURCE:MEMORY")},
		{"migrationCapacityUnavailable", migrationCapacityUnavailable("staging", 5, "RESOURCE:CPU (no container instance met all of its requirements)")},
		{"migrationLost", migrationLost(task, "MISSING", " (log group /ecs/app, stream ecs/app/0b3c2f2b)")},
		{"migrationTimedOut", migrationTimedOut(task, "RUNNING", 900, " (log group /ecs/app)", tail)},
		{"migrationFailed", migrationFailed("app", 1, task, ": Essential container in task exited", " (log group /ecs/app)", console, tail)},
		{"containerNeverRan", containerNeverRan(task, "app", "CannotPullContainerError: pull image manifest has been retried 5 time(s)", console, "")},
		{"migrationRanOtherImage", migrationRanOtherImage(task, "app", "sha256:0000", digest, "staging", true)},
		{"tagMovedBeforeDeployment", tagMovedBeforeDeployment("app", "staging", "sha256:0000", digest)},
		{"tagModeRunsAnotherImage", tagModeRunsAnotherImage(td, "prod", "prod-service", "prod", "container app runs 123456789012.dkr.ecr.eu-west-1.amazonaws.com/app:staging", "app:prod")},
		{"deployedOtherImage", deployedOtherImage(id, "staging-service", "sha256:0000", digest, "staging")},
		{"neverDeployedThere", neverDeployedThere(digest, "staging", 500)},
		{"stillDeployingThere", stillDeployingThere("staging-7f5b2640fe6f-20261201T100000Z-a1", digest, "staging", 2*time.Hour)},
		{"notPassedThere", notPassedThere(digest, "staging", "staging-7f5b2640fe6f-20261201T100000Z-a1", sfntypes.ExecutionStatusFailed, withError("MigrationFailed"))},
		{"nameSaysAnotherEnvironment", nameSaysAnotherEnvironment("prod-tag-20261201T100000Z-a1", "prod", "staging")},
		{"unknownEnvironment", unknownEnvironment("qa", "prod, staging")},
		{"noTargetForImage", noTargetForImage("app", "latest", "app:staging, app:prod")},
		{"noRepository", noRepository("app")},
		{"noImage", noImage("app", "tag staging")},
		{"digestNotTheTags", digestNotTheTags(digest, "staging", "sha256:0000")},
		{"clusterNotFound", clusterNotFound("staging")},
		{"serviceNotActive", serviceNotActive("staging-service", "staging", "DRAINING")},
		{"noService", noService("staging-service", "staging", "MISSING")},
		{"noMigrationContainer", noMigrationContainer(td, "migrate", "app, sidecar")},
		{"timeoutShorterThanBake", timeoutShorterThanBake("staging", "staging-service", 54*time.Minute, "LINEAR: 10 steps of 10 % with 6 min bakes", 30*time.Minute, "1h24m0s")},
		{"codeDeployController", codeDeployController("staging", "staging-service")},
		{"externalController", externalController("staging", "staging-service")},
		{"taskDefinitionNotCovered", taskDefinitionNotCovered(td, "staging", "staging-service", "staging", `family "app" is not taskDefinitionFamily "web"`)},
		{"rollbackImageGone", rollbackImageGone("app", digest)},
		{"immutableTag", immutableTag("staging", "app", digest)},
		{"nothingToPin", nothingToPin(td, "app", digest)},
		{"targetRemoved", targetRemoved("prod", "was removed from targets.json")},
		{"waitedPastWorkSpan", waitedPastWorkSpan(20*time.Hour, "execution staging-…-a1", "staging/staging-service", 19*time.Hour, WorkSpan, "staging")},
		{"targetRoleRefused", targetRoleRefused(&TargetRoleRefused{Place: config.Place{Account: "222222222222", Region: "eu-west-1"}, Role: "arn:aws:iam::222222222222:role/EcrDeployer-ResolveTarget-eu-west-1",
			Err: errors.New("AccessDenied: User: arn:aws:sts::123456789012:assumed-role/EcrDeployer-ResolveTargetRole/ecr-deployer-resolve-target is not authorized to perform: sts:AssumeRole")})},
		{"internalError", internalError(errors.New("describe service staging/staging-service: AccessDeniedException: not authorized"))},
		{"invalidInput", invalidInput("no environment")},
		{"servicesFailed", servicesFailed("web: deployment rolled back; worker: deployed")},
		{"manualStartToTrigger", manualStartToTrigger(`{"environment":"staging"}`)},
		{"notAnECSEvent", notAnECSEvent("aws.ecr", "ECR Image Action")},
		{"taskEventWithoutTask", taskEventWithoutTask("3f9a")},
		{"deploymentEventWithoutService", deploymentEventWithoutService("3f9a")},
		{"deploymentEventBadService", deploymentEventBadService("3f9a", "arn:aws:ecs:eu-west-1:123456789012:service/staging-service")},
		{"unknownECSEvent", unknownECSEvent("ECS Container Instance State Change")},
		{"hookEventWithoutService", hookEventWithoutService("3f9a")},
		{"watchWithoutToken", watchWithoutToken()},
		{"watchBadWaitingFor", watchBadWaitingFor("turn", WaitingForMigration, WaitingForDeployment, WaitingForApproval)},
	}
	var b strings.Builder
	rendered := map[string]bool{}
	for _, c := range causes {
		rendered[c.ctor] = true
		name, ok := stepFunctionsName(c.err)
		if !ok {
			t.Errorf("%s: %T is not a Fail state's error", c.ctor, c.err)
		}
		b.WriteString(c.ctor + " → " + name + "\n  " + c.err.Error() + "\n\n")
	}
	for _, ctor := range constructors(t) {
		if !rendered[ctor] {
			t.Errorf("errors.go's %s has no row here", ctor)
		}
	}
	golden.Check(t, "causes", b.String())
}

// constructors lists errors.go's functions that return a Fail state's error.
func constructors(t *testing.T) []string {
	f, err := parser.ParseFile(token.NewFileSet(), "errors.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	fails := map[string]bool{}
	for _, e := range AllErrors() {
		fails[reflect.TypeOf(e).Elem().Name()] = true
	}
	var out []string
	for _, d := range f.Decls {
		fd, ok := d.(*ast.FuncDecl)
		if !ok || fd.Recv != nil || fd.Type.Results == nil || len(fd.Type.Results.List) != 1 {
			continue
		}
		if star, ok := fd.Type.Results.List[0].Type.(*ast.StarExpr); ok {
			if id, ok := star.X.(*ast.Ident); ok && fails[id.Name] {
				out = append(out, fd.Name.Name)
			}
		}
	}
	if len(out) < 40 {
		t.Fatalf("found %d constructors in errors.go: the parse is broken", len(out))
	}
	return out
}
