package emulator

import (
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"

	"github.com/ecr-deployer/ecr-deployer/internal/deploy"
)

// LINEAR and CANARY services report their traffic configuration as ECS
// does (unset members left out, so ECS's defaults apply), the deployer
// reads the least duration from it through the real SDK, and a deployment
// takes a step bake between its traffic steps.
func TestLinearAndCanaryTakeTheirStepBakes(t *testing.T) {
	six := int32(6)
	cases := map[string]struct {
		strategy string
		traffic  TrafficSteps
		bake     int32
		least    time.Duration
		weights  []float64
	}{
		"LINEAR on defaults":   {"LINEAR", TrafficSteps{}, 10, 64 * time.Minute, []float64{10, 20, 30, 40, 50, 60, 70, 80, 90, 100}},
		"LINEAR of 25 %":       {"LINEAR", TrafficSteps{StepPercent: 25, StepBakeTimeMinutes: &six}, 5, 23 * time.Minute, []float64{25, 50, 75, 100}},
		"CANARY on defaults":   {"CANARY", TrafficSteps{}, 5, 15 * time.Minute, []float64{5, 100}},
		"CANARY of 20 %, 6min": {"CANARY", TrafficSteps{CanaryPercent: 20, CanaryBakeTimeMinutes: &six}, 5, 11 * time.Minute, []float64{20, 100}},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			e, c, _ := clients(t)
			td := e.RegisterTaskDefinition(TaskDefinitionSpec{Family: "steps", Compatibilities: []string{"EC2"}, Containers: []ContainerSpec{{Name: "app", Image: "app:1"}}})
			if err := e.CreateService(ServiceSpec{Cluster: "steps", Name: "steps-service", TaskDefinition: td, DesiredCount: 1, LaunchType: "EC2",
				Strategy: tc.strategy, BakeTimeMinutes: tc.bake, Traffic: tc.traffic}); err != nil {
				t.Fatal(err)
			}
			out, err := c.DescribeServices(t.Context(), &ecs.DescribeServicesInput{Cluster: aws.String("steps"), Services: []string{"steps-service"}})
			if err != nil {
				t.Fatal(err)
			}
			if least, how := deploy.MinimumDuration(out.Services[0].DeploymentConfiguration); least != tc.least {
				t.Fatalf("the deployer reads %s (%s) from what ECS reports, want %s", least, how, tc.least)
			}
			if _, err := c.UpdateService(t.Context(), &ecs.UpdateServiceInput{Cluster: aws.String("steps"), Service: aws.String("steps-service"), ForceNewDeployment: true}); err != nil {
				t.Fatal(err)
			}
			e.mu.Lock()
			defer e.mu.Unlock()
			svc := e.clusters["steps"].services["steps-service"]
			d, sd := svc.deployments[0], svc.serviceDeployments[0]
			want := secs(RolloutScript{}.duration()) + time.Duration(len(tc.weights)-1)*tc.traffic.stepBake()
			if got := d.rampEnd.Sub(d.createdAt); got != want {
				t.Fatalf("the rollout takes %s, want %s: the rollout and %d step bakes", got, want, len(tc.weights)-1)
			}
			var weights []float64
			for _, st := range sd.steps[1:] {
				weights = append(weights, st.weight)
			}
			if len(weights) != len(tc.weights) {
				t.Fatalf("traffic steps %v, want %v", weights, tc.weights)
			}
			for i := range weights {
				if weights[i] != tc.weights[i] {
					t.Fatalf("traffic steps %v, want %v", weights, tc.weights)
				}
			}
		})
	}
}
