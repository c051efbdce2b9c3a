package emulator

import (
	"fmt"
	"net/http"
	"regexp"
	"strings"

	"github.com/ecr-deployer/ecr-deployer/local/iam"
)

// Authorizer decides whether the caller with an access key may make the
// IAM requests a call amounts to; a non-nil error refuses the call with
// AccessDeniedException and the error's text.
type Authorizer func(accessKey string, reqs []iam.Request) error

// SetAuthorizer makes the emulator ask a before serving each request.
func (e *Emulator) SetAuthorizer(a Authorizer) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.authorize = a
}

var credential = regexp.MustCompile(`Credential=([^/]+)/`)

// AccessKey is the access key ID a SigV4-signed request names.
func AccessKey(r *http.Request) string {
	if m := credential.FindStringSubmatch(r.Header.Get("Authorization")); m != nil {
		return m[1]
	}
	return ""
}

// authzFor is what IAM evaluates for each served operation (Service
// Authorization Reference: the action's resource type and condition keys;
// local/iam's test checks these against it).
var authzFor = map[string]func(e *Emulator, r request) []iam.Request{}

// keyAuthzFor is what IAM evaluates of the caller for the KMS key a
// service uses on its behalf (an encrypted topic's): a denial is the
// service's KMS error, not its own AccessDenied.
var keyAuthzFor = map[string]func(e *Emulator, r request) []iam.Request{}

// deniedCode is the error code each service answers an IAM denial with.
var deniedCode = map[string]string{"sns": "AuthorizationError"}

// keyDeniedCode is the error code each service answers a KMS denial with.
var keyDeniedCode = map[string]string{"sns": "KMSAccessDenied"}

func init() {
	for op, f := range ecsAuthz {
		authzFor["ecs:"+op] = f
	}
	for op, f := range ecrAuthz {
		authzFor["ecr:"+op] = f
	}
	for op, f := range logsAuthz {
		authzFor["logs:"+op] = f
	}
	for op, f := range snsAuthz {
		authzFor["sns:"+op] = f
	}
	for op, f := range dynamodbAuthz {
		authzFor["dynamodb:"+op] = f
	}
	for op, f := range snsKMSAuthz {
		keyAuthzFor["sns:"+op] = f
	}
}

func (e *Emulator) arn(service, resource string) string {
	return fmt.Sprintf("arn:aws:%s:%s:%s:%s", service, e.Region, e.Account, resource)
}

// clusterARN is a cluster's ARN from its name or ARN ("default" when empty).
func (e *Emulator) clusterARN(ref string) string {
	if ref == "" {
		ref = "default"
	}
	if strings.HasPrefix(ref, "arn:") {
		return ref
	}
	return e.arn("ecs", "cluster/"+ref)
}

// shortName is the last part of a name or ARN.
func shortName(ref string) string { return ref[strings.LastIndex(ref, "/")+1:] }

func onCluster(action, resource, cluster string) iam.Request {
	return iam.Request{Action: action, Resource: resource, Context: map[string]string{"ecs:cluster": cluster}}
}

func passRoles(roles ...string) []iam.Request {
	var out []iam.Request
	for _, r := range roles {
		if r != "" {
			out = append(out, iam.Request{Action: "iam:PassRole", Resource: r, Context: map[string]string{"iam:PassedToService": "ecs-tasks.amazonaws.com"}})
		}
	}
	return out
}
