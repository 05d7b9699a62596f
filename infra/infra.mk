# Packaging and deployment (included by the Makefile). Stages differ only by parameters.
#   make package STAGE=dev                 -> out/sam.yaml + out/deployment.zip (chalice package, merged)
#   make deploy STAGE=dev DEPLOY_BUCKET=b  -> stack plugyard-dev (needs AWS credentials; stops otherwise)
#   make migrate STAGE=dev [MIGRATE=up|down|status]
STAGE ?= dev
OUT ?= out
DEPLOY_BUCKET ?=
ALARM_EMAIL ?=
LOG_LEVEL ?= INFO
MIGRATE ?= status

.PHONY: package deploy migrate

# infra/app.yaml is merged over infra/template.yaml, and the result is given to
#   AWS_DEFAULT_REGION=$${AWS_DEFAULT_REGION:-us-east-1} chalice package --stage $(STAGE) --merge-template <merged> $(OUT)/
package: $(STAMP)
	AWS_DEFAULT_REGION=$${AWS_DEFAULT_REGION:-us-east-1} $(BIN)/python -m infra.deploy package --stage $(STAGE) --out $(OUT)

# Checks credentials (STS, ~3 s timeout) before packaging; stops with one line and exit 2 without them.
deploy: $(STAMP)
	AWS_DEFAULT_REGION=$${AWS_DEFAULT_REGION:-us-east-1} $(BIN)/python -m infra.deploy deploy --stage $(STAGE) --out $(OUT) \
		--bucket "$(DEPLOY_BUCKET)" --alarm-email "$(ALARM_EMAIL)" --log-level $(LOG_LEVEL)

migrate: $(STAMP)
	PLUGYARD_STAGE=$(STAGE) $(BIN)/python -m chalicelib.cli migrate $(MIGRATE)
