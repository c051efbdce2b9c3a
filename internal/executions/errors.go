package executions

import sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"

// Class is what an ended execution's outcome means to its readers, one
// reading per use:
//   - ChangeRan: a migration task or a deployment was started, so the
//     environment may have changed;
//   - ChangeFailure: deployer stats counts it as a failed change (the change
//     failure rate, time to restore);
//   - BlocksPromotion: as the latest attempt of an image in an environment
//     that another one requires, it keeps the image from being promoted
//     (the guard); one that does not is skipped, and the attempt before it
//     decides.
type Class struct {
	ChangeRan, ChangeFailure, BlocksPromotion bool
}

var (
	refused = Class{}                                                            // refused before anything ran
	blocked = Class{BlocksPromotion: true}                                       // nothing ran, but the image did not pass there
	ran     = Class{ChangeRan: true, BlocksPromotion: true}                      // ran, and did not fail as a change
	failed  = Class{ChangeRan: true, ChangeFailure: true, BlocksPromotion: true} // ran and failed
)

// errorClasses is the one table of the workflow's Fail states' error names
// (statemachine/deployer.asl.json; a test checks that it names them all).
// An error it does not name (States.Timeout, States.Runtime, Lambda.Unknown
// reported through DeployerFailed, or a name a later version adds) is taken
// as failed: the stricter reading, since the change may have run.
var errorClasses = map[string]Class{
	"InvalidInput": refused, "UnknownTarget": refused, "ImageNotFound": refused, "ServiceNotFound": refused,
	"UnsupportedDeploymentController": refused, "TargetMisconfigured": refused,
	// Nothing ran, and nobody approved or the queue never reached it.
	"QueueTimedOut": refused, "Rejected": refused, "ApprovalTimedOut": refused, "TargetRemoved": refused,
	// The image was refused here because it had not passed the environment
	// before; RunTask found no capacity: in both nothing ran, and the image
	// has not passed this environment.
	"PromotionBlocked": blocked, "MigrationCapacityUnavailable": blocked,
	// A newer deployment replaced ours, or the tag moved to a newer image
	// (tag mode): not a failure of this change, but it did not pass here.
	"DeploymentSuperseded": ran, "DigestMismatch": ran,
	"MigrationFailedToStart": failed, "MigrationFailed": failed, "MigrationLost": failed, "MigrationTimedOut": failed,
	"DeploymentRolledBack": failed, "DeploymentFailed": failed, "DeploymentStopped": failed, "DeploymentTimedOut": failed,
	"InternalError": failed,
}

// Classify reads an ended execution's status and error. A SUCCEEDED one
// changed something only if it deployed (deployed: its output's
// deployment.done; one superseded in the queue or a duplicate succeeded
// without deploying); TIMED_OUT and ABORTED may have stopped it anywhere.
func Classify(status sfntypes.ExecutionStatus, errName string, deployed bool) Class {
	switch status {
	case sfntypes.ExecutionStatusSucceeded:
		if deployed {
			return Class{ChangeRan: true}
		}
		return refused
	case sfntypes.ExecutionStatusRunning, "":
		return refused
	case sfntypes.ExecutionStatusFailed:
		if c, ok := errorClasses[errName]; ok {
			return c
		}
	}
	return failed
}

// ErrorNames are the error names the table reads, for tests.
func ErrorNames() []string {
	out := make([]string, 0, len(errorClasses))
	for n := range errorClasses {
		out = append(out, n)
	}
	return out
}
