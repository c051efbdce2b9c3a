package emulator

import "fmt"

// The standard world that `make demo` and the end-to-end tests deploy into.
// It follows the convention of the shell script ecr-deployer replaces: the
// cluster is named after the environment and the service is "<cluster>-service".
const (
	// Account and Region of the emulated AWS account.
	Account = "123456789012"
	Region  = "us-west-2"
	// Repository is the application's ECR repository.
	Repository = "app"
	// LogGroup is the app container's awslogs group.
	LogGroup = "/ecs/app"
)

var (
	// Digest is the image tagged staging, prod and qa in the standard world.
	Digest = DigestOf(SampleManifest(1))
	// NewDigest is a second image, pushed as "sha-2" (a git-SHA tag), not yet promoted.
	NewDigest = DigestOf(SampleManifest(2))
)

// SeedStandardWorld creates:
//   - log group /ecs/app, where every app container logs (awslogs);
//   - repository "app" with two images: Digest tagged sha-1, staging, prod
//     and qa, and NewDigest tagged sha-2 (built, not yet promoted);
//   - cluster "staging" with "staging-service": EC2, bridge networking, task definition app:1;
//   - cluster "prod" with "prod-service": Fargate through a capacity provider strategy
//     (FARGATE, FARGATE_SPOT), awsvpc networking, task definition app-fargate:1;
//   - cluster "qa" with "qa-service": EC2 like staging (for short timeouts in tests);
//   - each service's task definition runs its own tag (app:staging, app:prod, …:
//     a revision of family app, or app-fargate, per service), as tag mode needs;
//   - cluster "pinned" with "pinned-service" (tag pinned, for "image": "digest");
//   - clusters fleet1…fleet5, each with fleetN-service (the concurrency tests);
//   - cluster "legacy" with "legacy-service", deployed by CodeDeploy (CODE_DEPLOY controller);
//   - clusters "suite" and "suite-pinned", each with "app-web" and "app-worker"
//     (task definition families of the same names): targets of several services;
//
// every service with the deployment circuit breaker and rollback on.
func (e *Emulator) SeedStandardWorld() error {
	e.PushManifest(Repository, "sha-1", SampleManifest(1))
	e.CreateLogGroup(LogGroup)
	e.PushManifest(Repository, "sha-2", SampleManifest(2))
	for _, tag := range []string{"staging", "prod", "qa"} {
		e.PushImage(Repository, tag, Digest)
	}
	essential := true
	// Each service's task definition runs its own environment's tag
	// (app:staging, app:prod, …), as a service deployed by tag must.
	containers := func(tag string) []ContainerSpec {
		return []ContainerSpec{
			{Name: "app", Image: e.imageURI(Repository, tag), Essential: &essential, LogGroup: LogGroup, LogStreamPrefix: "app"},
			{Name: "log-router", Image: "public.ecr.aws/aws-observability/aws-for-fluent-bit:stable", Essential: &essential},
		}
	}
	ec2For := func(tag string) string {
		return e.RegisterTaskDefinition(TaskDefinitionSpec{Family: "app", Compatibilities: []string{"EC2"}, Containers: containers(tag),
			TaskRoleARN: "arn:aws:iam::123456789012:role/app-task", ExecutionRoleARN: "arn:aws:iam::123456789012:role/app-execution"})
	}
	ec2 := ec2For("staging")
	fargate := e.RegisterTaskDefinition(TaskDefinitionSpec{Family: "app-fargate", NetworkMode: "awsvpc", Compatibilities: []string{"FARGATE"}, Containers: containers("prod"),
		TaskRoleARN: "arn:aws:iam::123456789012:role/app-task", ExecutionRoleARN: "arn:aws:iam::123456789012:role/app-execution"})
	services := []ServiceSpec{
		{Cluster: "staging", Name: "staging-service", TaskDefinition: ec2, DesiredCount: 2, LaunchType: "EC2", CircuitBreakerRollback: true},
		{Cluster: "pinned", Name: "pinned-service", TaskDefinition: ec2For("pinned"), DesiredCount: 2, LaunchType: "EC2", CircuitBreakerRollback: true},
		{Cluster: "qa", Name: "qa-service", TaskDefinition: ec2For("qa"), DesiredCount: 1, LaunchType: "EC2", CircuitBreakerRollback: true},
		{Cluster: "prod", Name: "prod-service", TaskDefinition: fargate, DesiredCount: 3,
			CapacityProviderStrategy: []CapacityProvider{{Name: "FARGATE", Weight: 1, Base: 1}, {Name: "FARGATE_SPOT", Weight: 3}},
			Subnets:                  []string{"subnet-0a1b2c3d", "subnet-4e5f6a7b"}, SecurityGroups: []string{"sg-0123456789abcdef0"}, AssignPublicIP: "DISABLED",
			CircuitBreakerRollback: true},
	}
	// A service deployed by CodeDeploy blue/green, which UpdateService cannot deploy.
	services = append(services, ServiceSpec{Cluster: "legacy", Name: "legacy-service", TaskDefinition: ec2For("legacy"), DesiredCount: 1, LaunchType: "EC2", DeploymentController: "CODE_DEPLOY"})
	e.PushImage(Repository, "legacy", Digest)
	e.PushImage(Repository, "misconfigured", Digest)
	for i := 1; i <= FleetSize; i++ {
		e.PushImage(Repository, FleetTag(i), Digest)
		services = append(services, ServiceSpec{Cluster: FleetTag(i), Name: FleetTag(i) + "-service", TaskDefinition: ec2For(FleetTag(i)), DesiredCount: 2, LaunchType: "EC2", CircuitBreakerRollback: true})
	}
	e.PushImage(Repository, "pinned", Digest)
	// "release" requires staging (the promotion guard); its tag is not
	// pushed yet: the tests push it.
	services = append(services, ServiceSpec{Cluster: "release", Name: "release-service", TaskDefinition: ec2For("release"), DesiredCount: 1, LaunchType: "EC2", CircuitBreakerRollback: true})
	// "gated" waits for a person (the approval gate).
	e.PushImage(Repository, "gated", Digest)
	services = append(services, ServiceSpec{Cluster: "gated", Name: "gated-service", TaskDefinition: ec2For("gated"), DesiredCount: 1, LaunchType: "EC2", CircuitBreakerRollback: true})
	// "windowed" deploys only inside its deployment window.
	e.PushImage(Repository, "windowed", Digest)
	services = append(services, ServiceSpec{Cluster: "windowed", Name: "windowed-service", TaskDefinition: ec2For("windowed"), DesiredCount: 1, LaunchType: "EC2", CircuitBreakerRollback: true})
	// "suite" and "suite-pinned" each deploy two services from the one
	// image, app-web and app-worker, behind one migration (app-web's task
	// definition runs it).
	for _, cluster := range []string{"suite", "suite-pinned"} {
		e.PushImage(Repository, cluster, Digest)
		for _, name := range []string{"app-web", "app-worker"} {
			td := e.RegisterTaskDefinition(TaskDefinitionSpec{Family: name, Compatibilities: []string{"EC2"},
				Containers:  []ContainerSpec{{Name: "app", Image: e.imageURI(Repository, cluster), Essential: &essential, LogGroup: LogGroup, LogStreamPrefix: name}},
				TaskRoleARN: "arn:aws:iam::123456789012:role/app-task", ExecutionRoleARN: "arn:aws:iam::123456789012:role/app-execution"})
			services = append(services, ServiceSpec{Cluster: cluster, Name: name, TaskDefinition: td, DesiredCount: 2, LaunchType: "EC2", CircuitBreakerRollback: true})
		}
	}
	for _, s := range services {
		if err := e.CreateService(s); err != nil {
			return err
		}
	}
	return nil
}

// FleetSize is the number of fleet services: clusters fleet1… with
// fleetN-service, deployed from the tag fleetN of repository app.
const FleetSize = 5

// FleetTag is the tag (and cluster and environment) of fleet service n.
func FleetTag(n int) string { return fmt.Sprintf("fleet%d", n) }

// SeedWorkload seeds a workload account's emulator with one environment's
// service (docs/multi-account.md): cluster env with env-service (EC2, the
// circuit breaker on), its task definition of family app running
// app:env from this account's own registry, where ECR replication put the
// tools account's image (the tag names digest), the roles app-task and
// app-execution of this account, and the log group /ecs/app.
func (e *Emulator) SeedWorkload(env, digest string) error {
	e.CreateLogGroup(LogGroup)
	e.PushImage(Repository, env, digest)
	essential := true
	td := e.RegisterTaskDefinition(TaskDefinitionSpec{Family: "app", Compatibilities: []string{"EC2"},
		Containers:  []ContainerSpec{{Name: "app", Image: e.imageURI(Repository, env), Essential: &essential, LogGroup: LogGroup, LogStreamPrefix: "app"}},
		TaskRoleARN: "arn:aws:iam::" + e.Account + ":role/app-task", ExecutionRoleARN: "arn:aws:iam::" + e.Account + ":role/app-execution"})
	return e.CreateService(ServiceSpec{Cluster: env, Name: env + "-service", TaskDefinition: td, DesiredCount: 2, LaunchType: "EC2", CircuitBreakerRollback: true})
}
