# The operator image: one static binary, run as a non-root user, nothing else in it. The same
# binary is the backup pods' agent: their init container runs `/neo4j-backup-operator
# install-agent` to copy it into the Neo4j image's container, so no shell is needed here.
#
#   make image            # docker build -t graphkeeper/neo4j-backup-operator:<version> .
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o /out/neo4j-backup-operator .

FROM scratch
COPY --from=build /out/neo4j-backup-operator /neo4j-backup-operator
USER 65532:65532
ENTRYPOINT ["/neo4j-backup-operator"]
