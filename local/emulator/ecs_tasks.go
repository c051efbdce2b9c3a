package emulator

import (
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"
)

// ECS tasks: RunTask (migrations), DescribeTasks, StopTask, ListTasks.

// --- RunTask ---------------------------------------------------------------
// https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_RunTask.html
// Placement problems are failures[] in an HTTP 200 answer
// (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/api_failures_messages.html);
// clientToken makes the call idempotent, and the same token with another
// request is ConflictException.

type runTaskInput struct {
	Cluster                  string                  `json:"cluster"`
	TaskDefinition           string                  `json:"taskDefinition"`
	Count                    int32                   `json:"count"`
	LaunchType               string                  `json:"launchType"`
	CapacityProviderStrategy []wCapacityProviderItem `json:"capacityProviderStrategy"`
	NetworkConfiguration     *wNetworkConfiguration  `json:"networkConfiguration"`
	Overrides                *wTaskOverride          `json:"overrides"`
	StartedBy                string                  `json:"startedBy"`
	Group                    string                  `json:"group"`
	ClientToken              string                  `json:"clientToken"`
	PlatformVersion          string                  `json:"platformVersion"`
}

func (e *Emulator) runTask(body json.RawMessage) (any, *apiError) {
	var in runTaskInput
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	var hash [32]byte
	if in.ClientToken != "" {
		token := in.ClientToken
		in.ClientToken = ""
		canon, _ := json.Marshal(in)
		hash = sha256.Sum256(canon)
		if prev, ok := e.tokens[token]; ok {
			if prev.requestHash != hash {
				return nil, errorf("ConflictException", "The provided clientToken is already in use with a different RunTask request.")
			}
			return prev.response, nil
		}
		defer func() { in.ClientToken = token }()
		resp, aerr := e.runTaskOnce(in)
		if aerr == nil {
			e.tokens[token] = tokenEntry{requestHash: hash, response: resp}
		}
		return resp, aerr
	}
	return e.runTaskOnce(in)
}

func (e *Emulator) runTaskOnce(in runTaskInput) (any, *apiError) {
	c, aerr := e.clusterOf(in.Cluster)
	if aerr != nil {
		return nil, aerr
	}
	td := e.findTaskDef(in.TaskDefinition)
	if td == nil {
		return nil, errorf("ClientException", "TaskDefinition not found.")
	}
	if td.NetworkMode == "awsvpc" && (in.NetworkConfiguration == nil || in.NetworkConfiguration.AwsvpcConfiguration == nil) {
		return nil, errorf("InvalidParameterException", "Network Configuration must be provided when networkMode 'awsvpc' is specified.")
	}
	if td.NetworkMode != "awsvpc" && in.NetworkConfiguration != nil {
		return nil, errorf("InvalidParameterException", "Network Configuration is not valid for the given networkMode of this task definition.")
	}
	if in.LaunchType == "FARGATE" && td.NetworkMode != "awsvpc" {
		return nil, errorf("ClientException", "Fargate only supports network mode 'awsvpc'.")
	}
	if in.Overrides != nil {
		for _, o := range in.Overrides.ContainerOverrides {
			found := false
			for _, cd := range td.ContainerDefinitions {
				found = found || cd.Name == o.Name
			}
			if !found {
				return nil, errorf("InvalidParameterException", "Override for container named %s is not a container in the TaskDefinition.", o.Name)
			}
		}
	}
	count := max(in.Count, 1) // 1 to 10 (ecs_rules.go)
	e.runTasks++
	out := struct {
		Tasks    []wTask    `json:"tasks"`
		Failures []wFailure `json:"failures"`
	}{Tasks: []wTask{}, Failures: []wFailure{}}
	n := e.script.CapacityFailures
	noCapacity, asError := n < 0 || e.runTasks <= n, e.script.CapacityError
	if !noCapacity && e.adv.Roll(AdvCapacity) {
		noCapacity, asError = true, e.adv.Intn(3) == 0 // both shapes (AdvCapacity)
	}
	if noCapacity {
		switch {
		case asError:
			return nil, errorf("ClientException", "Tasks provisioning capacity limit exceeded.")
		case in.LaunchType == "FARGATE" || strings.HasPrefix(firstProvider(in.CapacityProviderStrategy), "FARGATE"):
			// Fargate says so in a sentence, not a RESOURCE:* code (gchq/sleeper#904).
			out.Failures = append(out.Failures, wFailure{Reason: "Capacity is unavailable at this time. Please try again later or in a different availability zone"})
		default:
			out.Failures = append(out.Failures, wFailure{ARN: c.arn, Reason: "RESOURCE:MEMORY"})
		}
		return out, nil
	}
	now := e.now()
	plan := e.script.Migration
	if r := e.script.Random; r != nil {
		plan = MigrationScript{Seconds: e.draw(r)}
		if e.random.Float64() < r.MigrationFailureRate {
			plan.ExitCode = 1
		}
	}
	provider := ""
	if len(in.CapacityProviderStrategy) > 0 {
		provider = in.CapacityProviderStrategy[0].CapacityProvider
	}
	for range count {
		t := &task{
			arn:        fmt.Sprintf("arn:aws:ecs:%s:%s:task/%s/%s", e.Region, e.Account, c.name, e.id(32)),
			clusterARN: c.arn, taskDefARN: td.TaskDefinitionARN, launchType: in.LaunchType, capacityProvider: provider,
			group: in.Group, startedBy: in.StartedBy, createdAt: now, containers: td.ContainerDefinitions,
			overrides: in.Overrides, plan: plan, digests: e.resolveDigests(td),
		}
		e.spans = append(e.spans, Span{Kind: "migration", Cluster: c.name, ID: t.arn, Start: now, task: t})
		if t.group == "" {
			t.group = "family:" + td.Family
		}
		e.tasks[t.arn] = t
		t.reported = map[string]bool{}
		e.writeMigrationLog(t)
		e.watchTask(t)
		out.Tasks = append(out.Tasks, t.wire(now, e.migrationContainer(t)))
	}
	return out, nil
}

// migrationContainer is the container whose command was overridden: the one
// the scenario's exit code and failure apply to.
func (e *Emulator) migrationContainer(t *task) string {
	if t.overrides != nil && len(t.overrides.ContainerOverrides) > 0 {
		return t.overrides.ContainerOverrides[0].Name
	}
	return t.containers[0].Name
}

// wire renders the task as DescribeTasks shows it at now, following the task
// lifecycle: PROVISIONING → PENDING → RUNNING → DEPROVISIONING → STOPPED.
// https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task-lifecycle-explanation.html
// A container that never ran has no exitCode and a reason such as
// CannotPullContainerError; the task's stopCode is then TaskFailedToStart.
// https://docs.aws.amazon.com/AmazonECS/latest/developerguide/stopped-task-error-codes.html
func (t *task) wire(now time.Time, migration string) wTask {
	p := t.plan
	dur := secs(p.duration())
	el := now.Sub(t.createdAt)
	w := wTask{
		TaskARN: t.arn, ClusterARN: t.clusterARN, TaskDefinitionARN: t.taskDefARN, DesiredStatus: "RUNNING",
		LaunchType: t.launchType, CapacityProviderName: t.capacityProvider, Group: t.group, StartedBy: t.startedBy,
		CreatedAt: ts(t.createdAt), Overrides: t.overrides,
	}
	var exit *int32
	containerStatus, containerReason := "PENDING", ""
	startedAt := t.createdAt.Add(dur / 5)
	switch {
	case t.crashed:
		// "Essential container in task exited": the app container exited 1.
		w.LastStatus, w.DesiredStatus, w.StopCode, w.StoppedReason = "STOPPED", "STOPPED", "EssentialContainerExited", "Essential container in task exited"
		w.StartedAt, w.StoppingAt, w.StoppedAt = tsp(t.createdAt), tsp(t.stoppedAt), tsp(t.stoppedAt)
		code := int32(1)
		exit, containerStatus = &code, "STOPPED"
	case t.service && t.stoppedAt.IsZero():
		w.LastStatus, containerStatus = "RUNNING", "RUNNING"
		w.StartedAt = tsp(t.createdAt)
	case !t.stoppedAt.IsZero():
		w.LastStatus, w.DesiredStatus, w.StopCode, w.StoppedReason = "STOPPED", "STOPPED", "UserInitiated", t.stopReason
		w.StoppingAt, w.StoppedAt = tsp(t.stoppedAt), tsp(t.stoppedAt)
		if t.stoppedAt.After(startedAt) && p.FailToStart == "" {
			w.StartedAt = tsp(startedAt)
			code := int32(137) // SIGKILL after the stop timeout
			exit = &code
		}
		containerStatus = "STOPPED"
	case p.FailToStart != "":
		w.LastStatus = "PROVISIONING"
		if el >= dur/3 {
			w.LastStatus = "PENDING"
		}
		if el >= dur {
			w.LastStatus, w.DesiredStatus, w.StopCode, w.StoppedReason = "STOPPED", "STOPPED", "TaskFailedToStart", p.FailToStart
			w.StoppingAt, w.StoppedAt = tsp(t.createdAt.Add(dur)), tsp(t.createdAt.Add(dur))
			containerStatus, containerReason = "STOPPED", p.FailToStart
		}
	case el < dur/10:
		w.LastStatus = "PROVISIONING"
	case el < dur/5:
		w.LastStatus = "PENDING"
	case el < dur*9/10 || p.Hang:
		w.LastStatus, containerStatus = "RUNNING", "RUNNING"
		w.StartedAt = tsp(startedAt)
	case el < dur:
		w.LastStatus, containerStatus = "DEPROVISIONING", "STOPPED"
		w.DesiredStatus = "STOPPED"
		w.StartedAt, w.StoppingAt = tsp(startedAt), tsp(t.createdAt.Add(dur*9/10))
		exit = &p.ExitCode
	default:
		w.LastStatus, w.DesiredStatus, w.StopCode, w.StoppedReason = "STOPPED", "STOPPED", "EssentialContainerExited", "Essential container in task exited"
		w.StartedAt, w.StoppingAt, w.StoppedAt = tsp(startedAt), tsp(t.createdAt.Add(dur*9/10)), tsp(t.createdAt.Add(dur))
		exit = &p.ExitCode
		containerStatus = "STOPPED"
	}
	for _, cd := range t.containers {
		c := wContainer{
			ContainerARN: fmt.Sprintf("%s/%s", strings.Replace(t.arn, ":task/", ":container/", 1), cd.Name),
			TaskARN:      t.arn, Name: cd.Name, Image: cd.Image, LastStatus: containerStatus,
		}
		if w.StartedAt != nil {
			// Container.imageDigest: "The container image manifest digest";
			// ECS knows it once it pulled the image, so a task that has not
			// started reports none (the stricter reading).
			c.ImageDigest = t.digests[cd.Name]
		}
		if cd.Name == migration || (t.crashed && cd.Name == "app") {
			c.ExitCode, c.Reason = exit, containerReason
		} else if containerStatus == "STOPPED" && exit != nil {
			// sidecars are stopped with the task
			code := int32(0)
			c.ExitCode = &code
		}
		w.Containers = append(w.Containers, c)
	}
	return w
}

// --- DescribeTasks / StopTask ----------------------------------------------
// https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_DescribeTasks.html
// A task ECS no longer knows (stopped tasks are kept for at least an hour) is
// a failures[] entry with reason MISSING.

func (e *Emulator) describeTasks(body json.RawMessage) (any, *apiError) {
	var in struct {
		Cluster string   `json:"cluster"`
		Tasks   []string `json:"tasks"`
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	c, aerr := e.clusterOf(in.Cluster)
	if aerr != nil {
		return nil, aerr
	}
	now := e.now()
	out := struct {
		Tasks    []wTask    `json:"tasks"`
		Failures []wFailure `json:"failures"`
	}{Tasks: []wTask{}, Failures: []wFailure{}}
	for _, ref := range in.Tasks {
		t := e.findTask(c, ref)
		if t == nil || (t.plan.Disappear && now.Sub(t.createdAt) >= secs(t.plan.duration())/2) {
			out.Failures = append(out.Failures, wFailure{ARN: ref, Reason: "MISSING"})
			continue
		}
		out.Tasks = append(out.Tasks, t.wire(now, e.migrationContainer(t)))
	}
	return out, nil
}

func (e *Emulator) findTask(c *cluster, ref string) *task {
	if t, ok := e.tasks[ref]; ok && t.clusterARN == c.arn {
		return t
	}
	if t, ok := e.serviceTasks[ref]; ok && t.clusterARN == c.arn {
		return t
	}
	for arn, t := range e.tasks {
		if t.clusterARN == c.arn && strings.HasSuffix(arn, "/"+ref) {
			return t
		}
	}
	return nil
}

// https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_StopTask.html
func (e *Emulator) stopTask(body json.RawMessage) (any, *apiError) {
	var in struct {
		Cluster string `json:"cluster"`
		Task    string `json:"task"`
		Reason  string `json:"reason"`
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	c, aerr := e.clusterOf(in.Cluster)
	if aerr != nil {
		return nil, aerr
	}
	t := e.findTask(c, in.Task)
	if t == nil {
		return nil, errorf("InvalidParameterException", "The referenced task was not found.")
	}
	now := e.now()
	if w := t.wire(now, e.migrationContainer(t)); w.LastStatus != "STOPPED" {
		t.stoppedAt = now
		t.stopReason = in.Reason
		if t.stopReason == "" {
			t.stopReason = "Task stopped by user"
		}
		if t.reported != nil {
			e.taskEvent(t, now)
		}
	}
	return map[string]any{"task": t.wire(now, e.migrationContainer(t))}, nil
}

// ListTasks lists a service's running tasks: each running task of a
// deployment has startedBy set to the deployment's id.
// https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_ListTasks.html
func (e *Emulator) listTasks(body json.RawMessage) (any, *apiError) {
	var in struct {
		Cluster       string `json:"cluster"`
		ServiceName   string `json:"serviceName"`
		StartedBy     string `json:"startedBy"`
		DesiredStatus string `json:"desiredStatus"`
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	c, aerr := e.clusterOf(in.Cluster)
	if aerr != nil {
		return nil, aerr
	}
	arns := []string{}
	now := e.now()
	if in.DesiredStatus == "STOPPED" {
		// The tasks the circuit breaker counted when it failed a
		// deployment (ECS shows stopped tasks for about an hour).
		for _, svc := range c.services {
			if in.ServiceName != "" && svc.name != in.ServiceName {
				continue
			}
			e.advance(svc, now)
			for _, t := range svc.crashed {
				arns = append(arns, t.arn)
			}
		}
		sort.Strings(arns)
		return map[string]any{"taskArns": arns}, nil
	}
	for _, svc := range c.services {
		if in.ServiceName != "" && svc.name != in.ServiceName {
			continue
		}
		e.advance(svc, now)
		for _, d := range svc.deployments {
			if in.StartedBy != "" && d.id != in.StartedBy {
				continue
			}
			for i := range d.running {
				arns = append(arns, e.serviceTask(c, svc, d, int(i)).arn)
			}
		}
	}
	if in.ServiceName == "" {
		for arn, t := range e.tasks {
			if t.clusterARN == c.arn && (in.StartedBy == "" || t.startedBy == in.StartedBy) {
				arns = append(arns, arn)
			}
		}
	}
	sort.Strings(arns)
	return map[string]any{"taskArns": arns}, nil
}

// maxCrashedTasks bounds the stopped tasks listed per failed deployment.
const maxCrashedTasks = 10

// crashedTask is the i-th task of a failed deployment that the circuit
// breaker counted: its app container exited 1 and logged why.
func (e *Emulator) crashedTask(svc *service, d *deployment, i int) *task {
	t := e.serviceTask(svc.cluster, svc, d, 1000+i)
	if !t.crashed {
		t.crashed, t.stoppedAt = true, d.endedAt
		t.plan = MigrationScript{ExitCode: 1, Seconds: d.ramp.Seconds(), LogLines: []string{
			"2026/11/26 10:00:02 listening on :8080",
			"2026/11/26 10:00:03 panic: config: DATABASE_URL is not set",
			"goroutine 1 [running]:",
			"main.main()",
			"exit status 2",
		}}
		e.writeTaskLog(t, "app", t.createdAt, t.plan.LogLines)
	}
	return t
}

// serviceTask is the i-th running task of a deployment, made on first sight.
func (e *Emulator) serviceTask(c *cluster, svc *service, d *deployment, i int) *task {
	arn := fmt.Sprintf("arn:aws:ecs:%s:%s:task/%s/%s", e.Region, e.Account, c.name, fmt.Sprintf("%x", sha256.Sum256([]byte(fmt.Sprintf("%s/%d", d.id, i))))[:32])
	if t, ok := e.serviceTasks[arn]; ok {
		return t
	}
	td := e.findTaskDef(d.taskDefinition)
	t := &task{arn: arn, clusterARN: c.arn, taskDefARN: d.taskDefinition, launchType: svc.launchType, group: "service:" + svc.name,
		startedBy: d.id, createdAt: d.createdAt, containers: td.ContainerDefinitions, digests: d.digests, service: true}
	e.serviceTasks[arn] = t
	return t
}
