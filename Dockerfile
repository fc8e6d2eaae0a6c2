# Multi-stage build of a static, non-root shipgate image.
#   docker build -t shipgate --build-arg VERSION=v0.1.0 .
#   docker run -p 8080:8080 -v "$PWD/config-dir:/etc/shipgate:ro" -v shipgate-data:/data shipgate
# The mounted shipgate.yaml should set `listen: :8080` and `database: /data/shipgate.db`; in Kubernetes,
# the chart in deploy/helm/shipgate does this. The image holds nothing but shipgate: exec tasks that run
# other tools (k6, kubectl) need an image built FROM this one with them, and `docker run --init` (or
# the pod's own init) to reap the processes they leave.
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
ARG COMMIT=""
RUN CGO_ENABLED=0 go build -trimpath \
      -ldflags "-s -w -X main.version=${VERSION} -X main.commit=${COMMIT}" \
      -o /out/shipgate ./cmd/shipgate \
 && mkdir -p /out/data

FROM scratch
# CA certificates for HTTPS to Slack, Discord and Prometheus; the binary embeds the time zone database.
COPY --from=build /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
COPY --from=build /out/shipgate /usr/local/bin/shipgate
COPY --from=build --chown=65532:65532 /out/data /data
USER 65532:65532
WORKDIR /data
VOLUME ["/data"]
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/shipgate", "serve"]
CMD ["--config", "/etc/shipgate/shipgate.yaml"]
