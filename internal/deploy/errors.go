package deploy

import (
	"errors"
	"fmt"
	"time"

	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"
)

// The error types below are what the Lambdas return to Step Functions.
// aws-lambda-go reports the Go type name of the returned error as errorType,
// and Step Functions uses that as the error name that Retry and Catch match
// (aws-lambda-go lambda/errors.go). So each type is named exactly after the
// Fail state that ends the execution, and its message is what a person reads
// as the cause: what happened, the ARN, and what to do.

type failure struct{ msg string }

func (f *failure) Error() string      { return f.msg }
func (f *failure) stepFunctionsName() {}

// reword replaces the cause (a target of several services fails with the
// first failed service's error and a cause that covers them all).
func (f *failure) reword(msg string) { f.msg = msg }

// stepFunctionsError is implemented by every typed error of this package.
type stepFunctionsError interface {
	error
	stepFunctionsName()
}

// InvalidInput means the execution input is neither an ECR Image Action event nor a manual start.
type InvalidInput struct{ failure }

// UnknownTarget means no configured target matches the repository and tag, or the environment.
type UnknownTarget struct{ failure }

// ImageNotFound means the repository has no image with that tag or digest.
type ImageNotFound struct{ failure }

// ServiceNotFound means the ECS service is missing, DRAINING or INACTIVE.
type ServiceNotFound struct{ failure }

// UnsupportedDeploymentController means the service uses the CODE_DEPLOY or
// EXTERNAL deployment controller, which UpdateService cannot deploy.
type UnsupportedDeploymentController struct{ failure }

// TargetMisconfigured means the target's taskDefinitionFamily or taskRoles do not
// cover the service's task definition, so the stack's IAM policy would refuse
// the migration's RunTask (or PinImage's RegisterTaskDefinition).
type TargetMisconfigured struct{ failure }

// PromotionBlocked means the target requires another environment first, and the
// image has not deployed there successfully.
type PromotionBlocked struct{ failure }

// QueueTimedOut means the execution waited for its turn past the time its work
// may take (config.WorkSpan from its start or its window's opening).
type QueueTimedOut struct{ failure }

// TargetRemoved means targets.json no longer has the execution's target, or
// the target deploys other services now: the stack was deployed again while
// the execution waited. Nothing ran.
type TargetRemoved struct{ failure }

// MigrationCapacityUnavailable means RunTask kept failing for capacity reasons.
type MigrationCapacityUnavailable struct{ failure }

// MigrationFailedToStart means the migration task could not start or its container never ran.
type MigrationFailedToStart struct{ failure }

// MigrationFailed means the migration container exited with a non-zero code.
type MigrationFailed struct{ failure }

// MigrationLost means ECS no longer knows the migration task.
type MigrationLost struct{ failure }

// MigrationTimedOut means the migration ran past its timeout and was stopped.
type MigrationTimedOut struct{ failure }

// DigestMismatch means ECS ran another image than the digest the execution
// resolved and its gates approved: the migration task's containers, or in
// tag mode the tag before the deployment (nothing deployed) or the
// deployment's tasks. The tag moved to another image meanwhile.
type DigestMismatch struct{ failure }

// DeploymentRolledBack means our deployment failed (circuit breaker) and ECS rolled back.
type DeploymentRolledBack struct{ failure }

// DeploymentSuperseded means another deployment replaced ours before it completed.
type DeploymentSuperseded struct{ failure }

// DeploymentStopped means a person stopped our deployment; nothing newer replaced it.
type DeploymentStopped struct{ failure }

// DeploymentFailed means our deployment failed and ECS did not roll it back
// (rollback off for the circuit breaker or the alarms).
type DeploymentFailed struct{ failure }

// DeploymentTimedOut means our deployment had not completed within its timeout.
type DeploymentTimedOut struct{ failure }

// InternalError means anything else (an AWS API error such as AccessDenied, a bug).
type InternalError struct{ failure }

func newf(format string, a ...any) failure { return failure{msg: fmt.Sprintf(format, a...)} }

// The causes, one constructor per sentence a Fail state can end with, from
// the facts it names (TestCausesRender renders every one; docs/errors.md
// explains each Fail state).

func deploymentFailedNoRollback(id string, service string, cause string, stopped string, serviceDeployment string) *DeploymentFailed {
	return &DeploymentFailed{newf("Deployment %s of service %s failed: %s. Rollback is off for the check that failed it, so ECS stopped the deployment where it was: the service may run old and new tasks side by side. Fix the image and deploy again, or deploy the previous image (deployer rollback).%s Service deployment %s.", id, service, cause, stopped, serviceDeployment)}
}

func deploymentStopped(id string, service string, reason string) *DeploymentStopped {
	return &DeploymentStopped{newf("Deployment %s of service %s was stopped before it completed (%s), and no newer deployment replaced it: someone stopped it in the console or with the API. Check which version the service runs now; start again to deploy this image.", id, service, reason)}
}

func deploymentSuperseded(id string, service string, by string) *DeploymentSuperseded {
	return &DeploymentSuperseded{newf("Deployment %s of service %s was replaced by %s before it completed: someone or something else updated the service. Check which version the service runs now; start again to deploy this image.", id, service, by)}
}

func rollbackUnsettled(id string, service string, status string, timeoutSeconds int, cause string, serviceDeployment string) *DeploymentRolledBack {
	return &DeploymentRolledBack{newf("Deployment %s of service %s failed and ECS was still rolling it back (%s) at the deployment timeout (%ds): %s. The service is returning to the previous version; follow service deployment %s.", id, service, status, timeoutSeconds, cause, serviceDeployment)}
}

func rolledBackOnRequest(id string, service string, by string, outcome string, serviceDeployment string) *DeploymentRolledBack {
	return &DeploymentRolledBack{newf("Deployment %s of service %s was rolled back on request: %s. %s. Service deployment %s.", id, service, by, outcome, serviceDeployment)}
}

func deploymentRolledBack(id string, service string, cause string, outcome string, stopped string, events string, serviceDeployment string, console string) *DeploymentRolledBack {
	return &DeploymentRolledBack{newf("Deployment %s of service %s failed: %s. %s.%s Latest events: %s. Service deployment %s: %s", id, service, cause, outcome, stopped, events, serviceDeployment, console)}
}

func rolledBackByCircuitBreaker(id string, service string, reason string, failedTasks int32, stopped string, events string) *DeploymentRolledBack {
	return &DeploymentRolledBack{newf("Deployment %s of service %s failed and ECS rolled it back: %s; %d tasks failed. The service runs the previous version.%s Latest events: %s.", id, service, reason, failedTasks, stopped, events)}
}

func pausedPastTimeout(id string, service string, timeoutSeconds int, stage string, hook string, since string, answer string) *DeploymentTimedOut {
	return &DeploymentTimedOut{newf("Deployment %s of service %s had not completed after %ds: it waits for a decision at the pause hook at %s (hook %s) since %s, and nobody answered. ECS keeps it paused until the hook's own timeout; answer it with %s, and raise deploymentTimeout to cover the time a person takes.", id, service, timeoutSeconds, stage, hook, since, answer)}
}

func deploymentTimedOut(id string, service string, timeoutSeconds int, progress string, running int32, desired int32, pending int32) *DeploymentTimedOut {
	return &DeploymentTimedOut{newf("Deployment %s of service %s had not completed after %ds (%s, %d of %d tasks running, %d pending). ECS continues it; look at the service's events and tasks, and raise deploymentTimeout if rollouts (bake time included) take longer.", id, service, timeoutSeconds, progress, running, desired, pending)}
}

func migrationFailedToStart(cluster string, taskDefinition string, failure string) *MigrationFailedToStart {
	return &MigrationFailedToStart{newf("ECS could not start the migration task in cluster %s with task definition %s: %s. Fix the cause (task definition, cluster, network) and start the deployment again.", cluster, taskDefinition, failure)}
}

func migrationCapacityUnavailable(cluster string, attempts int, failure string) *MigrationCapacityUnavailable {
	return &MigrationCapacityUnavailable{newf("ECS had no capacity for the migration task in cluster %s after %d attempts: %s. Add capacity (instances or capacity provider) or raise capacityRetries, then start the deployment again.", cluster, attempts, failure)}
}

func migrationLost(task string, missing string, logHint string) *MigrationLost {
	return &MigrationLost{newf("ECS no longer knows the migration task %s (%s): its outcome is unknown, so nothing was deployed. Check the migration's logs%s and the database, then start the deployment again.", task, missing, logHint)}
}

func migrationTimedOut(task string, status string, timeoutSeconds int, logHint string, logTail string) *MigrationTimedOut {
	return &MigrationTimedOut{newf("The migration task %s was still %s after the %ds migration timeout, so ecr-deployer stopped it and deployed nothing. Check the logs%s; raise migrationTimeout if the migration needs longer.%s", task, status, timeoutSeconds, logHint, logTail)}
}

func migrationFailed(container string, exitCode int32, task string, reason string, logHint string, console string, logTail string) *MigrationFailed {
	return &MigrationFailed{newf("The migration container %s exited with code %d (task %s%s), so nothing was deployed. Logs%s. Console: %s%s", container, exitCode, task, reason, logHint, console, logTail)}
}

func containerNeverRan(task string, container string, reason string, console string, logTail string) *MigrationFailedToStart {
	return &MigrationFailedToStart{newf("The migration task %s stopped before the %s container ran (no exit code): %s. Nothing was deployed. Fix the cause (image, secrets, network), then start again. Console: %s%s", task, container, reason, console, logTail)}
}

func migrationRanOtherImage(task, container, ran, digest, tag string, stopped bool) *DigestMismatch {
	what := "it ran to its end"
	if stopped {
		what = "ecr-deployer stopped it"
	}
	return &DigestMismatch{newf("The migration task %s runs %s in container %s, not %s, the digest this execution resolved and its gates approved: tag %q moved to another image before ECS resolved it. %s, and nothing was deployed. The push of %s migrates and deploys it in its own execution; \"image\": \"digest\" (the default) runs exactly the resolved digest.", task, ran, container, digest, tag, what, ran)}
}

func tagMovedBeforeDeployment(repository, tag, names, digest string) *DigestMismatch {
	return &DigestMismatch{newf("Tag %q of %s names %s now, not %s, which this execution resolved: in tag mode ECS would deploy %s without its migration. Nothing was deployed. The push of %s migrates and deploys it in its own execution; \"image\": \"digest\" (the default) deploys exactly the resolved digest.", tag, repository, orNone(names), digest, orNone(names), orNone(names))}
}

func deployedOtherImage(id, service, deployed, digest, tag string) *DigestMismatch {
	return &DigestMismatch{newf("Deployment %s of service %s completed with %s, not %s: tag %q moved to another image before ECS resolved it for the deployment, so the service runs an image whose migration has not run yet. The push of %s migrates and deploys it next; \"image\": \"digest\" (the default) deploys exactly the resolved digest.", id, service, deployed, digest, tag, deployed)}
}

func orNone(digest string) string {
	if digest == "" {
		return "no image"
	}
	return digest
}

func neverDeployedThere(digest, requires string, scanned int) *PromotionBlocked {
	return &PromotionBlocked{newf("%s was never deployed to %s (in the %d newest executions), which this target requires first. Promote it to %s and let that deployment succeed; or start this one by hand with \"overrideGuard\": true and a reason.", digest, requires, scanned, requires)}
}

func stillDeployingThere(execution, digest, requires string, waited time.Duration) *PromotionBlocked {
	return &PromotionBlocked{newf("%s was still deploying %s to %s after %s (requiresWait), so this deployment did not wait any longer and deployed nothing. Start it again once %s has it.", execution, digest, requires, waited, requires)}
}

func notPassedThere(digest, requires, execution string, status sfntypes.ExecutionStatus, withError string) *PromotionBlocked {
	return &PromotionBlocked{newf("The latest deployment of %s to %s, execution %s, ended %s%s: the image has not passed %s, so it is not deployed here. Fix it in %s first; or start this one by hand with \"overrideGuard\": true and a reason.", digest, requires, execution, status, withError, requires, requires)}
}

func nameSaysAnotherEnvironment(name string, env string, deploys string) *InvalidInput {
	return &InvalidInput{newf("The execution's name %s says environment %s, but its input deploys %s. Names of the form <environment>-<digest>-<time>-<suffix> tell the queue which environment an execution deploys, so this one would be misread. Start it again under another name, or without one.", name, env, deploys)}
}

func unknownEnvironment(env string, known string) *UnknownTarget {
	return &UnknownTarget{newf("Unknown environment %q: configured environments are %s. Add a target to targets.json or start with one of those.", env, known)}
}

func noTargetForImage(repository string, tag string, known string) *UnknownTarget {
	return &UnknownTarget{newf("No target for image %s:%s: only these repository:tags deploy: %s. Push one of those tags, or add a target to targets.json.", repository, tag, known)}
}

func noRepository(repository string) *ImageNotFound {
	return &ImageNotFound{newf("ECR repository %q does not exist (in this account and region). Check \"repository\" in targets.json.", repository)}
}

func noImage(repository string, what string) *ImageNotFound {
	return &ImageNotFound{newf("ECR repository %q has no image with %s. Push or promote the image first, then start again.", repository, what)}
}

func digestNotTheTags(digest, tag, tagged string) *InvalidInput {
	return &InvalidInput{newf("Invalid input: digest %s is not the image that tag %q names now (%s). ecr-deployer deploys the tag: promote that digest to %q first, or start without \"digest\".", digest, tag, tagged, tag)}
}

func clusterNotFound(cluster string) *ServiceNotFound {
	return &ServiceNotFound{newf("ECS cluster %q does not exist. Check \"cluster\" in targets.json.", cluster)}
}

func serviceNotActive(service string, cluster string, status string) *ServiceNotFound {
	return &ServiceNotFound{newf("ECS service %s in cluster %s is %s, not ACTIVE: it cannot be deployed. Recreate it or point the target at another service.", service, cluster, status)}
}

func noService(service string, cluster string, reason string) *ServiceNotFound {
	return &ServiceNotFound{newf("ECS service %s was not found in cluster %s (%s). Check \"cluster\" and \"service\" in targets.json.", service, cluster, reason)}
}

func noMigrationContainer(taskDefinition string, container string, containers string) *ServiceNotFound {
	return &ServiceNotFound{newf("The service's task definition %s has no container %q (it has: %s). Fix \"migration.container\" in targets.json.", taskDefinition, container, containers)}
}

func timeoutShorterThanBake(cluster string, service string, least time.Duration, how string, timeout time.Duration, suggested string) *TargetMisconfigured {
	return &TargetMisconfigured{newf("ECS service %s/%s takes at least %s to deploy (%s), but the target's deploymentTimeout is %s: every deployment would time out before ECS reports it successful, so nothing was run. Set \"deploymentTimeout\" to more than that plus the rollout, for example %q.", cluster, service, least, how, timeout, suggested)}
}

func codeDeployController(cluster string, service string) *UnsupportedDeploymentController {
	return &UnsupportedDeploymentController{newf("ECS service %s/%s uses the CODE_DEPLOY (CodeDeploy blue/green) deployment controller: UpdateService cannot deploy it, so nothing was run. Deploy it with a CodeDeploy deployment, or move the service to the ECS controller (ECS blue/green, linear and canary deployments need no CodeDeploy).", cluster, service)}
}

func externalController(cluster string, service string) *UnsupportedDeploymentController {
	return &UnsupportedDeploymentController{newf("ECS service %s/%s uses the EXTERNAL deployment controller: its tasks are deployed with task sets (CreateTaskSet), which ecr-deployer does not manage, so nothing was run. Use the ECS deployment controller for this service, or deploy it with the tool that owns its task sets.", cluster, service)}
}

func taskDefinitionNotCovered(taskDefinition string, cluster string, service string, environment string, problems string) *TargetMisconfigured {
	return &TargetMisconfigured{newf("The task definition %s of service %s/%s is not covered by target %s in targets.json, so the stack's IAM policy would refuse the migration: %s. Nothing was run. Fix targets.json, deploy the stack again (make deploy), then start again.", taskDefinition, cluster, service, environment, problems)}
}

func tagModeRunsAnotherImage(taskDefinition, cluster, service, environment, wrong, image string) *TargetMisconfigured {
	return &TargetMisconfigured{newf("Task definition %s of service %s/%s does not run %s: %s. In \"image\": \"tag\" the migration and the deployment run what the task definition names, so %s would deploy another image. Nothing ran. Register a revision whose container names %s and deploy it once, or remove \"image\": \"tag\" from target %s (digest mode, the default, pins the pushed digest).", taskDefinition, cluster, service, image, wrong, environment, image, environment)}
}

func rollbackImageGone(repository string, digest string) *ImageNotFound {
	return &ImageNotFound{newf("ECR repository %q no longer has image %s, which the rollback would deploy again (deleted by a lifecycle policy?). Nothing was deployed; roll back to another image with deployer rollback --to.", repository, digest)}
}

func immutableTag(tag string, repository string, digest string) *TargetMisconfigured {
	return &TargetMisconfigured{newf("Tag %s is immutable in repository %s, so the rollback cannot move it back to %s, and with \"image\": \"tag\" ECS deploys what the tag names. Nothing was deployed. Use \"image\": \"digest\" for this target to roll back by digest, or make the tag mutable.", tag, repository, digest)}
}

func nothingToPin(taskDefinition string, repository string, digest string) *ServiceNotFound {
	return &ServiceNotFound{newf("No container of task definition %s runs an image of repository %s, so there is nothing to pin to %s. Check \"repository\" and the task definition, or use \"image\": \"tag\".", taskDefinition, repository, digest)}
}

func targetRemoved(environment string, what string) *TargetRemoved {
	return &TargetRemoved{newf("Target %s %s while this execution waited (the stack was deployed again): nothing ran, and its permissions and event rules may be gone. Deploy %s with a target that has it (make deploy), or start it against the target as it is now (deployer start).", environment, what, environment)}
}

func waitedPastWorkSpan(waited time.Duration, other string, services string, left time.Duration, workSpan time.Duration, environment string) *QueueTimedOut {
	return &QueueTimedOut{newf("Waited %s for %s, which is deploying %s, past the %s this execution may wait (%s of work, less what its own approval, migration and deployment may take): nothing ran. Check that execution (deployer status %s), then start this one again.", waited, other, services, left, workSpan, environment)}
}

// AllErrors returns one value of every typed error, for tests and the ASL check
// that each one is caught.
func AllErrors() []error {
	return []error{
		&InvalidInput{}, &UnknownTarget{}, &ImageNotFound{}, &ServiceNotFound{}, &TargetRemoved{},
		&UnsupportedDeploymentController{}, &TargetMisconfigured{},
		&PromotionBlocked{}, &QueueTimedOut{}, &MigrationCapacityUnavailable{}, &MigrationFailedToStart{}, &MigrationFailed{},
		&MigrationLost{}, &MigrationTimedOut{}, &DigestMismatch{},
		&DeploymentRolledBack{}, &DeploymentSuperseded{}, &DeploymentStopped{}, &DeploymentFailed{}, &DeploymentTimedOut{},
		&InternalError{},
	}
}

// ForStepFunctions returns err in the form a Lambda must return it: the typed
// error itself (not a wrapper, whose type name would be the error name), or an
// InternalError carrying the whole message.
func ForStepFunctions(err error) error {
	if err == nil {
		return nil
	}
	var sfe stepFunctionsError
	var noRole *TargetRoleRefused
	switch {
	case errors.As(err, &sfe):
	case errors.As(err, &noRole):
		sfe = targetRoleRefused(noRole)
	default:
		sfe = internalError(err)
	}
	if msg := sfe.Error(); BoundCause(msg) != msg {
		if f, ok := sfe.(interface{ reword(string) }); ok {
			f.reword(BoundCause(msg))
		}
	}
	return sfe
}

// internalError wraps an error no Fail state names.
func internalError(err error) *InternalError {
	return &InternalError{newf("ecr-deployer hit an unexpected error: %v. Check the function's CloudWatch logs and its IAM permissions, then start the deployment again.", err)}
}

func targetRoleRefused(e *TargetRoleRefused) *TargetMisconfigured {
	return &TargetMisconfigured{newf("ecr-deployer could not act in account %s, Region %s: STS refused to let it assume role %s (%v). Deploy the target account stack there (make deploy-target ACCOUNT=%s REGION=%s, or target-template.json with the ExternalId the deployer stack outputs), then start the deployment again; deployer check tells what is missing.",
		e.Place.Account, e.Place.Region, e.Role, e.Err, e.Place.Account, e.Place.Region)}
}

// Inputs that are not the workflow's: events and payloads the Lambdas refuse.

func invalidInput(why string) *InvalidInput {
	return &InvalidInput{newf("Invalid input: %s. %s", why, acceptedInputs)}
}

func servicesFailed(cause string) *DeploymentFailed {
	return &DeploymentFailed{newf("%s", cause)}
}

func manualStartToTrigger(input string) *InvalidInput {
	return &InvalidInput{newf("Trigger starts deployments for ECR push events; it got a manual start (%s). Start those with deployer start or StartExecution.", input)}
}

func notAnECSEvent(source string, detailType string) *InvalidInput {
	return &InvalidInput{newf("Wake takes ECS events; this one is from %q (%s).", source, detailType)}
}

func taskEventWithoutTask(event string) *InvalidInput {
	return &InvalidInput{newf("ECS Task State Change %s has no task ARN in its detail.", event)}
}

func deploymentEventWithoutService(event string) *InvalidInput {
	return &InvalidInput{newf("ECS Deployment State Change %s names no service.", event)}
}

func deploymentEventBadService(event string, resource string) *InvalidInput {
	return &InvalidInput{newf("ECS Deployment State Change %s: %q is not a service ARN with its cluster.", event, resource)}
}

func unknownECSEvent(detailType string) *InvalidInput {
	return &InvalidInput{newf("Wake takes ECS task, deployment and hook state changes, not %q.", detailType)}
}

func hookEventWithoutService(event string) *InvalidInput {
	return &InvalidInput{newf("ECS Hook State Change %s names no service or service deployment with its cluster.", event)}
}

func watchWithoutToken() *InvalidInput {
	return &InvalidInput{newf("Watch needs the task token of the waiting state (Payload.taskToken = $$.Task.Token).")}
}

func watchBadWaitingFor(waitingFor string, migration string, deployment string, approval string) *InvalidInput {
	return &InvalidInput{newf("Watch: waitingFor is %q, want %q, %q or %q.", waitingFor, migration, deployment, approval)}
}
