package deploy

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"

	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"

	"github.com/ecr-deployer/ecr-deployer/internal/config"
)

const homeSM = "arn:aws:states:us-east-1:111111111111:stateMachine:EcrDeployer-deploy"

// The queue keys a target in another account or Region apart from a
// same-named service at home; at home the key is what it was before
// issue 27, so turns taken by earlier releases still hold.
func TestServiceKeys(t *testing.T) {
	d := &Deployer{StateMachineARN: homeSM}
	for _, tc := range []struct {
		place config.Place
		want  []string
	}{
		{config.Place{Account: "111111111111", Region: "us-east-1"}, []string{"prod/web", "prod/worker"}},
		{config.Place{Account: "222222222222", Region: "us-east-1"}, []string{"222222222222/us-east-1/prod/web", "222222222222/us-east-1/prod/worker"}},
		{config.Place{Account: "111111111111", Region: "eu-west-1"}, []string{"111111111111/eu-west-1/prod/web", "111111111111/eu-west-1/prod/worker"}},
	} {
		if got := d.serviceKeys(tc.place, "prod", []string{"web", "worker"}); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%+v: %v, want %v", tc.place, got, tc.want)
		}
	}
	if got := d.placeOf(State{}); got != (config.Place{Account: "111111111111", Region: "us-east-1"}) {
		t.Errorf("a State without account and Region (before issue 27) is at %+v, want home", got)
	}
	if got := d.placeOf(State{Account: "222222222222"}); got != (config.Place{Account: "222222222222", Region: "us-east-1"}) {
		t.Errorf("placeOf = %+v", got)
	}
}

// An event wakes only the execution whose target is where the event
// happened: prod/prod-service may exist in two accounts at once.
func TestWakeMatchesTheEventsAccount(t *testing.T) {
	parked := func(token string, account string) []sfntypes.HistoryEvent {
		p, _ := json.Marshal(map[string]any{"FunctionName": "watch", "Payload": WatchInput{TaskToken: token, WaitingFor: WaitingForDeployment,
			State: State{Cluster: "prod", Service: "prod-service", Account: account, Region: "us-east-1", Deployment: Deployment{ID: "ecs-svc/1"}}}})
		return []sfntypes.HistoryEvent{event("TaskSubmitted"), event("TaskStarted"), scheduled(string(p), "invoke.waitForTaskToken")}
	}
	for _, tc := range []struct{ account, woken string }{
		{"222222222222", "ex-remote"},
		{"111111111111", "ex-home"},
		{"333333333333", ""},
	} {
		f := &fakeHistory{running: []string{"ex-home", "ex-remote"}, history: map[string][]sfntypes.HistoryEvent{
			"ex-home": parked("tok-home", ""), "ex-remote": parked("tok-remote", "222222222222")}}
		d := &Deployer{History: f, Tokens: f, StateMachineARN: homeSM, Log: quiet}
		ev := ECSEvent{ID: "e1", Source: "aws.ecs", DetailType: "ECS Deployment State Change", Account: tc.account, Region: "us-east-1",
			Resources: []string{"arn:aws:ecs:us-east-1:" + tc.account + ":service/prod/prod-service"},
			Detail:    json.RawMessage(`{"eventName":"SERVICE_DEPLOYMENT_COMPLETED","deploymentId":"ecs-svc/1"}`)}
		out, err := d.Wake(context.Background(), ev)
		if err != nil {
			t.Fatal(err)
		}
		if out.Woken != tc.woken {
			t.Errorf("an event of account %s woke %q, want %q", tc.account, out.Woken, tc.woken)
		}
	}
}

// A context names a place only with both its account and Region; the home
// is the state machine's account and Region, or d.Region without an ARN.
func TestPlaceOfAndHome(t *testing.T) {
	for _, tc := range []struct {
		p  config.Place
		ok bool
	}{
		{config.Place{Account: "222222222222", Region: "eu-west-1"}, true},
		{config.Place{Account: "222222222222"}, false},
		{config.Place{Region: "eu-west-1"}, false},
	} {
		got, ok := PlaceOf(WithPlace(context.Background(), tc.p))
		if ok != tc.ok || (ok && got != tc.p) {
			t.Errorf("PlaceOf(WithPlace(%+v)) = %+v, %v", tc.p, got, ok)
		}
	}
	if _, ok := PlaceOf(context.Background()); ok {
		t.Error("a context without a place names one")
	}
	if got := HomeOf(homeSM, "eu-west-1"); got != (config.Place{Account: "111111111111", Region: "us-east-1"}) {
		t.Errorf("HomeOf = %+v", got)
	}
	if got := HomeOf("", "eu-west-1"); got != (config.Place{Region: "eu-west-1"}) {
		t.Errorf("HomeOf without an ARN = %+v", got)
	}
	d := &Deployer{StateMachineARN: homeSM}
	if d.remote(d.home()) || !d.remote(config.Place{Account: "111111111111", Region: "eu-west-1"}) {
		t.Error("remote misjudges a place")
	}
	if got, _ := PlaceOf(d.in(context.Background(), State{Account: "222222222222", Region: "eu-west-1"})); got != (config.Place{Account: "222222222222", Region: "eu-west-1"}) {
		t.Errorf("in = %+v", got)
	}
}

// A refusal to assume a target's role is told as TargetMisconfigured,
// naming the place and the role, whatever wraps it.
func TestTargetRoleRefusedIsTargetMisconfigured(t *testing.T) {
	refused := &TargetRoleRefused{Place: config.Place{Account: "222222222222", Region: "eu-west-1"}, Role: "arn:aws:iam::222222222222:role/EcrDeployer-RunMigration-eu-west-1", Err: errors.New("AccessDenied")}
	err := ForStepFunctions(fmt.Errorf("describe service staging/staging-service: %w", refused))
	var tm *TargetMisconfigured
	if !errors.As(err, &tm) || !strings.Contains(err.Error(), "account 222222222222, Region eu-west-1") || !strings.Contains(err.Error(), refused.Role) {
		t.Fatalf("%T %v", err, err)
	}
	if !errors.Is(refused, refused.Err) || !strings.Contains(refused.Error(), "AccessDenied") {
		t.Errorf("TargetRoleRefused = %v", refused)
	}
}
