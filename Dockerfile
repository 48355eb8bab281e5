# The bot in a slim image, running as a non-root user; data (the embedded database, the search
# index, the Telegram session) in the /data volume.
#   docker build -t filesearch-bot .
#   docker run --env-file .env -v filesearch-data:/data -p 127.0.0.1:8080:8080 filesearch-bot
FROM python:3.11-slim

ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    DATA_DIR=/data \
    HTTP_HOST=0.0.0.0 \
    ENVIRONMENT=production

WORKDIR /app
RUN useradd --create-home --uid 10001 bot && mkdir -p /data && chown bot /data

COPY pyproject.toml requirements.lock README.md ./
COPY bot.py ./
COPY app ./app
COPY core ./core
COPY handlers ./handlers
COPY repositories ./repositories
COPY services ./services
COPY testkit ./testkit
RUN pip install -c requirements.lock .

USER bot
VOLUME ["/data"]
EXPOSE 8080
# Asks the running bot (its /health on HTTP_PORT): no second process opens the database.
HEALTHCHECK --interval=60s --timeout=20s --start-period=120s --retries=3 \
    CMD ["python", "bot.py", "probe", "--startup-timeout", "10"]
CMD ["python", "bot.py"]
