# neo4j-backup-operator — see README.md. The two commands for a fresh machine:
#   make demo   the cluster in a box, up until Ctrl-C
#   make test   every test (what .ci/run runs)

SHELL := /usr/bin/env bash
.SHELLFLAGS := -euo pipefail -c

CONTROLLER_GEN := go tool -modfile=hack/tools/dev/go.mod controller-gen
# Generated files: deep-copy functions, the CRD and RBAC manifests, and the chart's copies of them.
CHART := charts/neo4j-backup-operator
GENERATED := api/v1alpha1/zz_generated.deepcopy.go config/crd/bases config/rbac/role.yaml $(CHART)/crds $(CHART)/files/manager-role.yaml $(CHART)/Chart.yaml config/argocd/argocd-cm.yaml

.PHONY: help
help: ## Show the targets.
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-18s %s\n", $$1, $$2}'

.PHONY: generate
generate: ## Generate deep-copy functions from api/.
	$(CONTROLLER_GEN) object:headerFile=hack/boilerplate.go.txt paths=./api/...

.PHONY: manifests
manifests: ## Generate the CRDs (config/crd/bases) and RBAC (config/rbac/role.yaml) from markers, the chart's copies and Artifact Hub annotations, and config/argocd/argocd-cm.yaml.
	$(CONTROLLER_GEN) crd rbac:roleName=manager-role paths=./api/... paths=./controllers/... \
		output:crd:artifacts:config=config/crd/bases output:rbac:artifacts:config=config/rbac
	@rm -f config/crd/bases/.gitkeep
	@rm -f $(CHART)/crds/*.yaml && cp config/crd/bases/*.yaml $(CHART)/crds/
	@go run ./hack/argocd-cm
	@go run ./hack/chart-annotations
	@cp config/rbac/role.yaml $(CHART)/files/manager-role.yaml

.PHONY: verify-generated
verify-generated: generate manifests ## Fail when generated files differ from what git holds (committed or staged).
	@stale=$$( { git diff --name-only -- $(GENERATED); git ls-files --others --exclude-standard -- $(GENERATED); } ); \
	if [ -n "$$stale" ]; then echo "$$stale"; git --no-pager diff --stat -- $(GENERATED); \
		echo "generated files are stale: run 'make generate manifests' and commit the result" >&2; exit 1; fi

.PHONY: fmt
fmt: ## gofmt the tree.
	gofmt -w $$(git ls-files '*.go')

.PHONY: vet
vet: ## go vet, and fail on unformatted files.
	@unformatted=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$unformatted" ]; then echo "not gofmt'ed: $$unformatted" >&2; exit 1; fi
	go vet ./...
	cd test/flux && go vet ./...
	cd test/prometheus && go vet ./...

.PHONY: k8s
k8s: ## Build kube-apiserver, controller-manager, scheduler, kubectl, etcd and kwok (cached, version-stamped).
	@hack/build-k8s.sh >/dev/null

.PHONY: build
build: ## Build the operator binary into bin/ (static and stripped, as the Dockerfile builds it).
	CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o bin/neo4j-backup-operator .

IMAGE ?= graphkeeper/neo4j-backup-operator
VERSION ?= $(shell sed -n 's/^appVersion: *"\(.*\)"/\1/p' $(CHART)/Chart.yaml)

.PHONY: image
image: ## Build the operator image with Docker (static, non-root, FROM scratch); the chart's default image.
	docker build -t $(IMAGE):$(VERSION) .

.PHONY: image-tarball
image-tarball: build ## The same image without Docker (go-containerregistry): bin/neo4j-backup-operator-<version>.tar, to push with crane or load.
	go run ./hack/image -binary bin/neo4j-backup-operator -tag $(IMAGE):$(VERSION) -out bin/neo4j-backup-operator-$(VERSION).tar

.PHONY: test
test: verify-generated vet k8s ## Run every test: unit, envtest (real API server) and end to end (cluster in a box).
	@KUBEBUILDER_ASSETS="$$(hack/build-k8s.sh)" hack/run-tests.sh ./...
	@cd test/flux && go test -count=1 ./...
	@assets="$$(hack/build-k8s.sh)" && cd test/prometheus && KUBEBUILDER_ASSETS="$$assets" go test -count=1 ./...

.PHONY: bench
bench: k8s ## Benchmarks against the CronJob controller on the cluster in a box; writes docs/benchmarks.md (~10 min).
	@go run ./test/cmd/bench -out docs/benchmarks.md

.PHONY: chaos
chaos: k8s ## Longer fault rounds on the cluster in a box: 100 kill rounds and 20 real every-minute slots (~25 min).
	@KUBEBUILDER_ASSETS="$$(hack/build-k8s.sh)" CHAOS_ROUNDS=100 CHAOS_SLOTS=20 NBO_FAULT_FIGURES=$(CURDIR)/chaos-figures.txt \
		hack/run-tests.sh ./test/e2e/ -run TestE2E -ginkgo.focus=faults -timeout 60m
	@echo "figures appended to chaos-figures.txt"

.PHONY: demo
demo: k8s ## The cluster in a box with the operator, a simulated Neo4j cluster, a schedule and a restore, until Ctrl-C.
	@go build -o bin/box ./test/cmd/box
	@bin/box
