# Multi-stage build of a static, non-root shipgate image.
#   docker build -t shipgate --build-arg VERSION=v0.1.0 .
#   docker run -p 8080:8080 -v "$PWD/deploy:/etc/shipgate:ro" -v shipgate-data:/data shipgate
# The mounted shipgate.yaml should set `listen: :8080` and `database: /data/shipgate.db`.
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
