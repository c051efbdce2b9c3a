package localstack

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

// isSTS says whether a request is an STS Query call.
func isSTS(r *http.Request) bool {
	return r.Method == http.MethodPost && strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-www-form-urlencoded")
}

type callerIdentity struct {
	XMLName xml.Name `xml:"GetCallerIdentityResponse"`
	NS      string   `xml:"xmlns,attr"`
	Result  struct {
		Arn     string `xml:"Arn"`
		UserID  string `xml:"UserId"`
		Account string `xml:"Account"`
	} `xml:"GetCallerIdentityResult"`
	RequestID string `xml:"ResponseMetadata>RequestId"`
}

type stsError struct {
	XMLName xml.Name `xml:"ErrorResponse"`
	Type    string   `xml:"Error>Type"`
	Code    string   `xml:"Error>Code"`
	Message string   `xml:"Error>Message"`
}

func (s *Stack) serveSTS(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	form, _ := url.ParseQuery(string(body))
	w.Header().Set("Content-Type", "text/xml")
	if form.Get("Action") != "GetCallerIdentity" {
		w.WriteHeader(http.StatusBadRequest)
		_ = xml.NewEncoder(w).Encode(stsError{Type: "Sender", Code: "InvalidAction", Message: fmt.Sprintf("Could not find operation %s for version %s", form.Get("Action"), form.Get("Version"))})
		return
	}
	var out callerIdentity
	out.NS = "https://sts.amazonaws.com/doc/2011-06-15/"
	out.Result.Arn, out.Result.UserID, out.Result.Account = s.guard.identity(emulator.AccessKey(r)), emulator.AccessKey(r), emulator.Account
	out.RequestID = "00000000-0000-0000-0000-000000000000"
	_ = xml.NewEncoder(w).Encode(out)
}

// identity is the ARN a caller's access key stands for: a function's role
// session, the operator, or an administrator.
func (g *guard) identity(key string) string {
	switch {
	case g == nil:
	case key == OperatorAccessKey:
		return "arn:aws:iam::" + emulator.Account + ":user/operator"
	case g.names[key] != "":
		return fmt.Sprintf("arn:aws:sts::%s:assumed-role/%s/%s", emulator.Account, g.roles[key].Role, g.names[key])
	}
	return "arn:aws:iam::" + emulator.Account + ":user/admin"
}
