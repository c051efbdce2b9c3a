// Command promoter-api is the deployer API's promoter URL: promote, start,
// rollback, performed with the identity IAM authenticated (internal/api).
package main

import (
	"github.com/ecr-deployer/ecr-deployer/internal/api"
	"github.com/ecr-deployer/ecr-deployer/internal/awsconf"
)

func main() { awsconf.ServeAPI(api.Promoter) }
