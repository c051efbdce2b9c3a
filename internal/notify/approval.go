package notify

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sns"

	"github.com/ecr-deployer/ecr-deployer/internal/deploy"
)

// ComposeApproval writes the notice that a deployment waits for a person's
// approval: what would deploy, why it may (the promotion guard's evidence),
// until when it waits, and the commands that answer it.
func ComposeApproval(s deploy.State, since time.Time, region string) Message {
	env := s.Environment
	deadline := ""
	if s.Approval != nil && s.Approval.TimeoutSeconds > 0 {
		deadline = since.Add(time.Duration(s.Approval.TimeoutSeconds) * time.Second).UTC().Format(time.RFC3339)
	}
	f := Facts{ExecutionARN: s.Execution.ID, Name: s.Execution.Name, State: &s, Region: region}
	lines := [][2]string{
		{"Image", fmt.Sprintf("%s:%s @ %s", s.Image.Repository, s.Image.Tag, s.Image.Digest)},
		{"Service", s.Cluster + "/" + s.Service},
		{"Trigger", f.trigger()},
	}
	if g := s.Turn.Guard; g != nil {
		lines = append(lines, [2]string{"Guard", g.Verdict + ": " + g.Reason})
	}
	if deadline != "" {
		lines = append(lines, [2]string{"Waits until", deadline + " (then it ends ApprovalTimedOut and nothing runs)"})
	}
	var chat, text strings.Builder
	writeFacts(&chat, &text, lines, 12)
	console := deploy.ExecutionConsoleURL(region, s.Execution.ID)
	fmt.Fprintf(&chat, "<%s|Execution %s>", console, s.Execution.Name)
	steps := []string{
		fmt.Sprintf("Approve: `deployer approve %s --reason …`", env),
		fmt.Sprintf("Reject: `deployer reject %s --reason …`", env),
	}
	fmt.Fprintf(&text, "\nExecution: %s\n%s\n\nAnswer with one of:\n  - %s\n  - %s\n", s.Execution.Name, console, steps[0], steps[1])
	title := fmt.Sprintf("⏸️ %s: waiting for approval", env)
	return Message{
		Subject: oneLine("ecr-deployer: "+env+" waits for approval", 99),
		Chat: Chat{Version: "1.0", Source: "custom", ID: s.Execution.ID + "/approval",
			Content: ChatContent{TextType: "client-markdown", Title: title, Description: chat.String(), NextSteps: steps, Keywords: []string{env, "approval"}},
			Metadata: ChatMetadata{ThreadID: "ecr-deployer-" + env, Summary: title, EventType: "DeploymentAwaitingApproval",
				RelatedResources: []string{s.Execution.ID}, AdditionalContext: map[string]string{"environment": env, "digest": s.Image.Digest, "execution": s.Execution.ID}}},
		Text: text.String(),
	}
}

// Publisher publishes messages to the notification topic.
type Publisher struct {
	SNS      PublishAPI
	TopicARN string
	Region   string
}

// AwaitingApproval publishes the notice that an execution waits for approval.
func (p *Publisher) AwaitingApproval(ctx context.Context, s deploy.State, since time.Time) error {
	_, err := p.Publish(ctx, ComposeApproval(s, since, p.Region))
	return err
}

// Publish sends a message: the chat notification for every protocol but
// email, which gets the text.
func (p *Publisher) Publish(ctx context.Context, m Message) (string, error) {
	body, err := m.SNSMessage()
	if err != nil {
		return "", err
	}
	out, err := p.SNS.Publish(ctx, &sns.PublishInput{
		TopicArn: aws.String(p.TopicARN), Subject: aws.String(m.Subject),
		MessageStructure: aws.String("json"), Message: aws.String(body),
	})
	if err != nil {
		return "", fmt.Errorf("publish to %s: %w", p.TopicARN, err)
	}
	return aws.ToString(out.MessageId), nil
}
