package api

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"

	"github.com/ecr-deployer/ecr-deployer/internal/config"
	"github.com/ecr-deployer/ecr-deployer/internal/deploy"
)

// startSFN records StartExecution and answers as Step Functions does for a
// name it has seen: the same execution while it runs, when the input is
// the same; ExecutionAlreadyExists otherwise.
type startSFN struct {
	SFNAPI // any other call panics: a start reads nothing else
	inputs map[string]string
	starts []*sfn.StartExecutionInput
}

func (f *startSFN) StartExecution(_ context.Context, in *sfn.StartExecutionInput, _ ...func(*sfn.Options)) (*sfn.StartExecutionOutput, error) {
	f.starts = append(f.starts, in)
	name := aws.ToString(in.Name)
	if prev, ok := f.inputs[name]; ok && prev != aws.ToString(in.Input) {
		return nil, &sfntypes.ExecutionAlreadyExists{Message: aws.String("Execution Already Exists: " + name)}
	}
	f.inputs[name] = aws.ToString(in.Input)
	return &sfn.StartExecutionOutput{ExecutionArn: aws.String("arn:aws:states:us-east-1:123456789012:execution:deploy:" + name)}, nil
}

func TestStart(t *testing.T) {
	const alice = "arn:aws:sts::123456789012:assumed-role/Deploy/alice"
	cfg, err := config.Parse("t.json", []byte(`{"targets":[{"repository":"app","tag":"staging"},{"repository":"app","tag":"prod","requires":"staging"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC)
	at := now.Add(-30 * time.Second).Format(time.RFC3339)
	cases := []struct {
		name      string
		c         Capability
		body      string
		want      int
		code      string
		wantInput deploy.ManualInput
	}{
		{"a promoter's start: by is IAM's, not the body's", Promoter,
			`{"action":"start","environment":"prod","by":"arn:aws:iam::123456789012:user/bob","token":"a1b2","requestedAt":"` + at + `"}`,
			http.StatusOK, "", deploy.ManualInput{Environment: "prod", By: alice, Verified: VerifiedBy}},
		{"an override on the overrider's URL", Overrider,
			`{"action":"start","environment":"prod","overrideGuard":true,"reason":"INC-42","token":"a1b2","requestedAt":"` + at + `"}`,
			http.StatusOK, "", deploy.ManualInput{Environment: "prod", OverrideGuard: true, Reason: "INC-42", By: alice, Verified: VerifiedBy}},
		{"an override on the promoter's URL", Promoter,
			`{"action":"start","environment":"prod","overrideGuard":true,"reason":"INC-42","token":"a1b2","requestedAt":"` + at + `"}`,
			http.StatusForbidden, "WrongCapability", deploy.ManualInput{}},
		{"an override without a reason", Overrider,
			`{"action":"start","environment":"prod","overrideWindow":true,"token":"a1b2","requestedAt":"` + at + `"}`,
			http.StatusBadRequest, "BadRequest", deploy.ManualInput{}},
		{"an unknown environment", Promoter,
			`{"action":"start","environment":"qa","token":"a1b2","requestedAt":"` + at + `"}`,
			http.StatusNotFound, "NotFound", deploy.ManualInput{}},
		{"no token", Promoter,
			`{"action":"start","environment":"prod","requestedAt":"` + at + `"}`,
			http.StatusBadRequest, "BadRequest", deploy.ManualInput{}},
		{"a clock far off", Promoter,
			`{"action":"start","environment":"prod","token":"a1b2","requestedAt":"` + now.Add(-6*time.Minute).Format(time.RFC3339) + `"}`,
			http.StatusBadRequest, "BadRequest", deploy.ManualInput{}},
		{"a clock just within", Promoter,
			`{"action":"start","environment":"prod","token":"a1b2","requestedAt":"` + now.Add(maxSkew).Format(time.RFC3339) + `"}`,
			http.StatusOK, "", deploy.ManualInput{Environment: "prod", By: alice, Verified: VerifiedBy}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := &startSFN{inputs: map[string]string{}}
			s := &Server{Capability: tc.c, SFN: f, StateMachineARN: "arn:aws:states:us-east-1:123456789012:stateMachine:deploy",
				StartARN: "arn:aws:states:us-east-1:123456789012:stateMachine:deploy:live", Config: cfg, Now: func() time.Time { return now }}
			req := events.LambdaFunctionURLRequest{Body: tc.body, RequestContext: events.LambdaFunctionURLRequestContext{
				Authorizer: &events.LambdaFunctionURLRequestContextAuthorizerDescription{IAM: &events.LambdaFunctionURLRequestContextAuthorizerIAMDescription{UserARN: alice}}}}
			resp, _ := s.Handle(context.Background(), req)
			if resp.StatusCode != tc.want || (tc.code != "" && !strings.Contains(resp.Body, `"error":"`+tc.code+`"`)) {
				t.Fatalf("Handle = %d %s, want %d %s", resp.StatusCode, resp.Body, tc.want, tc.code)
			}
			if tc.want != http.StatusOK {
				if len(f.starts) != 0 {
					t.Fatalf("refused, yet started %v", f.starts)
				}
				return
			}
			if len(f.starts) != 1 || aws.ToString(f.starts[0].StateMachineArn) != s.StartARN || !strings.HasPrefix(aws.ToString(f.starts[0].Name), "prod-tag-") || !strings.HasSuffix(aws.ToString(f.starts[0].Name), "-a1b2") {
				t.Fatalf("starts %+v: want one on the alias, named prod-tag-<time>-a1b2", f.starts)
			}
			var got deploy.ManualInput
			if err := json.Unmarshal([]byte(aws.ToString(f.starts[0].Input)), &got); err != nil || got != tc.wantInput {
				t.Fatalf("input %s, want %+v", aws.ToString(f.starts[0].Input), tc.wantInput)
			}
			// The same request again (its answer was lost) starts nothing new.
			again, _ := s.Handle(context.Background(), req)
			var a1, a2 Answer
			_ = json.Unmarshal([]byte(resp.Body), &a1)
			_ = json.Unmarshal([]byte(again.Body), &a2)
			if again.StatusCode != http.StatusOK || a1.Execution != a2.Execution || len(f.inputs) != 1 || a1.By != alice {
				t.Fatalf("sent again: %d %s after %s; want the same execution, by %s", again.StatusCode, again.Body, resp.Body, alice)
			}
		})
	}
}
