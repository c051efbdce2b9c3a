package rig

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/ecr-deployer/ecr-deployer/local/emulator"
	"github.com/ecr-deployer/ecr-deployer/local/iam"
)

// The deployer API's function URLs (AuthType AWS_IAM), as Lambda serves
// them: the request must be signed with Signature Version 4 for the service
// "lambda" by a known access key with its secret; IAM then evaluates
// lambda:InvokeFunctionUrl (condition lambda:FunctionUrlAuthType) for the
// key's principal; only then does the function run, with the caller's
// identity in requestContext.authorizer.iam. A refusal is 403 Forbidden
// before the function runs, as Lambda answers it.
// https://docs.aws.amazon.com/lambda/latest/dg/urls-auth.html
// https://docs.aws.amazon.com/lambda/latest/dg/urls-invocation.html#urls-payloads

// urlPrefix is the path the local stack serves function URLs under:
// <Endpoint>/lambda-url/<function name>/.
const urlPrefix = "/lambda-url/"

// SecretOf is the secret access key of a person's access key in the local
// stack (OperatorAccessKey, ApproverAccessKey, …): the function URLs verify
// each signature with it, so a request signed with another secret is
// refused.
func SecretOf(key string) string { return "local-secret-" + key }

var authorization = regexp.MustCompile(`^AWS4-HMAC-SHA256 Credential=([^/]+)/(\d{8})/([^/]+)/([^/]+)/aws4_request, ?SignedHeaders=([^,]+), ?Signature=([0-9a-f]{64})$`)

// verifySigV4 checks a request's signature and returns its access key.
func verifySigV4(r *http.Request, body []byte, service, region string, now time.Time) (string, error) {
	m := authorization.FindStringSubmatch(r.Header.Get("Authorization"))
	if m == nil {
		return "", fmt.Errorf("missing or malformed Authorization header")
	}
	key, date, reqRegion, reqService, signed, signature := m[1], m[2], m[3], m[4], m[5], m[6]
	if reqService != service || reqRegion != region {
		return "", fmt.Errorf("credential scope %s/%s, want %s/%s", reqRegion, reqService, region, service)
	}
	at, err := time.Parse("20060102T150405Z", r.Header.Get("X-Amz-Date"))
	if err != nil || !strings.HasPrefix(r.Header.Get("X-Amz-Date"), date) {
		return "", fmt.Errorf("X-Amz-Date %q does not match the credential scope", r.Header.Get("X-Amz-Date"))
	}
	// "Signature expired": AWS takes a request within 15 minutes of its time.
	if d := now.Sub(at); d > 15*time.Minute || d < -15*time.Minute {
		return "", fmt.Errorf("signature expired: %s is more than 15 minutes from now", at.Format(time.RFC3339))
	}
	sum := sha256.Sum256(body)
	payload := hex.EncodeToString(sum[:])
	if h := r.Header.Get("X-Amz-Content-Sha256"); h != "" && h != payload && h != "UNSIGNED-PAYLOAD" {
		return "", fmt.Errorf("X-Amz-Content-Sha256 does not match the body")
	}
	again, _ := http.NewRequest(r.Method, "http://"+r.Host+r.URL.RequestURI(), bytes.NewReader(body))
	for _, h := range strings.Split(signed, ";") {
		if h != "host" {
			again.Header[http.CanonicalHeaderKey(h)] = r.Header.Values(h)
		}
	}
	again.Host = r.Host
	again.Header.Del("Authorization")
	creds := aws.Credentials{AccessKeyID: key, SecretAccessKey: SecretOf(key)}
	if err := v4.NewSigner().SignHTTP(context.Background(), creds, again, payload, service, region, at); err != nil {
		return "", err
	}
	if got := authorization.FindStringSubmatch(again.Header.Get("Authorization")); got == nil || got[6] != signature || got[5] != signed {
		return "", fmt.Errorf("the request signature we calculated does not match the signature you provided")
	}
	return key, nil
}

// serveFunctionURL answers a request to a function URL.
func (s *Stack) serveFunctionURL(w http.ResponseWriter, r *http.Request) {
	name := strings.Trim(strings.TrimPrefix(r.URL.Path, urlPrefix), "/")
	forbidden := func(why string) {
		if why != "" {
			s.guard.mu.Lock()
			s.guard.denied = append(s.guard.denied, "function URL "+name+": "+why)
			s.guard.mu.Unlock()
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusForbidden)
		_, _ = io.WriteString(w, `{"Message":"Forbidden"}`)
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	key, err := verifySigV4(r, body, "lambda", emulator.Region, time.Now())
	if err != nil {
		forbidden(err.Error())
		return
	}
	arn := fmt.Sprintf("arn:aws:lambda:%s:%s:function:%s", emulator.Region, emulator.Account, name)
	if err := s.guard.authorize(key, []iam.Request{{Action: "lambda:InvokeFunctionUrl", Resource: arn,
		Context: map[string]string{"lambda:FunctionUrlAuthType": "AWS_IAM"}}}); err != nil {
		forbidden("") // the guard recorded it
		return
	}
	headers := map[string]string{}
	for k := range r.Header {
		headers[strings.ToLower(k)] = r.Header.Get(k)
	}
	event, _ := json.Marshal(events.LambdaFunctionURLRequest{
		Version: "2.0", RawPath: "/", RawQueryString: r.URL.RawQuery, Headers: headers, Body: string(body),
		RequestContext: events.LambdaFunctionURLRequestContext{
			AccountID: emulator.Account, RequestID: fmt.Sprintf("%d", time.Now().UnixNano()), DomainName: r.Host,
			HTTP: events.LambdaFunctionURLRequestContextHTTPDescription{Method: r.Method, Path: "/", Protocol: "HTTP/1.1"},
			Authorizer: &events.LambdaFunctionURLRequestContextAuthorizerDescription{IAM: &events.LambdaFunctionURLRequestContextAuthorizerIAMDescription{
				AccessKey: key, AccountID: emulator.Account, CallerID: key, UserARN: s.guard.identity(key), UserID: key}},
		},
	})
	rec := httptest.NewRecorder()
	s.invoke(rec, httptest.NewRequest(http.MethodPost, "/lambda/"+name, bytes.NewReader(event)))
	var out events.LambdaFunctionURLResponse
	if rec.Code != http.StatusOK || rec.Header().Get("X-Amz-Function-Error") != "" || json.Unmarshal(rec.Body.Bytes(), &out) != nil || out.StatusCode == 0 {
		// Lambda answers a function error or an unreadable response so.
		w.WriteHeader(http.StatusBadGateway)
		_, _ = io.WriteString(w, `{"Message":"Internal Server Error"}`)
		return
	}
	for k, v := range out.Headers {
		w.Header().Set(k, v)
	}
	w.WriteHeader(out.StatusCode)
	_, _ = io.WriteString(w, out.Body)
}
