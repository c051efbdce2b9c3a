package cli

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/ecr-deployer/ecr-deployer/internal/api"
)

// The deployer API: a person's decision goes to the function URL of their
// duty (the stack's ApproverApiUrl or PromoterApiUrl output), signed with
// Signature Version 4 for the service "lambda" with the caller's
// credentials. Lambda authenticates the signature and evaluates
// lambda:InvokeFunctionUrl before the function runs; the function records
// the identity IAM established, not one the CLI says.
// https://docs.aws.amazon.com/lambda/latest/dg/urls-invocation.html

// apiURLs names each capability's stack output.
var apiURLs = map[api.Capability]string{api.Approver: "ApproverApiUrl", api.Promoter: "PromoterApiUrl", api.Overrider: "OverriderApiUrl"}

// startAttempts bounds how often a start is sent: again after a lost
// answer or a throttled or failed call, with the same token and time, so
// that the API starts one execution however often it arrives.
const startAttempts = 3

// startThroughAPI sends a start (or a redeploy) to the capability's URL,
// again on a transient failure with the same request.
func (a *App) startThroughAPI(ctx context.Context, c api.Capability, req api.Request) (api.Answer, error) {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	req.Token, req.RequestedAt = hex.EncodeToString(b), a.Now().UTC()
	var err error
	for attempt := 1; ; attempt++ {
		var ans api.Answer
		ans, err = a.callAPI(ctx, c, req)
		if err == nil || attempt == startAttempts || !transient(err) {
			return ans, err
		}
		select {
		case <-ctx.Done():
			return api.Answer{}, err
		case <-time.After(time.Duration(attempt) * a.Poll):
		}
	}
}

// transient says whether a call may succeed sent again: no answer came, or
// Lambda throttled or failed (429, 5xx); a refusal (4xx) stands.
func transient(err error) bool {
	var e *apiError
	if errors.As(err, &e) {
		return e.status == http.StatusTooManyRequests || e.status >= http.StatusInternalServerError
	}
	var c *callError
	return errors.As(err, &c)
}

// callError is a call that got no answer.
type callError struct{ err error }

func (e *callError) Error() string { return e.err.Error() }
func (e *callError) Unwrap() error { return e.err }

// apiError is a refusal of the deployer API.
type apiError struct {
	status int
	body   api.Error
}

func (e *apiError) Error() string { return e.body.Message }

// callAPI sends one request to the capability's URL and decodes its answer.
func (a *App) callAPI(ctx context.Context, c api.Capability, req api.Request) (api.Answer, error) {
	if err := a.connect(ctx); err != nil {
		return api.Answer{}, err
	}
	outputs, err := a.stackOutputs(ctx)
	if err != nil {
		return api.Answer{}, err
	}
	url := outputs[apiURLs[c]]
	if url == "" {
		return api.Answer{}, fmt.Errorf("stack %s has no %s output: deploy this release of the stack (make deploy), whose deployer API records who decides", a.global.stack, apiURLs[c])
	}
	body, _ := json.Marshal(req)
	httpReq, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return api.Answer{}, err
	}
	httpReq.Header.Set("Content-Type", "application/json")
	creds, err := a.creds.Retrieve(ctx)
	if err != nil {
		return api.Answer{}, fmt.Errorf("read your AWS credentials to sign the request: %w", err)
	}
	sum := sha256.Sum256(body)
	payload := hex.EncodeToString(sum[:])
	httpReq.Header.Set("X-Amz-Content-Sha256", payload)
	if err := v4.NewSigner().SignHTTP(ctx, creds, httpReq, payload, "lambda", a.region, a.Now().UTC()); err != nil {
		return api.Answer{}, fmt.Errorf("sign the request: %w", err)
	}
	resp, err := a.httpClient().Do(httpReq)
	if err != nil {
		return api.Answer{}, &callError{fmt.Errorf("call the deployer API (%s): %w", apiURLs[c], err)}
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode != http.StatusOK {
		e := &apiError{status: resp.StatusCode}
		if json.Unmarshal(b, &e.body) != nil || e.body.Code == "" {
			e.body.Code, e.body.Message = http.StatusText(resp.StatusCode), fmt.Sprintf("the deployer API answered %d %s", resp.StatusCode, bytes.TrimSpace(b))
		}
		if resp.StatusCode == http.StatusForbidden && e.body.Code == http.StatusText(http.StatusForbidden) {
			e.body.Code = "AccessDenied"
			e.body.Message = fmt.Sprintf("AccessDenied: your IAM identity may not call the %s API (lambda:InvokeFunctionUrl on its function, which the stack's %sPolicy grants)", c, capitalized(string(c)))
		}
		return api.Answer{}, e
	}
	var ans api.Answer
	if err := json.Unmarshal(b, &ans); err != nil {
		return api.Answer{}, fmt.Errorf("read the deployer API's answer: %w", err)
	}
	return ans, nil
}

func capitalized(s string) string {
	if s == "" {
		return s
	}
	return string(s[0]-'a'+'A') + s[1:]
}

// isAPIError says whether err is the API's refusal with that code.
func isAPIError(err error, code string) bool {
	var e *apiError
	return errors.As(err, &e) && e.body.Code == code
}

func (a *App) httpClient() *http.Client {
	if a.HTTP != nil {
		return a.HTTP
	}
	return http.DefaultClient
}
