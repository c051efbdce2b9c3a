// Command approver-api is the deployer API's approver URL: approve, reject,
// continue at a pause hook, performed with the identity IAM authenticated
// (internal/api).
package main

import (
	"github.com/ecr-deployer/ecr-deployer/internal/api"
	"github.com/ecr-deployer/ecr-deployer/internal/awsconf"
)

func main() { awsconf.ServeAPI(api.Approver) }
