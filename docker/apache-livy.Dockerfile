# Apache Livy 0.9.0-incubating, installed by the same scripts/apache-livy.sh that CI runs natively.
# Build context: the repository root. The named build context "livy-dist" (docker-compose.yml) holds
# Apache's binary release, apache-livy-0.9.0-incubating_2.12-bin.zip: Maven Central has no Livy REPL jar.
FROM debian:bookworm-slim
RUN apt-get update \
    && apt-get install -y --no-install-recommends \
        openjdk-17-jre-headless python3 python3-venv procps ca-certificates \
    && rm -rf /var/lib/apt/lists/*
ENV APACHE_LIVY_HOME=/opt/apache-livy \
    APACHE_LIVY_DIST=/tmp/apache-livy-0.9.0-incubating_2.12-bin.zip
COPY scripts/apache-livy.sh /opt/jupyter-spark-broker/scripts/apache-livy.sh
COPY --from=livy-dist apache-livy-0.9.0-incubating_2.12-bin.zip /tmp/
RUN /opt/jupyter-spark-broker/scripts/apache-livy.sh prepare && rm -f "$APACHE_LIVY_DIST"
# Other containers reach it: listen on every interface of the container (scripts default: loopback).
ENV APACHE_LIVY_HOST=0.0.0.0
EXPOSE 8998
CMD ["/opt/jupyter-spark-broker/scripts/apache-livy.sh", "run", "--port", "8998"]
