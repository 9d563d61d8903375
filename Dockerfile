# photoshare appliance image. libvips and libheif ship inside the pyvips[binary] and pillow-heif wheels.
#   docker build -t photoshare .
#   docker run -d --name photoshare --stop-timeout 60 -p 8080:8080 -v photoshare-data:/data photoshare
# Runs as the unprivileged user `photoshare` (uid 10001); everything it keeps is in the /data volume.
# Admin commands run in the same container:  docker exec photoshare photoshare stats
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PHOTOSHARE_DATA_DIR=/data \
    PHOTOSHARE_SERVER_HOST=0.0.0.0 \
    PHOTOSHARE_SERVER_PORT=8080

RUN useradd --system --create-home --uid 10001 photoshare \
    && mkdir -p /data /app && chown photoshare:photoshare /data /app
WORKDIR /app
COPY --chown=photoshare:photoshare . /app
RUN pip install --no-cache-dir -e /app

USER photoshare
VOLUME ["/data"]
EXPOSE 8080
# SIGTERM: the HTTP server drains, running jobs get 30 s to finish, the rest are released to the
# queue. Docker's default 10 s before SIGKILL is too short for that: use --stop-timeout 60.
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=30s --timeout=5s CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8080/healthz')"
# `init` is idempotent: the first start creates the admin and prints its generated password to the log.
CMD ["sh", "-c", "photoshare init && exec photoshare serve"]
