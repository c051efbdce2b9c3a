// Package ecrdeployer holds the files every part of ecr-deployer reads the same
// bytes of: the target configuration (targets.json).
package ecrdeployer

import _ "embed"

// TargetsJSON is targets.json, compiled into the Lambdas and read by the CDK app.
//
//go:embed targets.json
var TargetsJSON []byte
