package soak

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	ecrtypes "github.com/aws/aws-sdk-go-v2/service/ecr/types"
	"github.com/aws/aws-sdk-go-v2/service/sfn"

	"github.com/ecr-deployer/ecr-deployer/internal/config"
	"github.com/ecr-deployer/ecr-deployer/internal/deploy"
	"github.com/ecr-deployer/ecr-deployer/internal/executions"
	"github.com/ecr-deployer/ecr-deployer/local/emulator"
	"github.com/ecr-deployer/ecr-deployer/local/rig"
)

// pushed is a promotion the driver made: ECR's event is the only way it
// reaches the deployer.
type pushed struct {
	digest string
	at     time.Time
}

// driver does a seed's operations as a person and CI would: retag in ECR
// (the push event goes through EventBridge and the Trigger function),
// StartExecution by hand, and a rollback execution (as deployer rollback
// starts one), through the real SDK clients.
type driver struct {
	stack  *rig.Stack
	seed   uint64
	env    string
	target config.Resolved
	pushes []pushed
}

// clients are an administrator's, with the Lambdas' retry budget: the
// adversary throttles the driver's calls too.
func (d *driver) clients() (*ecr.Client, *sfn.Client) {
	cfg := d.stack.AdminConfig()
	cfg.Retryer = func() aws.Retryer { return retry.AddWithMaxAttempts(retry.NewStandard(), 10) }
	return ecr.NewFromConfig(cfg), sfn.NewFromConfig(cfg)
}

func (d *driver) do(ctx context.Context, op string, i int) (string, error) {
	switch op {
	case "push":
		return "push", d.push(ctx, i)
	case "start":
		return "start", d.start(ctx, deploy.ManualInput{Environment: d.env, Reason: "soak"}, i)
	case "rollback":
		// Redeploy the image pushed before the latest, in place of what runs.
		running := d.stack.Emulator.RunningDigest(d.target.Cluster, d.target.ServiceNames()[0], "app")
		if len(d.pushes) < 2 || d.pushes[len(d.pushes)-2].digest == running || running == "" {
			return "push", d.push(ctx, i) // nothing to roll back to yet
		}
		to := d.pushes[len(d.pushes)-2].digest
		return "rollback", d.start(ctx, deploy.ManualInput{Environment: d.env, Digest: to, Reason: "soak rollback",
			Rollback: &deploy.RollbackRequest{Of: running, By: "soak"}}, i)
	}
	return op, fmt.Errorf("unknown operation %q", op)
}

// push builds a new image under a tag of its own and promotes it to the
// environment's tag: BatchGetImage, then PutImage of the exact manifest.
func (d *driver) push(ctx context.Context, i int) error {
	build := fmt.Sprintf("soak-%d-%d", d.seed, i)
	digest := d.stack.Emulator.PushManifest(emulator.Repository, build, emulator.SampleManifest(int(d.seed%1_000_000)*16+i+100_000))
	ecrc, _ := d.clients()
	got, err := deploy.GetManifest(ctx, ecrc, &ecr.BatchGetImageInput{RepositoryName: aws.String(emulator.Repository),
		ImageIds: []ecrtypes.ImageIdentifier{{ImageTag: aws.String(build)}}})
	if err != nil || len(got.Images) == 0 {
		return fmt.Errorf("get %s: %v", build, err)
	}
	_, err = ecrc.PutImage(ctx, &ecr.PutImageInput{RepositoryName: aws.String(emulator.Repository), ImageTag: aws.String(d.env),
		ImageManifest: got.Images[0].ImageManifest, ImageManifestMediaType: got.Images[0].ImageManifestMediaType})
	if err != nil {
		return fmt.Errorf("promote %s to %s: %w", build, d.env, err)
	}
	d.pushes = append(d.pushes, pushed{digest: digest, at: time.Now()})
	return nil
}

func (d *driver) start(ctx context.Context, in deploy.ManualInput, i int) error {
	_, sfnc := d.clients()
	input, _ := json.Marshal(in)
	name := executions.ExecutionName(d.env, in.Digest, time.Now(), fmt.Sprintf("s%dn%d", d.seed%100000, i))
	_, err := sfnc.StartExecution(ctx, &sfn.StartExecutionInput{StateMachineArn: aws.String(d.stack.SFN.StateMachineARN),
		Name: aws.String(name), Input: aws.String(string(input))})
	if err != nil {
		return fmt.Errorf("start %s: %w", name, err)
	}
	return nil
}
