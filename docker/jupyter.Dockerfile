# Jupyter with the Spark broker. Build context: the repository root (docker-compose.yml sets it).
# The broker's default endpoint is the Apache Livy service of docker-compose.yml (LIVY_URL).
FROM python:3.11-slim-bookworm
# Java for the embedded local Livy's Spark, as scripts/setup.sh installs it.
RUN apt-get update \
    && apt-get install -y --no-install-recommends openjdk-17-jre-headless \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /opt/jupyter-spark-broker
COPY pyproject.toml README.md openapi.yaml ./
COPY jupyter_spark_broker ./jupyter_spark_broker
COPY jupyter-config ./jupyter-config
RUN pip install --no-cache-dir ".[spark,lab]"
COPY docker/jupyter_server_config.py /etc/jupyter/jupyter_server_config.py
RUN useradd --create-home --uid 1000 jovyan
USER jovyan
WORKDIR /home/jovyan
EXPOSE 8888
CMD ["jupyter", "lab", "--ip=0.0.0.0", "--port=8888", "--no-browser"]
