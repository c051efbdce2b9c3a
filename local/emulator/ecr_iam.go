package emulator

import "github.com/ecr-deployer/ecr-deployer/local/iam"

// ecrAuthz is what IAM evaluates for each ECR operation served: the action
// on the repository.
// https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonelasticcontainerregistry.html
var ecrAuthz = map[string]func(e *Emulator, r request) []iam.Request{
	"DescribeImages":      onRepository("ecr:DescribeImages"),
	"BatchGetImage":       onRepository("ecr:BatchGetImage"),
	"PutImage":            onRepository("ecr:PutImage"),
	"GetRepositoryPolicy": onRepository("ecr:GetRepositoryPolicy"),
}

func onRepository(action string) func(e *Emulator, r request) []iam.Request {
	return func(e *Emulator, r request) []iam.Request {
		account := e.Account
		if id := r.str("registryId"); id != "" {
			account = id
		}
		return []iam.Request{{Action: action, Resource: "arn:aws:ecr:" + e.Region + ":" + account + ":repository/" + r.str("repositoryName")}}
	}
}
