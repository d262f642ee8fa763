FROM python:3.11-slim-bookworm
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /app
COPY requirements.lock .
RUN pip install -r requirements.lock
COPY . .
RUN DJANGO_SETTINGS_MODULE=alignment.settings python manage.py collectstatic --noinput \
    && useradd --system --uid 1000 alignment && mkdir -p /app/var && chown alignment /app/var
USER alignment
EXPOSE 8000
CMD ["gunicorn", "alignment.wsgi", "--bind", "0.0.0.0:8000", "--workers", "3", "--access-logfile", "-"]
