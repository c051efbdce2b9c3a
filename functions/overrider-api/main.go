// Command overrider-api is the deployer API's overrider URL: deployments
// started with overrides (past the promotion guard, outside the deployment
// windows, without the migration), as the identity IAM authenticated
// (internal/api).
package main

import (
	"github.com/ecr-deployer/ecr-deployer/internal/api"
	"github.com/ecr-deployer/ecr-deployer/internal/awsconf"
)

func main() { awsconf.ServeAPI(api.Overrider) }
