package emulator

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
)

// ECS task definitions: RegisterTaskDefinition, DescribeTaskDefinition, and how
// images resolve to digests.

// RegisterTaskDefinition seeds a task definition revision and returns its ARN.
func (e *Emulator) RegisterTaskDefinition(s TaskDefinitionSpec) string {
	e.mu.Lock()
	defer e.mu.Unlock()
	rev := int32(len(e.families[s.Family]) + 1)
	td := &taskDef{wTaskDefinition{
		TaskDefinitionARN:       fmt.Sprintf("arn:aws:ecs:%s:%s:task-definition/%s:%d", e.Region, e.Account, s.Family, rev),
		Family:                  s.Family,
		Revision:                rev,
		Status:                  "ACTIVE",
		NetworkMode:             s.NetworkMode,
		RequiresCompatibilities: s.Compatibilities,
		TaskRoleARN:             s.TaskRoleARN,
		ExecutionRoleARN:        s.ExecutionRoleARN,
	}}
	if td.NetworkMode == "" {
		td.NetworkMode = "bridge"
	}
	for _, c := range s.Containers {
		cd := wContainerDefinition{Name: c.Name, Image: c.Image, Essential: c.Essential}
		if c.LogGroup != "" {
			cd.LogConfiguration = &wLogConfiguration{LogDriver: "awslogs", Options: map[string]string{
				"awslogs-group": c.LogGroup, "awslogs-region": e.Region, "awslogs-stream-prefix": c.LogStreamPrefix,
			}}
		}
		td.ContainerDefinitions = append(td.ContainerDefinitions, cd)
	}
	e.taskDefs[td.TaskDefinitionARN] = td
	e.families[s.Family] = append(e.families[s.Family], td)
	return td.TaskDefinitionARN
}

// https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_RegisterTaskDefinition.html
// Every call registers a new revision of the family, even an identical one.
func (e *Emulator) registerTaskDefinition(body json.RawMessage) (any, *apiError) {
	var in wTaskDefinition
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	if in.Family == "" || len(in.ContainerDefinitions) == 0 {
		return nil, errorf("ClientException", "family and containerDefinitions are required.")
	}
	in.Revision = int32(len(e.families[in.Family]) + 1)
	in.TaskDefinitionARN = fmt.Sprintf("arn:aws:ecs:%s:%s:task-definition/%s:%d", e.Region, e.Account, in.Family, in.Revision)
	in.Status = "ACTIVE"
	if in.NetworkMode == "" {
		in.NetworkMode = "bridge"
	}
	td := &taskDef{in}
	e.taskDefs[td.TaskDefinitionARN] = td
	e.families[in.Family] = append(e.families[in.Family], td)
	e.registered = append(e.registered, append(json.RawMessage(nil), body...))
	return map[string]any{"taskDefinition": td.wTaskDefinition, "tags": []any{}}, nil
}

// resolveDigests resolves each container's image to a digest as ECS does when
// it starts a deployment or a task: a tag to the digest it names now.
func (e *Emulator) resolveDigests(td *taskDef) map[string]string {
	out := map[string]string{}
	for _, c := range td.ContainerDefinitions {
		out[c.Name] = e.digestOf(c.Image)
	}
	return out
}

func (e *Emulator) digestOf(image string) string {
	if i := strings.Index(image, "@"); i >= 0 {
		return image[i+1:]
	}
	name, tag := image, "latest"
	if i := strings.LastIndex(image, ":"); i > strings.LastIndex(image, "/") {
		name, tag = image[:i], image[i+1:]
	}
	r := e.repos[name[strings.Index(name, "/")+1:]]
	if r == nil {
		return ""
	}
	for _, im := range r.images {
		if slices.Contains(im.tags, tag) {
			return im.digest
		}
	}
	return ""
}

func (e *Emulator) findTaskDef(ref string) *taskDef {
	if td, ok := e.taskDefs[ref]; ok {
		return td
	}
	ref = ref[strings.LastIndex(ref, "/")+1:]
	family, rev, hasRev := strings.Cut(ref, ":")
	revs := e.families[family]
	if len(revs) == 0 {
		return nil
	}
	if !hasRev {
		return revs[len(revs)-1]
	}
	for _, td := range revs {
		if fmt.Sprint(td.Revision) == rev {
			return td
		}
	}
	return nil
}

// --- DescribeTaskDefinition ------------------------------------------------

func (e *Emulator) describeTaskDefinition(body json.RawMessage) (any, *apiError) {
	var in struct {
		TaskDefinition string `json:"taskDefinition"`
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	td := e.findTaskDef(in.TaskDefinition)
	if td == nil {
		return nil, errorf("ClientException", "Unable to describe task definition.")
	}
	return map[string]any{"taskDefinition": td.wTaskDefinition}, nil
}

// RegisteredTaskDefinitions returns the bodies of the RegisterTaskDefinition calls served.
func (e *Emulator) RegisteredTaskDefinitions() []json.RawMessage {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]json.RawMessage(nil), e.registered...)
}
