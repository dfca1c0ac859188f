# The hub's image for docker-compose.yml and Kubernetes: the Python services only (Kafka and
# PostgreSQL run as their own containers).
FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY services services
COPY schemas schemas
COPY connectors connectors
RUN pip install --no-cache-dir .
USER nobody
CMD ["cmehub", "api", "--host", "0.0.0.0", "--port", "8080"]
