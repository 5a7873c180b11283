ARG ARCH="amd64"
ARG OS="linux"
FROM quay.io/prometheus/busybox-${OS}-${ARCH}:latest
LABEL maintainer="The consul_status_exporter authors"
LABEL description="Prometheus exporter for a Consul agent's Raft, Serf and runtime status"

ARG ARCH="amd64"
ARG OS="linux"
COPY .build/${OS}-${ARCH}/consul_status_exporter /bin/consul_status_exporter

EXPOSE      19107
# nobody, by number: a Kubernetes kubelet can verify runAsNonRoot only for a
# numeric user (charts/consul-status-exporter runs it as 65534).
USER        65534:65534
ENTRYPOINT  [ "/bin/consul_status_exporter" ]
