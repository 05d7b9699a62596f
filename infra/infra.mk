# Packaging and deployment (included by the Makefile). Stages differ only by parameters.
#   make package STAGE=dev                 -> out/sam.yaml + out/deployment.zip (chalice package, merged)
#   make deploy STAGE=dev DEPLOY_BUCKET=b  -> stack plugyard-dev (needs AWS credentials; stops otherwise)
#   make migrate STAGE=dev [MIGRATE=up|down|status]
#   make smoke STAGE=dev [API=https://…/api]  -> publish → approve → install → invoke → event → webhook
#   make workspace STAGE=dev WORKSPACE=acme NAME=Acme [PUBLISHER=acme] [ROLE=reviewer] [ENDPOINT=http://127.0.0.1:4566]
STAGE ?= dev
OUT ?= out
DEPLOY_BUCKET ?=
ALARM_EMAIL ?=
LOG_LEVEL ?= INFO
AI_MODEL ?= amazon.nova-micro-v1:0
MIGRATE ?= status

.PHONY: package deploy migrate smoke workspace

# infra/app.yaml is merged over infra/template.yaml, and the result is given to
#   AWS_DEFAULT_REGION=$${AWS_DEFAULT_REGION:-us-east-1} chalice package --stage $(STAGE) --merge-template <merged> $(OUT)/
package: $(STAMP)
	AWS_DEFAULT_REGION=$${AWS_DEFAULT_REGION:-us-east-1} $(BIN)/python -m infra.deploy package --stage $(STAGE) --out $(OUT)

# Checks credentials (STS, ~3 s timeout) before packaging; stops with one line and exit 2 without them.
deploy: $(STAMP)
	AWS_DEFAULT_REGION=$${AWS_DEFAULT_REGION:-us-east-1} $(BIN)/python -m infra.deploy deploy --stage $(STAGE) --out $(OUT) \
		--bucket "$(DEPLOY_BUCKET)" --alarm-email "$(ALARM_EMAIL)" --log-level $(LOG_LEVEL) \
		--ai-model "$(AI_MODEL)"

migrate: $(STAMP)
	PLUGYARD_STAGE=$(STAGE) $(BIN)/python -m chalicelib.cli migrate $(MIGRATE)

# The main flow over HTTP against a deployed stack (API defaults to the stack's EndpointURL output); needs
# PLUGYARD_SMOKE_ADMIN_KEY (a publisher workspace's admin), PLUGYARD_SMOKE_REVIEWER_KEY, PLUGYARD_SMOKE_WEBHOOK_URL.
API ?=
smoke: $(STAMP)
	AWS_DEFAULT_REGION=$${AWS_DEFAULT_REGION:-us-east-1} $(BIN)/python -m infra.smoke --stage $(STAGE) --api "$(API)"

# A workspace and its first key, printed once (operator action, audited). ENDPOINT points at make run's moto
# server (its banner's "Local AWS"); without it the stage's AWS account is used (its credentials).
WORKSPACE ?=
NAME ?=
PUBLISHER ?=
ROLE ?= admin
ENDPOINT ?=
workspace: $(STAMP)
	@test -n "$(WORKSPACE)" -a -n "$(NAME)" || { echo "usage: make workspace WORKSPACE=<id> NAME=<display name> [PUBLISHER=<id>] [ROLE=admin|reviewer] [STAGE=dev] [ENDPOINT=<local AWS>]"; exit 2; }
	PLUGYARD_STAGE=$(STAGE) $(if $(ENDPOINT),PLUGYARD_AWS_ENDPOINT_URL=$(ENDPOINT)) $(BIN)/python -m chalicelib.cli \
		workspace create "$(WORKSPACE)" --name "$(NAME)" $(if $(PUBLISHER),--publisher "$(PUBLISHER)") --role "$(ROLE)" $(if $(JSON),--json)
