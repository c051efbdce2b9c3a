package emulator

import (
	"errors"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	ecrtypes "github.com/aws/aws-sdk-go-v2/service/ecr/types"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/aws/smithy-go"

	"github.com/ecr-deployer/ecr-deployer/internal/deploy"
	"github.com/ecr-deployer/ecr-deployer/local/iam"
)

// adversarial sets an emulator's adversarial mode to always do one behaviour.
func adversarial(t *testing.T, e *Emulator, behaviour string) {
	t.Helper()
	sc := Scenario{Adversary: &AdversaryScript{Seed: 7, Rate: 1, Only: []string{behaviour}}}
	if err := sc.Validate(); err != nil {
		t.Fatal(err)
	}
	e.SetScenario(sc)
}

func TestAdversaryNamesEveryBehaviourWithASource(t *testing.T) {
	seen := map[string]bool{}
	for _, b := range Behaviours {
		if b.Name == "" || b.Where == "" || len(b.Cite) < 40 || seen[b.Name] {
			t.Errorf("behaviour %+v: each needs a unique name, where it happens and the sentence that allows it", b)
		}
		seen[b.Name] = true
	}
	doc, err := os.ReadFile("../../docs/local-stack.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range Behaviours {
		if !strings.Contains(string(doc), "`"+b.Name+"`") {
			t.Errorf("docs/local-stack.md does not say what the deployer does about %s", b.Name)
		}
	}
	if _, err := NewAdversary(AdversaryScript{Only: []string{"no-such-behaviour"}}); err == nil {
		t.Error("an unknown behaviour was accepted")
	}
	if _, err := NewAdversary(AdversaryScript{Rate: 1.5}); err == nil {
		t.Error("a rate above 1 was accepted")
	}
}

func TestAdversaryIsReproducibleBySeed(t *testing.T) {
	draws := func(seed uint64) []bool {
		a, err := NewAdversary(AdversaryScript{Seed: seed, Rate: 0.5})
		if err != nil {
			t.Fatal(err)
		}
		var out []bool
		for range 64 {
			out = append(out, a.Roll(AdvThrottle))
		}
		return out
	}
	a, b, c := draws(3), draws(3), draws(4)
	if !equalBools(a, b) {
		t.Fatal("the same seed drew differently")
	}
	if equalBools(a, c) {
		t.Fatal("two seeds drew the same 64 choices")
	}
	var off *Adversary
	if off.Roll(AdvThrottle) {
		t.Fatal("a nil adversary misbehaved")
	}
}

func equalBools(a, b []bool) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// The DynamoDB behaviours through the real SDK: each cancels or throttles
// as DynamoDB documents, nothing is written, and the deployer's judge
// takes a cancellation as a lost race, not a failure.
func TestAdversaryDynamoDB(t *testing.T) {
	cases := map[string]struct {
		behaviour string
		call      func(c *dynamodb.Client) error
		code      string
		reason    string
	}{
		"transaction conflict": {AdvTransactConflict, func(c *dynamodb.Client) error {
			_, err := c.TransactWriteItems(t.Context(), &dynamodb.TransactWriteItemsInput{TransactItems: []ddbtypes.TransactWriteItem{takeTurn("suite/web", "a", ""), takeTurn("suite/worker", "a", "")}})
			return err
		}, "TransactionCanceledException", "TransactionConflict"},
		"transaction throttled": {AdvTransactThrottled, func(c *dynamodb.Client) error {
			_, err := c.TransactWriteItems(t.Context(), &dynamodb.TransactWriteItemsInput{TransactItems: []ddbtypes.TransactWriteItem{takeTurn("suite/web", "a", "")}})
			return err
		}, "TransactionCanceledException", "ThrottlingError"},
		"read throttled": {AdvReadThrottled, func(c *dynamodb.Client) error {
			_, err := c.GetItem(t.Context(), &dynamodb.GetItemInput{TableName: aws.String(testTable), Key: map[string]ddbtypes.AttributeValue{"service": s("suite/web")}})
			return err
		}, "ProvisionedThroughputExceededException", ""},
		"any call throttled": {AdvThrottle, func(c *dynamodb.Client) error {
			_, err := c.GetItem(t.Context(), &dynamodb.GetItemInput{TableName: aws.String(testTable), Key: map[string]ddbtypes.AttributeValue{"service": s("suite/web")}})
			return err
		}, "ThrottlingException", ""},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			e, c := dynamodbClient(t)
			adversarial(t, e, tc.behaviour)
			err := tc.call(c)
			var ae smithy.APIError
			if !errors.As(err, &ae) || ae.ErrorCode() != tc.code {
				t.Fatalf("err = %v, want %s", err, tc.code)
			}
			if tc.reason != "" {
				var cancelled *ddbtypes.TransactionCanceledException
				if !errors.As(err, &cancelled) || !hasReason(cancelled, tc.reason) {
					t.Fatalf("err = %v, want a cancellation reason %s", err, tc.reason)
				}
				if !deploy.LostTurnRace(err) {
					t.Fatalf("LostTurnRace(%v) = false: CheckTurn would fail on what DynamoDB documents as a race", err)
				}
			}
			if n := len(e.TableItems(testTable)); n != 0 {
				t.Fatalf("%d items written by a call that failed", n)
			}
			if e.Adversary().Counts()[tc.behaviour] != 1 {
				t.Fatalf("counts = %v, want one %s", e.Adversary().Counts(), tc.behaviour)
			}
		})
	}
}

func hasReason(c *ddbtypes.TransactionCanceledException, code string) bool {
	for _, r := range c.CancellationReasons {
		if aws.ToString(r.Code) == code {
			return true
		}
	}
	return false
}

// A stale currentServiceDeployment: UpdateService's answer and the next
// DescribeServices name the previous service deployment for staleWindow;
// ListServiceDeployments, filtered by createdAt, lists ours.
func TestAdversaryStaleCurrentServiceDeployment(t *testing.T) {
	e, c, _ := clients(t)
	ctx := t.Context()
	svc := func() ecstypes.Service {
		out, err := c.DescribeServices(ctx, &ecs.DescribeServicesInput{Cluster: aws.String("staging"), Services: []string{"staging-service"}})
		if err != nil {
			t.Fatal(err)
		}
		return out.Services[0]
	}
	before := aws.ToString(svc().CurrentServiceDeployment)
	adversarial(t, e, AdvStaleCurrent)
	up, err := c.UpdateService(ctx, &ecs.UpdateServiceInput{Cluster: aws.String("staging"), Service: aws.String("staging-service"), ForceNewDeployment: true})
	if err != nil {
		t.Fatal(err)
	}
	if got := aws.ToString(up.Service.CurrentServiceDeployment); got != before || before == "" {
		t.Fatalf("UpdateService named %q as current, want the previous %q", got, before)
	}
	if got := aws.ToString(svc().CurrentServiceDeployment); got != before {
		t.Fatalf("DescribeServices named %q right after, want the previous %q", got, before)
	}
	var primary ecstypes.Deployment
	for _, d := range up.Service.Deployments {
		if aws.ToString(d.Status) == "PRIMARY" {
			primary = d
		}
	}
	list, err := c.ListServiceDeployments(ctx, &ecs.ListServiceDeploymentsInput{Cluster: aws.String("staging"), Service: aws.String("staging-service"),
		CreatedAt: &ecstypes.CreatedAt{After: aws.Time(primary.CreatedAt.Add(-time.Second))}})
	if err != nil {
		t.Fatal(err)
	}
	if len(list.ServiceDeployments) != 1 || aws.ToString(list.ServiceDeployments[0].ServiceDeploymentArn) == before {
		t.Fatalf("listed since our deployment: %+v, want ours alone", list.ServiceDeployments)
	}
	all, err := c.ListServiceDeployments(ctx, &ecs.ListServiceDeploymentsInput{Cluster: aws.String("staging"), Service: aws.String("staging-service")})
	if err != nil || len(all.ServiceDeployments) != 2 {
		t.Fatalf("listed without a filter: %v, %v; want the previous and ours", all, err)
	}
	e.mu.Lock()
	later := e.now().Add(staleWindow)
	e.now = func() time.Time { return later } // the stale window passes
	e.mu.Unlock()
	if got := aws.ToString(svc().CurrentServiceDeployment); got == before {
		t.Fatalf("still named the previous %q after the stale window", got)
	}
}

// UpdateService naming a task definition needs iam:PassRole for its roles
// (the stricter reading, ecs_iam.go); forcing a new deployment of the
// current one does not.
func TestUpdateServiceWithATaskDefinitionPassesItsRoles(t *testing.T) {
	e, c, _ := clients(t)
	var asked []string
	e.SetAuthorizer(func(_ string, reqs []iam.Request) error {
		for _, r := range reqs {
			if r.Action == "iam:PassRole" {
				asked = append(asked, r.Resource)
				return errors.New("not authorized to perform: iam:PassRole on resource: " + r.Resource)
			}
		}
		return nil
	})
	_, err := c.UpdateService(t.Context(), &ecs.UpdateServiceInput{Cluster: aws.String("staging"), Service: aws.String("staging-service"), ForceNewDeployment: true})
	if err != nil || len(asked) != 0 {
		t.Fatalf("force new deployment: %v, PassRole asked for %v; want neither", err, asked)
	}
	_, err = c.UpdateService(t.Context(), &ecs.UpdateServiceInput{Cluster: aws.String("staging"), Service: aws.String("staging-service"), TaskDefinition: aws.String("app:1")})
	var ae smithy.APIError
	if !errors.As(err, &ae) || ae.ErrorCode() != "AccessDeniedException" || len(asked) == 0 {
		t.Fatalf("with a task definition: %v (asked %v), want AccessDenied on iam:PassRole", err, asked)
	}
}

// GetLogEvents may answer an empty page with a new backward token while
// events remain; the page asked for with that token has them, and the
// last page's token passed back ends the paging.
func TestAdversaryLogsEmptyPage(t *testing.T) {
	e := New(Account, Region)
	e.logs["/ecs/app"] = map[string][]logEvent{"app/app/abc": {{at: e.now().Add(-time.Minute), message: "goose: OK"}}}
	c := logsClient(t, e)
	adversarial(t, e, AdvLogsEmptyPage)
	in := &cloudwatchlogs.GetLogEventsInput{LogGroupName: aws.String("/ecs/app"), LogStreamName: aws.String("app/app/abc"), StartFromHead: aws.Bool(false)}
	first, err := c.GetLogEvents(t.Context(), in)
	if err != nil || len(first.Events) != 0 || aws.ToString(first.NextBackwardToken) == "" {
		t.Fatalf("first page: %v, %v; want empty with a token", first, err)
	}
	e.SetScenario(Scenario{})
	in.NextToken = first.NextBackwardToken
	second, err := c.GetLogEvents(t.Context(), in)
	if err != nil || len(second.Events) != 1 {
		t.Fatalf("page after the empty one: %v, %v; want the event", second, err)
	}
	in.NextToken = second.NextBackwardToken
	last, err := c.GetLogEvents(t.Context(), in)
	if err != nil || len(last.Events) != 0 || aws.ToString(last.NextBackwardToken) != aws.ToString(in.NextToken) {
		t.Fatalf("past the last page: %v, %v; want empty with the same token", last, err)
	}
	in.NextToken = aws.String("made-up")
	var ae smithy.APIError
	if _, err := c.GetLogEvents(t.Context(), in); !errors.As(err, &ae) || ae.ErrorCode() != "InvalidParameterException" {
		t.Fatalf("a token the emulator never gave: %v, want InvalidParameterException", err)
	}
}

// BatchGetImage takes only the documented acceptedMediaTypes here (the
// stricter reading), and the deployer's retag read copes with the refusal.
func TestBatchGetImageTakesTheDocumentedMediaTypes(t *testing.T) {
	_, _, r := clients(t)
	in := &ecr.BatchGetImageInput{RepositoryName: aws.String(Repository), ImageIds: []ecrtypes.ImageIdentifier{{ImageTag: aws.String("staging")}}}
	withIndexes := *in
	withIndexes.AcceptedMediaTypes = deploy.ManifestMediaTypes
	var ae smithy.APIError
	if _, err := r.BatchGetImage(t.Context(), &withIndexes); !errors.As(err, &ae) || ae.ErrorCode() != "InvalidParameterException" {
		t.Fatalf("index media types: %v, want InvalidParameterException", err)
	}
	out, err := deploy.GetManifest(t.Context(), r, in)
	if err != nil || len(out.Images) != 1 || aws.ToString(out.Images[0].ImageManifest) == "" {
		t.Fatalf("GetManifest: %v, %v; want the manifest", out, err)
	}
}

// RunTask without capacity, in both shapes ECS uses: a failures[] entry,
// or the error some capacity limits raise; nothing is started.
func TestAdversaryRunTaskCapacity(t *testing.T) {
	e, c, _ := clients(t)
	adversarial(t, e, AdvCapacity)
	shapes := map[string]bool{}
	for range 12 {
		out, err := c.RunTask(t.Context(), &ecs.RunTaskInput{Cluster: aws.String("staging"), TaskDefinition: aws.String("app:1"), LaunchType: ecstypes.LaunchTypeEc2})
		var ae smithy.APIError
		switch {
		case errors.As(err, &ae) && ae.ErrorCode() == "ClientException":
			shapes["error"] = true
		case err == nil && len(out.Tasks) == 0 && len(out.Failures) == 1 && aws.ToString(out.Failures[0].Reason) == "RESOURCE:MEMORY":
			shapes["failures"] = true
		default:
			t.Fatalf("RunTask: %+v, %v; want no capacity", out, err)
		}
	}
	if !shapes["error"] || !shapes["failures"] || e.TaskCount() != 0 {
		t.Fatalf("shapes %v, %d tasks; want both shapes and no task", shapes, e.TaskCount())
	}
}

// A StartDeployment retried after its deployment already failed adopts
// that deployment, not ECS's rollback of it (PRIMARY by then, and of the
// same task definition in tag mode), and starts nothing.
func TestRetriedStartDeploymentAdoptsItsOwnFailedDeployment(t *testing.T) {
	e, c, _ := clients(t)
	e.SetScenario(Scenario{Rollout: RolloutScript{Seconds: 0.05, Outcome: OutcomeRolledBack}})
	out, err := c.DescribeServices(t.Context(), &ecs.DescribeServicesInput{Cluster: aws.String("staging"), Services: []string{"staging-service"}})
	if err != nil {
		t.Fatal(err)
	}
	d := &deploy.Deployer{ECS: c, Tags: c}
	due := time.Now().Add(-time.Millisecond)
	s := deploy.State{Cluster: "staging", Service: "staging-service", Execution: deploy.Execution{Name: "retried"}}
	s.Launch.TaskDefinition, s.Deployment.NotBefore, s.Deployment.TimeoutSeconds = aws.ToString(out.Services[0].TaskDefinition), &due, 60
	first, err := d.StartDeployment(t.Context(), s)
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		out, err := c.DescribeServices(t.Context(), &ecs.DescribeServicesInput{Cluster: aws.String("staging"), Services: []string{"staging-service"}})
		if err != nil {
			t.Fatal(err)
		}
		var primary string
		for _, dep := range out.Services[0].Deployments {
			if aws.ToString(dep.Status) == "PRIMARY" {
				primary = aws.ToString(dep.Id)
			}
		}
		if primary != "" && primary != first.Deployment.ID {
			break // ECS's rollback is PRIMARY now
		}
		if time.Now().After(deadline) {
			t.Fatal("ECS did not roll the deployment back within 5 s")
		}
		time.Sleep(10 * time.Millisecond) // polling an observable condition, with a deadline
	}
	updates := len(e.Calls("UpdateService"))
	again, err := d.StartDeployment(t.Context(), s)
	if err != nil {
		t.Fatal(err)
	}
	if again.Deployment.ID != first.Deployment.ID || len(e.Calls("UpdateService")) != updates {
		t.Fatalf("the retry adopted %s (first %s) with %d more UpdateService; want its own, none", again.Deployment.ID, first.Deployment.ID, len(e.Calls("UpdateService"))-updates)
	}
}

// ListServiceDeployments may answer a short or empty page with a
// nextToken; paging on with it reaches every service deployment once.
func TestAdversaryListServiceDeploymentsShortPage(t *testing.T) {
	e, c, _ := clients(t)
	ctx := t.Context()
	for range 3 {
		if _, err := c.UpdateService(ctx, &ecs.UpdateServiceInput{Cluster: aws.String("staging"), Service: aws.String("staging-service"), ForceNewDeployment: true}); err != nil {
			t.Fatal(err)
		}
	}
	in := &ecs.ListServiceDeploymentsInput{Cluster: aws.String("staging"), Service: aws.String("staging-service")}
	all, err := c.ListServiceDeployments(ctx, in)
	if err != nil || all.NextToken != nil || len(all.ServiceDeployments) < 3 {
		t.Fatalf("kind list: %v, %v; want every deployment on one page", all, err)
	}
	// Half the pages short: at a rate of 1 the last item would never come.
	e.SetScenario(Scenario{Adversary: &AdversaryScript{Seed: 7, Rate: 0.5, Only: []string{AdvECSListShortPage}}})
	seen, short := map[string]bool{}, 0
	for page := 0; ; page++ {
		out, err := c.ListServiceDeployments(ctx, in)
		if err != nil || page > 20 {
			t.Fatalf("page %d: %v (paging does not end)", page, err)
		}
		for _, b := range out.ServiceDeployments {
			if seen[aws.ToString(b.ServiceDeploymentArn)] {
				t.Fatalf("%s listed twice", aws.ToString(b.ServiceDeploymentArn))
			}
			seen[aws.ToString(b.ServiceDeploymentArn)] = true
		}
		if out.NextToken == nil {
			break
		}
		short++
		in.NextToken = out.NextToken
	}
	if len(seen) != len(all.ServiceDeployments) || short == 0 {
		t.Fatalf("paged %d of %d deployments in %d short pages; want all, after at least one short page", len(seen), len(all.ServiceDeployments), short)
	}
}

// DescribeLogGroups lists by prefix in ASCII order; under the adversary a
// page may be short or empty with a nextToken, and paging on reaches every
// group once.
func TestDescribeLogGroupsPagesByPrefix(t *testing.T) {
	e, _, _ := clients(t)
	lg := logsClient(t, e)
	ctx := t.Context()
	for _, g := range []string{"/ecs/app-worker", "/ecs/app-web", "/other/app"} {
		e.CreateLogGroup(g)
	}
	list := func() ([]string, int) {
		var names []string
		pages := 0
		p := cloudwatchlogs.NewDescribeLogGroupsPaginator(lg, &cloudwatchlogs.DescribeLogGroupsInput{LogGroupNamePrefix: aws.String("/ecs/app"), Limit: aws.Int32(2)})
		for p.HasMorePages() {
			out, err := p.NextPage(ctx)
			if err != nil || pages > 20 {
				t.Fatalf("page %d: %v (paging does not end)", pages, err)
			}
			pages++
			for _, g := range out.LogGroups {
				names = append(names, aws.ToString(g.LogGroupName))
			}
		}
		return names, pages
	}
	want := []string{"/ecs/app", "/ecs/app-web", "/ecs/app-worker"}
	if got, pages := list(); !slices.Equal(got, want) || pages != 2 {
		t.Fatalf("kind listing = %v in %d pages; want %v in 2 (limit 2)", got, pages, want)
	}
	e.SetScenario(Scenario{Adversary: &AdversaryScript{Seed: 3, Rate: 0.5, Only: []string{AdvLogsShortPage}}})
	if got, pages := list(); !slices.Equal(got, want) || pages <= 2 {
		t.Fatalf("adversarial listing = %v in %d pages; want %v in more than 2", got, pages, want)
	}
}
