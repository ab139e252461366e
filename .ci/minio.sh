#!/usr/bin/env bash
# Start MinIO on 127.0.0.1 for the S3 test suite (source/s3, cli).
# Usage: source .ci/minio.sh   (exports FLOWLENS_TEST_S3_* and sets a trap
# that stops the server and removes its data when the calling shell exits).
# The binary is built from the Go module proxy once (about 8-11 minutes on
# 2 cores) and then found in $GOBIN / ~/go/bin.
MINIO_VERSION="${MINIO_VERSION:-v0.0.0-20260212201848-7aac2a2c5b7c}"
MINIO_PORT="${MINIO_PORT:-19000}"

if ! command -v minio >/dev/null 2>&1; then
  echo "ci: building MinIO ${MINIO_VERSION} (cached after the first build)"
  start=$(date +%s)
  go install "github.com/minio/minio@${MINIO_VERSION}"
  echo "ci: MinIO built in $(( $(date +%s) - start ))s"
fi

minio_dir="$(mktemp -d /tmp/flowlens-minio.XXXXXX)"
export MINIO_ROOT_USER="flowlens-ci"
export MINIO_ROOT_PASSWORD="flowlens-ci-secret"
minio server --quiet --address "127.0.0.1:${MINIO_PORT}" --console-address "127.0.0.1:$((MINIO_PORT + 1))" \
  "${minio_dir}/data" >"${minio_dir}/minio.log" 2>&1 &
minio_pid=$!
stop_minio() {
  kill "${minio_pid}" 2>/dev/null || true
  wait "${minio_pid}" 2>/dev/null || true
  rm -rf "${minio_dir}"
}
trap stop_minio EXIT

for _ in $(seq 1 100); do
  if curl -fsS "http://127.0.0.1:${MINIO_PORT}/minio/health/ready" >/dev/null 2>&1; then
    break
  fi
  if ! kill -0 "${minio_pid}" 2>/dev/null; then
    echo "ci: MinIO exited:" >&2
    cat "${minio_dir}/minio.log" >&2
    exit 1
  fi
  sleep 0.2
done
curl -fsS "http://127.0.0.1:${MINIO_PORT}/minio/health/ready" >/dev/null || { echo "ci: MinIO not ready" >&2; cat "${minio_dir}/minio.log" >&2; exit 1; }
echo "ci: MinIO ready on 127.0.0.1:${MINIO_PORT}"

export FLOWLENS_TEST_S3_ENDPOINT="http://127.0.0.1:${MINIO_PORT}"
export FLOWLENS_TEST_S3_ACCESS_KEY="${MINIO_ROOT_USER}"
export FLOWLENS_TEST_S3_SECRET_KEY="${MINIO_ROOT_PASSWORD}"
