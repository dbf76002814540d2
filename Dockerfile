# optviz under gunicorn: `docker build -t optviz . && docker run -p 8050:8050 optviz`
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_ROOT_USER_ACTION=ignore
# DejaVu Sans: the GIF renderer's labels and legend use it (Pillow's own font otherwise).
RUN apt-get update && apt-get install -y --no-install-recommends fonts-dejavu-core \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --create-home --uid 10001 optviz
WORKDIR /app

# The project with its [serve] and [celery] extras (the web processes and the Celery worker
# of compose.yaml run this one image), pinned by constraints.txt like the virtualenv.
COPY pyproject.toml constraints.txt README.md ./
COPY surfaces ./surfaces
COPY optimizers ./optimizers
COPY viz ./viz
COPY assets ./assets
COPY app.py optviz_cli.py gunicorn.conf.py ./
# The code stays root-owned and read-only to the user that runs it.
RUN pip install -c constraints.txt '.[serve,celery]'

USER optviz
# run()'s compiled loops, built once into the image (~/.cache/optviz/numba, private to
# optviz) so that a container's workers load them at start instead of compiling them
RUN python -c "from optimizers import compiled; compiled.warm(block=True)"
EXPOSE 8050
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD python -c "import urllib.request,sys; sys.exit(urllib.request.urlopen('http://127.0.0.1:8050/healthz', timeout=4).status != 200)"
# Inside the container the app must listen on all interfaces to be reachable via -p.
# Workers/threads: OPTVIZ_WORKERS, OPTVIZ_THREADS (gunicorn.conf.py); run from /app so
# app.py finds assets/ beside it. The export cache is a private folder made per start and
# the key that signs export handles is random per start, unless OPTVIZ_CACHE_DIR (a folder
# only the optviz user may write) or OPTVIZ_SECRET_KEY (32+ characters) are given. With
# OPTVIZ_REDIS_URL (compose.yaml) the jobs run in Celery workers on that Redis instead.
CMD ["gunicorn", "--config", "gunicorn.conf.py", "--bind", "0.0.0.0:8050", "app:server"]
