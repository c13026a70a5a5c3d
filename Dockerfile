# The tryggkarta API for docker-compose.yml (tests never use Docker).
FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY geo ./geo
COPY api ./api
COPY data ./data
RUN pip install --no-cache-dir .
ENV TRYGGKARTA_DATA_DIR=/var/lib/tryggkarta
EXPOSE 8000
CMD ["sh", "-c", "tryggkarta db upgrade && tryggkarta serve --host 0.0.0.0 --port 8000"]
