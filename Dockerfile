# eventproc: a static binary on scratch, with CA certificates (to reach AWS over TLS),
# a non-root user, and the shipped events.d at /etc/eventproc/events.d (mount your own
# there, read-only).
#
#   docker build -t eventproc .
#   docker run --rm -e AWS_REGION=eu-west-1 eventproc run --queue-url https://sqs...
FROM golang:1.26-alpine AS build
RUN apk add --no-cache ca-certificates
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
RUN CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X eventproc/cli.version=${VERSION}" -o /out/eventproc . \
 && /out/eventproc check --rules events.d

FROM scratch
COPY --from=build /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
COPY --from=build /out/eventproc /eventproc
COPY events.d /etc/eventproc/events.d
ENV EVENTPROC_RULES=/etc/eventproc/events.d
# nobody:nogroup; the root filesystem can be mounted read-only: eventproc writes nothing.
USER 65534:65534
# /healthz, /readyz (and /metrics)
EXPOSE 9090
ENTRYPOINT ["/eventproc"]
CMD ["run"]
