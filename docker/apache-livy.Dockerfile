# Apache Livy 0.9.0-incubating, assembled by the same scripts/apache-livy.sh that CI runs natively.
# Build context: the repository root. The named build context "livy-source" (docker-compose.yml)
# holds apache-livy-0.9.0-incubating-src.tar.gz: Livy's jars are not on Maven Central.
FROM debian:bookworm-slim
RUN apt-get update \
    && apt-get install -y --no-install-recommends \
        openjdk-17-jdk-headless maven python3 python3-venv procps ca-certificates \
    && rm -rf /var/lib/apt/lists/*
ENV APACHE_LIVY_HOME=/opt/apache-livy \
    APACHE_LIVY_SOURCE=/tmp/apache-livy-0.9.0-incubating-src.tar.gz
COPY scripts/apache-livy.sh /opt/jupyter-spark-broker/scripts/apache-livy.sh
COPY --from=livy-source apache-livy-0.9.0-incubating-src.tar.gz /tmp/
RUN /opt/jupyter-spark-broker/scripts/apache-livy.sh prepare \
    && rm -rf /root/.m2 "$APACHE_LIVY_SOURCE"
# Other containers reach it: listen on every interface of the container (scripts default: loopback).
ENV APACHE_LIVY_HOST=0.0.0.0
EXPOSE 8998
CMD ["/opt/jupyter-spark-broker/scripts/apache-livy.sh", "run", "--port", "8998"]
