package emulator

// Wire shapes of the ECS and ECR JSON 1.1 APIs, limited to the fields the
// deployer and its tests read. Field names and types follow the API
// references; timestamps are epoch seconds, as the JSON protocols send them.
// https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_Types.html
// https://docs.aws.amazon.com/AmazonECR/latest/APIReference/API_Types.html

import (
	"math"
	"time"
)

type epoch float64

type wFailure struct {
	ARN    string `json:"arn,omitempty"`
	Reason string `json:"reason"`
	Detail string `json:"detail,omitempty"`
}

type wCapacityProviderItem struct {
	CapacityProvider string `json:"capacityProvider"`
	Weight           int32  `json:"weight,omitempty"`
	Base             int32  `json:"base,omitempty"`
}

type wAwsvpc struct {
	Subnets        []string `json:"subnets"`
	SecurityGroups []string `json:"securityGroups,omitempty"`
	AssignPublicIP string   `json:"assignPublicIp,omitempty"`
}

type wNetworkConfiguration struct {
	AwsvpcConfiguration *wAwsvpc `json:"awsvpcConfiguration,omitempty"`
}

type wDeployment struct {
	ID                       string                  `json:"id"`
	Status                   string                  `json:"status"`
	TaskDefinition           string                  `json:"taskDefinition"`
	DesiredCount             int32                   `json:"desiredCount"`
	PendingCount             int32                   `json:"pendingCount"`
	RunningCount             int32                   `json:"runningCount"`
	FailedTasks              int32                   `json:"failedTasks"`
	CreatedAt                epoch                   `json:"createdAt"`
	UpdatedAt                epoch                   `json:"updatedAt"`
	LaunchType               string                  `json:"launchType,omitempty"`
	CapacityProviderStrategy []wCapacityProviderItem `json:"capacityProviderStrategy,omitempty"`
	RolloutState             string                  `json:"rolloutState,omitempty"`
	RolloutStateReason       string                  `json:"rolloutStateReason,omitempty"`
}

type wServiceEvent struct {
	ID        string `json:"id"`
	CreatedAt epoch  `json:"createdAt"`
	Message   string `json:"message"`
}

type wCircuitBreaker struct {
	Enable   bool `json:"enable"`
	Rollback bool `json:"rollback"`
}

type wService struct {
	ServiceARN               string                  `json:"serviceArn"`
	ServiceName              string                  `json:"serviceName"`
	ClusterARN               string                  `json:"clusterArn"`
	Status                   string                  `json:"status"`
	DesiredCount             int32                   `json:"desiredCount"`
	RunningCount             int32                   `json:"runningCount"`
	PendingCount             int32                   `json:"pendingCount"`
	LaunchType               string                  `json:"launchType,omitempty"`
	CapacityProviderStrategy []wCapacityProviderItem `json:"capacityProviderStrategy,omitempty"`
	PlatformVersion          string                  `json:"platformVersion,omitempty"`
	TaskDefinition           string                  `json:"taskDefinition"`
	DeploymentConfiguration  map[string]any          `json:"deploymentConfiguration,omitempty"`
	CurrentServiceDeployment string                  `json:"currentServiceDeployment,omitempty"`
	Deployments              []wDeployment           `json:"deployments"`
	Events                   []wServiceEvent         `json:"events"`
	NetworkConfiguration     *wNetworkConfiguration  `json:"networkConfiguration,omitempty"`
	SchedulingStrategy       string                  `json:"schedulingStrategy"`
	DeploymentController     *wDeploymentController  `json:"deploymentController,omitempty"`
}

type wDeploymentController struct {
	Type string `json:"type"`
}

type wLogConfiguration struct {
	LogDriver string            `json:"logDriver"`
	Options   map[string]string `json:"options,omitempty"`
}

type wContainerDefinition struct {
	Name             string             `json:"name"`
	Image            string             `json:"image"`
	Essential        *bool              `json:"essential,omitempty"`
	Command          []string           `json:"command,omitempty"`
	LogConfiguration *wLogConfiguration `json:"logConfiguration,omitempty"`
}

type wTaskDefinition struct {
	TaskDefinitionARN       string                 `json:"taskDefinitionArn"`
	Family                  string                 `json:"family"`
	Revision                int32                  `json:"revision"`
	Status                  string                 `json:"status"`
	NetworkMode             string                 `json:"networkMode,omitempty"`
	RequiresCompatibilities []string               `json:"requiresCompatibilities,omitempty"`
	ContainerDefinitions    []wContainerDefinition `json:"containerDefinitions"`
	TaskRoleARN             string                 `json:"taskRoleArn,omitempty"`
	ExecutionRoleARN        string                 `json:"executionRoleArn,omitempty"`
	CPU                     string                 `json:"cpu,omitempty"`
	Memory                  string                 `json:"memory,omitempty"`
}

type wContainer struct {
	ContainerARN string `json:"containerArn"`
	TaskARN      string `json:"taskArn"`
	Name         string `json:"name"`
	Image        string `json:"image"`
	ImageDigest  string `json:"imageDigest,omitempty"`
	LastStatus   string `json:"lastStatus"`
	ExitCode     *int32 `json:"exitCode,omitempty"`
	Reason       string `json:"reason,omitempty"`
}

type wContainerOverride struct {
	Name    string   `json:"name"`
	Command []string `json:"command,omitempty"`
}

type wTaskOverride struct {
	ContainerOverrides []wContainerOverride `json:"containerOverrides,omitempty"`
}

type wTask struct {
	TaskARN              string         `json:"taskArn"`
	ClusterARN           string         `json:"clusterArn"`
	TaskDefinitionARN    string         `json:"taskDefinitionArn"`
	LastStatus           string         `json:"lastStatus"`
	DesiredStatus        string         `json:"desiredStatus"`
	LaunchType           string         `json:"launchType,omitempty"`
	CapacityProviderName string         `json:"capacityProviderName,omitempty"`
	Group                string         `json:"group,omitempty"`
	StartedBy            string         `json:"startedBy,omitempty"`
	CreatedAt            epoch          `json:"createdAt"`
	StartedAt            *epoch         `json:"startedAt,omitempty"`
	StoppingAt           *epoch         `json:"stoppingAt,omitempty"`
	StoppedAt            *epoch         `json:"stoppedAt,omitempty"`
	StopCode             string         `json:"stopCode,omitempty"`
	StoppedReason        string         `json:"stoppedReason,omitempty"`
	Containers           []wContainer   `json:"containers"`
	Overrides            *wTaskOverride `json:"overrides,omitempty"`
}

type wImageIdentifier struct {
	ImageDigest string `json:"imageDigest,omitempty"`
	ImageTag    string `json:"imageTag,omitempty"`
}

type wImageDetail struct {
	RegistryID             string   `json:"registryId"`
	RepositoryName         string   `json:"repositoryName"`
	ImageDigest            string   `json:"imageDigest"`
	ImageTags              []string `json:"imageTags,omitempty"`
	ImagePushedAt          epoch    `json:"imagePushedAt"`
	ImageSizeInBytes       int64    `json:"imageSizeInBytes"`
	ImageManifestMediaType string   `json:"imageManifestMediaType"`
}

// Time is the epoch-seconds timestamp as a time.
func (t epoch) Time() time.Time { return time.UnixMilli(int64(math.Round(float64(t) * 1000))) }
