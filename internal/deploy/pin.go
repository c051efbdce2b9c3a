package deploy

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

// PinImage (image mode "digest") makes the migration and the deployment run
// exactly the pushed digest: a revision of the service's task definition
// whose containers of the target repository use repository@digest, with
// every other field copied. An identical latest revision is reused, so a
// retried Lambda does not register twice.
//
// A target of several services pins each one's task definition; the first
// one's pinned revision also runs the migration.
func (d *Deployer) PinImage(ctx context.Context, s State) (State, error) {
	ctx = d.in(ctx, s)
	arn, err := d.pin(ctx, s, s.Launch.TaskDefinition)
	if err != nil {
		return s, err
	}
	for i := range s.Services {
		r := &s.Services[i]
		if i == 0 {
			r.PinnedTaskDefinition = arn
			continue
		}
		if r.PinnedTaskDefinition, err = d.pin(ctx, s, r.TaskDefinition); err != nil {
			return s, err
		}
	}
	s.Image.PinnedTaskDefinition = arn
	s.Launch.TaskDefinition = arn
	s.Deployment.NotBefore = ptrTime(d.now())
	return s, nil
}

// pin returns the revision of task definition taskDef pinned to the digest,
// registering it unless it exists.
func (d *Deployer) pin(ctx context.Context, s State, taskDef string) (string, error) {
	cur, err := d.ECS.DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{
		TaskDefinition: aws.String(taskDef), Include: []ecstypes.TaskDefinitionField{ecstypes.TaskDefinitionFieldTags},
	})
	if err != nil {
		return "", fmt.Errorf("describe task definition %s: %w", taskDef, err)
	}
	want, changed := pinned(cur.TaskDefinition, cur.Tags, s.Image.Repository, s.Image.Digest)
	if len(changed) == 0 {
		return "", nothingToPin(aws.ToString(cur.TaskDefinition.TaskDefinitionArn), s.Image.Repository, s.Image.Digest)
	}
	arn := ""
	if same(registerInput(cur.TaskDefinition, cur.Tags), want) {
		arn = aws.ToString(cur.TaskDefinition.TaskDefinitionArn) // already pinned
	} else if latest, err := d.ECS.DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{
		TaskDefinition: cur.TaskDefinition.Family, Include: []ecstypes.TaskDefinitionField{ecstypes.TaskDefinitionFieldTags},
	}); err == nil && same(registerInput(latest.TaskDefinition, latest.Tags), want) {
		arn = aws.ToString(latest.TaskDefinition.TaskDefinitionArn) // registered by an earlier attempt
	}
	if arn == "" {
		out, err := d.ECS.RegisterTaskDefinition(ctx, want)
		if err != nil {
			return "", fmt.Errorf("register task definition %s pinned to %s: %w", aws.ToString(want.Family), s.Image.Digest, err)
		}
		arn = aws.ToString(out.TaskDefinition.TaskDefinitionArn)
	}
	d.log().InfoContext(ctx, "image pinned", "execution", s.Execution.ID, "taskDefinition", arn, "containers", strings.Join(changed, ","), "digest", s.Image.Digest)
	return arn, nil
}

// pinned is the registration of td with the repository's containers pinned to
// digest, and the names of the containers it changed.
func pinned(td *ecstypes.TaskDefinition, tags []ecstypes.Tag, repository, digest string) (*ecs.RegisterTaskDefinitionInput, []string) {
	in := registerInput(td, tags)
	var changed []string
	for i := range in.ContainerDefinitions {
		c := &in.ContainerDefinitions[i]
		image := aws.ToString(c.Image)
		if ImageRepository(image) != repository {
			continue
		}
		changed = append(changed, aws.ToString(c.Name))
		c.Image = aws.String(imageName(image) + "@" + digest)
	}
	return in, changed
}

// imageName is an image reference without its tag or digest.
func imageName(image string) string {
	if i := strings.Index(image, "@"); i >= 0 {
		image = image[:i]
	}
	if i := strings.LastIndex(image, ":"); i > strings.LastIndex(image, "/") {
		image = image[:i]
	}
	return image
}

// registerInput copies every registrable field of a task definition.
// https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_RegisterTaskDefinition.html
func registerInput(td *ecstypes.TaskDefinition, tags []ecstypes.Tag) *ecs.RegisterTaskDefinitionInput {
	in := &ecs.RegisterTaskDefinitionInput{
		Family:                  td.Family,
		ContainerDefinitions:    append([]ecstypes.ContainerDefinition(nil), td.ContainerDefinitions...),
		Cpu:                     td.Cpu,
		Memory:                  td.Memory,
		EphemeralStorage:        td.EphemeralStorage,
		ExecutionRoleArn:        td.ExecutionRoleArn,
		TaskRoleArn:             td.TaskRoleArn,
		NetworkMode:             td.NetworkMode,
		IpcMode:                 td.IpcMode,
		PidMode:                 td.PidMode,
		PlacementConstraints:    td.PlacementConstraints,
		ProxyConfiguration:      td.ProxyConfiguration,
		RequiresCompatibilities: td.RequiresCompatibilities,
		RuntimePlatform:         td.RuntimePlatform,
		Volumes:                 td.Volumes,
		EnableFaultInjection:    td.EnableFaultInjection,
		// InferenceAccelerators is deprecated ("This feature is no longer available"): not copied.
	}
	if len(tags) > 0 {
		in.Tags = tags
	}
	return in
}

func same(a, b *ecs.RegisterTaskDefinitionInput) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return string(x) == string(y)
}
