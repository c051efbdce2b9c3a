package deploy

import (
	"errors"
	"fmt"
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

// AllErrors returns one value of every typed error, for tests and the ASL check
// that each one is caught.
func AllErrors() []error {
	return []error{
		&InvalidInput{}, &UnknownTarget{}, &ImageNotFound{}, &ServiceNotFound{},
		&UnsupportedDeploymentController{}, &TargetMisconfigured{},
		&PromotionBlocked{}, &QueueTimedOut{}, &MigrationCapacityUnavailable{}, &MigrationFailedToStart{}, &MigrationFailed{},
		&MigrationLost{}, &MigrationTimedOut{},
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
	if errors.As(err, &sfe) {
		return sfe
	}
	return &InternalError{newf("ecr-deployer hit an unexpected error: %v. Check the function's CloudWatch logs and its IAM permissions, then start the deployment again.", err)}
}
