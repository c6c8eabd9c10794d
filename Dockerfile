# One image for the worker, the API and the migrate job; docker-compose.yml chooses the command.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app

# Dependencies before the code, so that a code change reuses this (slow) layer.
COPY requirements.lock ./
RUN pip install -r requirements.lock

# Code stays owned by root: the service user can run it, not rewrite it.
COPY . .
RUN useradd --system --uid 10001 --no-create-home --shell /usr/sbin/nologin approvals
USER approvals

EXPOSE 8000
CMD ["uvicorn", "api.main:app", "--host", "0.0.0.0", "--port", "8000"]
