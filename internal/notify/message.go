// Package notify tells people how a deployment ended: one message per
// execution, published to the stack's SNS topic in the custom-notification
// format that Amazon Q Developer in chat applications renders in Slack and
// Teams, with a plain-text body for email subscribers; and the execution's
// figures as CloudWatch metrics in Embedded Metric Format.
package notify

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/ecr-deployer/ecr-deployer/internal/deploy"
	"github.com/ecr-deployer/ecr-deployer/internal/history"
)

// Facts are what is known of an ended execution: the Step Functions status
// change event, the last document the workflow recorded, and its input.
type Facts struct {
	ExecutionARN string
	Name         string
	// Status is SUCCEEDED, FAILED, TIMED_OUT or ABORTED.
	Status      string
	Start, Stop time.Time
	Error       string
	Cause       string
	// State is the workflow's last recorded document; nil when the
	// execution ended before ResolveTarget (bad input).
	State *deploy.State
	// Request is the execution's input as the workflow reads it, when it
	// parses (an ECR push or a manual start).
	Request *deploy.Request
	// PushedAt is the ECR event's time for a push.
	PushedAt *time.Time
	Region   string
}

// Outcome names how the execution ended, for people and as the metrics'
// Outcome dimension: Deployed, Superseded or Duplicate (SUCCEEDED without
// deploying), Failed, TimedOut, Aborted.
func (f Facts) Outcome() string {
	switch f.Status {
	case "SUCCEEDED":
		if f.State != nil {
			switch f.State.Turn.Decision {
			case "SUPERSEDED":
				return "Superseded"
			case "DUPLICATE":
				return "Duplicate"
			}
		}
		return "Deployed"
	case "TIMED_OUT":
		return "TimedOut"
	case "ABORTED":
		return "Aborted"
	}
	return "Failed"
}

// Environment is the environment the execution was for, or "" when unknown.
func (f Facts) Environment() string {
	if f.State != nil && f.State.Environment != "" {
		return f.State.Environment
	}
	if f.Request != nil {
		if f.Request.Environment != "" {
			return f.Request.Environment
		}
		return f.Request.Tag // a push's tag names the environment by default
	}
	return ""
}

// ShouldPublish decides whether an ended execution is worth a message:
// every failure, time-out and abort; a deployment that succeeded only if its
// target asks for it (notifyOnSuccess); never an execution that deployed
// nothing because another one does (Superseded, Duplicate).
func ShouldPublish(f Facts, notifyOnSuccess bool) (bool, string) {
	switch f.Outcome() {
	case "Deployed":
		if notifyOnSuccess {
			return true, "deployed, and the target sets notifyOnSuccess"
		}
		return false, "deployed; the target does not set notifyOnSuccess"
	case "Superseded", "Duplicate":
		return false, strings.ToLower(f.Outcome()) + ": this execution deployed nothing"
	}
	return true, f.Outcome()
}

// Message is one notification in both of its forms.
type Message struct {
	// Subject is the email subject (SNS: under 100 characters, one line).
	Subject string
	// Chat is the Amazon Q Developer custom notification.
	Chat Chat
	// Text is the email body.
	Text string
}

// Chat is Amazon Q Developer in chat applications' custom notification
// ("version" 1.0, "source" custom; textType client-markdown is the only one).
// https://docs.aws.amazon.com/chatbot/latest/adminguide/custom-notifs.html
type Chat struct {
	Version  string       `json:"version"`
	Source   string       `json:"source"`
	ID       string       `json:"id,omitempty"`
	Content  ChatContent  `json:"content"`
	Metadata ChatMetadata `json:"metadata"`
}

// ChatContent is what the chat channel shows.
type ChatContent struct {
	TextType    string   `json:"textType"`
	Title       string   `json:"title"`
	Description string   `json:"description"`
	NextSteps   []string `json:"nextSteps,omitempty"`
	Keywords    []string `json:"keywords,omitempty"`
}

// ChatMetadata threads the notifications of one environment together.
type ChatMetadata struct {
	ThreadID          string            `json:"threadId,omitempty"`
	Summary           string            `json:"summary,omitempty"`
	EventType         string            `json:"eventType,omitempty"`
	RelatedResources  []string          `json:"relatedResources,omitempty"`
	AdditionalContext map[string]string `json:"additionalContext,omitempty"`
}

// chatCauseLimit bounds the cause in a chat message: the end of it, where
// a log tail's last lines are. Email carries it whole.
const chatCauseLimit = 1500

var icons = map[string]string{"Deployed": "✅", "Failed": "❌", "TimedOut": "⏱️", "Aborted": "⛔", "Superseded": "⏭️", "Duplicate": "⏭️"}

// Compose writes the notification of an ended execution.
func Compose(f Facts) Message {
	env := f.Environment()
	thread := "ecr-deployer-" + env
	if env == "" {
		env, thread = "unknown environment", "ecr-deployer-unknown"
	}
	outcome := f.Outcome()
	headline := map[string]string{
		"Deployed": "deployed", "Failed": "deployment failed", "TimedOut": "deployment timed out",
		"Aborted": "deployment stopped (aborted)", "Superseded": "superseded", "Duplicate": "duplicate",
	}[outcome]
	if f.Error != "" && outcome == "Failed" {
		headline += ": " + f.Error
	}
	title := fmt.Sprintf("%s %s: %s", icons[outcome], env, headline)
	subject := fmt.Sprintf("ecr-deployer: %s %s", env, headline)

	facts := f.lines()
	cause := history.CauseMessage(f.Cause)
	var chat, text strings.Builder
	writeFacts(&chat, &text, facts, 11)
	if cause != "" {
		fmt.Fprintf(&chat, "*Cause*\n```\n%s\n```\n", tail(cause, chatCauseLimit))
		fmt.Fprintf(&text, "\nCause:\n%s\n", cause)
	}
	console := deploy.ExecutionConsoleURL(f.Region, f.ExecutionARN)
	fmt.Fprintf(&chat, "<%s|Execution %s>", console, f.Name)
	fmt.Fprintf(&text, "\nExecution: %s\n%s\n", f.Name, console)

	steps := f.nextSteps(env)
	if len(steps) > 0 {
		text.WriteString("\nNext steps:\n")
		for _, s := range steps {
			fmt.Fprintf(&text, "  - %s\n", s)
		}
	}
	keywords := []string{env, outcome}
	if f.Error != "" {
		keywords = append(keywords, f.Error)
	}
	related := []string{f.ExecutionARN}
	if s := f.State; s != nil && s.Deployment.ServiceDeploymentARN != "" {
		related = append(related, s.Deployment.ServiceDeploymentARN)
	}
	if s := f.State; s != nil {
		for _, r := range s.Services {
			if r.Deployment.ServiceDeploymentARN != "" {
				related = append(related, r.Deployment.ServiceDeploymentARN)
			}
		}
	}
	extra := map[string]string{"environment": env, "outcome": outcome, "execution": f.ExecutionARN}
	if s := f.State; s != nil && s.Account != "" {
		extra["account"], extra["region"] = s.Account, s.Region
	}
	if d := f.digest(); d != "" {
		extra["digest"] = d
	}
	return Message{
		Subject: oneLine(subject, 99),
		Chat: Chat{Version: "1.0", Source: "custom", ID: f.ExecutionARN,
			Content: ChatContent{TextType: "client-markdown", Title: title, Description: chat.String(), NextSteps: steps, Keywords: keywords},
			Metadata: ChatMetadata{ThreadID: thread, Summary: title, EventType: "Deployment" + outcome,
				RelatedResources: related, AdditionalContext: extra}},
		Text: text.String(),
	}
}

// lines are the labelled facts, in reading order.
func (f Facts) lines() [][2]string {
	var out [][2]string
	add := func(k, v string) {
		if v != "" {
			out = append(out, [2]string{k, v})
		}
	}
	s := f.State
	if s != nil {
		img := s.Image
		add("Image", fmt.Sprintf("%s:%s @ %s", img.Repository, img.Tag, img.Digest))
		if len(s.Services) > 0 {
			add("Services", s.Cluster+"/"+strings.Join(s.ServiceNames(), ", "))
		} else {
			add("Service", s.Cluster+"/"+s.Service)
		}
		if s.Account != "" {
			// A target in another account or Region (docs/multi-account.md).
			add("Account", s.Account+", "+s.Region)
		}
	} else if r := f.Request; r != nil && r.Repository != "" {
		add("Image", fmt.Sprintf("%s:%s @ %s", r.Repository, r.Tag, r.Digest))
	}
	add("Trigger", f.trigger())
	status := f.Status
	if f.Error != "" {
		status += " (" + f.Error + ")"
	}
	add("Outcome", status)
	add("Took", f.took())
	if s != nil && s.Migration.TaskARN != "" {
		m := fmt.Sprintf("task %s", s.Migration.TaskARN[strings.LastIndex(s.Migration.TaskARN, "/")+1:])
		if s.Migration.ExitCode != nil {
			m += fmt.Sprintf(", exit code %d", *s.Migration.ExitCode)
		}
		add("Migration", m)
	}
	if s != nil && len(s.Services) > 0 {
		// Each service's outcome at the last look (a failure's cause says
		// how each one ended).
		progress := s.Deployment.Progress
		if f.Status != "SUCCEEDED" {
			progress += " (at the last look; the cause says how each ended)"
		}
		add("Deployments", progress)
	}
	if s != nil && s.Deployment.ID != "" {
		add("Deployment", strings.TrimSpace(s.Deployment.ID+" "+s.Deployment.RolloutState+" "+s.Deployment.Progress))
	}
	if s != nil && s.Turn.Guard != nil && s.Turn.Guard.Verdict == deploy.GuardOverridden {
		add("Guard", "overridden: "+s.Turn.Guard.Reason)
	}
	if a := f.approval(); a != "" {
		add("Approval", a)
	}
	return out
}

func (f Facts) trigger() string {
	var t deploy.Trigger
	switch {
	case f.State != nil && f.State.Trigger.Type != "":
		t = f.State.Trigger
	case f.Request != nil:
		t = f.Request.Trigger
	default:
		return ""
	}
	var line, by string
	switch t.Type {
	case "push":
		line = "push to ECR"
		if f.PushedAt != nil {
			line += " at " + f.PushedAt.UTC().Format(time.RFC3339)
		}
		if t.By != "" {
			by = ", promoted by " + t.By
		}
	case "rollback":
		line = "rollback"
		if f.State != nil && f.State.Rollback != nil && f.State.Rollback.By != "" {
			by = " by " + f.State.Rollback.By
		}
	default:
		line = "started by hand"
		if t.By != "" {
			by = " by " + t.By
		}
	}
	if by != "" {
		line += by
		if t.Verified != "" {
			line += " (verified by IAM)"
		}
	}
	if t.Reason != "" {
		line += ": " + t.Reason
	}
	return line
}

func (f Facts) took() string {
	if f.Stop.IsZero() || f.Start.IsZero() {
		return ""
	}
	line := human(f.Stop.Sub(f.Start))
	if f.State == nil {
		return line
	}
	p := f.State.Phases
	var parts []string
	for _, ph := range []struct {
		name string
		sec  float64
	}{{"queue", p.QueueSeconds}, {"migration", p.MigrationSeconds}, {"deployment", p.DeploymentSeconds}} {
		if ph.sec > 0 {
			parts = append(parts, ph.name+" "+human(time.Duration(ph.sec*float64(time.Second))))
		}
	}
	if len(parts) > 0 {
		line += " (" + strings.Join(parts, ", ") + ")"
	}
	return line
}

func (f Facts) approval() string {
	if f.State == nil || f.State.Approval == nil || f.State.Approval.Decision == nil {
		return ""
	}
	d := f.State.Approval.Decision
	line := map[bool]string{true: "approved", false: "rejected"}[d.Approved] + " by " + d.By
	if d.Verified != "" {
		line += " (verified by IAM)"
	}
	if !d.At.IsZero() {
		line += " at " + d.At.UTC().Format(time.RFC3339)
	}
	if d.Digest != "" {
		line += ", for " + d.Digest
	}
	if d.Reason != "" {
		line += ": " + d.Reason
	}
	return line
}

func (f Facts) digest() string {
	if f.State != nil && f.State.Image.Digest != "" {
		return f.State.Image.Digest
	}
	if f.Request != nil {
		return f.Request.Digest
	}
	return ""
}

// nextSteps say what a person can do now.
func (f Facts) nextSteps(env string) []string {
	switch f.Outcome() {
	case "Deployed":
		return []string{fmt.Sprintf("Read how it went: `deployer history %s`", f.Name)}
	case "Superseded", "Duplicate":
		return nil
	}
	steps := []string{fmt.Sprintf("Read the whole history: `deployer history %s`", f.Name)}
	switch f.Error {
	case "MigrationFailed", "MigrationTimedOut", "MigrationFailedToStart", "MigrationLost":
		steps = append(steps, "Fix the migration, then push the image again or run `deployer start "+env+" --follow`")
	case "DeploymentRolledBack", "DeploymentFailed", "DeploymentTimedOut":
		steps = append(steps, "ECS runs the previous revision; fix the image and push again, or `deployer rollback "+env+"` to pin the last good image")
	case "PromotionBlocked":
		steps = append(steps, "Deploy the image to the required environment first, or `deployer start "+env+" --override-guard --reason …`")
	case "Rejected", "ApprovalTimedOut":
		steps = append(steps, "Start it again when it may go: `deployer start "+env+" --follow`")
	default:
		steps = append(steps, "Start it again once fixed: `deployer start "+env+" --follow`")
	}
	return steps
}

// human writes a duration to the second, or to the tenth under ten seconds.
func human(d time.Duration) string {
	if d < 10*time.Second {
		return d.Round(100 * time.Millisecond).String()
	}
	return d.Round(time.Second).String()
}

// writeFacts writes labelled facts to the chat description (bold labels)
// and the email text (labels padded to width), leaving out empty ones.
func writeFacts(chat, text *strings.Builder, lines [][2]string, width int) {
	for _, l := range lines {
		if l[1] == "" {
			continue
		}
		fmt.Fprintf(chat, "*%s* %s\n", l[0], l[1])
		fmt.Fprintf(text, "%-*s %s\n", width, l[0]+":", l[1])
	}
}

// tail keeps the last n characters of s, from a line start where it can.
func tail(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	cut := string(r[len(r)-n:])
	if i := strings.IndexByte(cut, '\n'); i >= 0 && i < len(cut)-1 {
		cut = cut[i+1:]
	}
	return "…\n" + cut
}

// oneLine makes s fit an SNS subject: no control characters, at most n runes.
func oneLine(s string, n int) string {
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return ' '
		}
		return r
	}, s)
	if r := []rune(s); len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return s
}

// SNSMessage is the Message member of Publish with MessageStructure json:
// the chat notification for every protocol but email, which gets the text.
func (m Message) SNSMessage() (string, error) {
	chat, err := json.Marshal(m.Chat)
	if err != nil {
		return "", err
	}
	b, err := json.Marshal(map[string]string{"default": string(chat), "email": m.Text, "email-json": string(chat)})
	return string(b), err
}
