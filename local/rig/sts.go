package rig

import (
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/ecr-deployer/ecr-deployer/local/emulator"
)

// STS's GetCallerIdentity, which the CLI calls to record who answered a
// pause hook or asked for a rollback. It is the AWS Query protocol (a form
// POST, an XML answer); "No permissions are required to perform this
// operation", so IAM does not evaluate it.
// https://docs.aws.amazon.com/STS/latest/APIReference/API_GetCallerIdentity.html

// isQuery says whether a request is an AWS Query protocol call (STS,
// CloudFormation, SNS).
func isQuery(r *http.Request) bool {
	return r.Method == http.MethodPost && strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-www-form-urlencoded")
}

// serveQuery dispatches a Query call on its Action.
func (s *Stack) serveQuery(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	form, _ := url.ParseQuery(string(body))
	switch form.Get("Action") {
	case "GetCallerIdentity":
		s.getCallerIdentity(w, r)
	case "AssumeRole":
		if s.Emulator.Adversary().Roll(emulator.AdvThrottle) {
			// STS limits its request rate per account and Region (IAM
			// and STS quotas) and answers "Throttling", which the SDK's
			// retryer takes as throttling.
			queryError(w, http.StatusBadRequest, "Throttling", "Rate exceeded")
			return
		}
		s.assumeRole(w, r, form)
	case "DescribeStacks":
		s.describeStacks(w, r, form)
	case "ListStackResources", "SimulatePrincipalPolicy":
		if s.Emulator.Adversary().Roll(emulator.AdvThrottle) {
			// IAM and CloudFormation throttle per account too, answering
			// the code "Throttling" (the SDK's standard retryer retries it).
			queryError(w, http.StatusBadRequest, "Throttling", "Rate exceeded")
			return
		}
		if form.Get("Action") == "ListStackResources" {
			s.listStackResources(w, r, form)
			return
		}
		s.simulatePrincipalPolicy(w, r, form)
	default:
		if emulator.ServesQuery(form.Get("Action")) {
			if s.Emulator.Adversary().Roll(emulator.AdvThrottle) {
				// SNS: "ThrottledException … the rate at which requests have
				// been submitted for this action exceeds the limit" (code Throttled).
				queryError(w, http.StatusBadRequest, "Throttled", "Rate exceeded")
				return
			}
			s.Emulator.ServeQuery(w, r, form)
			return
		}
		queryError(w, http.StatusBadRequest, "InvalidAction", fmt.Sprintf("Could not find operation %s for version %s", form.Get("Action"), form.Get("Version")))
	}
}

func queryError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "text/xml")
	w.WriteHeader(status)
	_ = xml.NewEncoder(w).Encode(stsError{Type: "Sender", Code: code, Message: msg})
}

type callerIdentity struct {
	XMLName xml.Name `xml:"GetCallerIdentityResponse"`
	NS      string   `xml:"xmlns,attr"`
	Result  struct {
		ARN     string `xml:"Arn"`
		UserID  string `xml:"UserId"`
		Account string `xml:"Account"`
	} `xml:"GetCallerIdentityResult"`
	RequestID string `xml:"ResponseMetadata>RequestId"`
}

// stsError is the Query protocol's error document (STS, CloudFormation).
type stsError struct {
	XMLName xml.Name `xml:"ErrorResponse"`
	Type    string   `xml:"Error>Type"`
	Code    string   `xml:"Error>Code"`
	Message string   `xml:"Error>Message"`
}

func (s *Stack) getCallerIdentity(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/xml")
	var out callerIdentity
	out.NS = "https://sts.amazonaws.com/doc/2011-06-15/"
	out.Result.ARN, out.Result.UserID = s.callerARN(emulator.AccessKey(r)), emulator.AccessKey(r)
	out.Result.Account = accountOf(out.Result.ARN)
	out.RequestID = "00000000-0000-0000-0000-000000000000"
	_ = xml.NewEncoder(w).Encode(out)
}

// identity is the ARN a caller's access key stands for: a function's role
// session, the operator, or an administrator.
func (g *guard) identity(key string) string {
	switch {
	case g == nil:
	case people[key].name != "":
		return PersonARN(key)
	case g.pol().names[key] != "":
		return fmt.Sprintf("arn:aws:sts::%s:assumed-role/%s/%s", emulator.Account, roleName(g.pol().roles[key].Role), g.pol().names[key])
	}
	return "arn:aws:iam::" + emulator.Account + ":user/admin"
}
