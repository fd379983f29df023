#!/usr/bin/env bash
# Runs the Pub/Sub delivery tests against the genuine Google Pub/Sub emulator (gcloud + Java).
# Without gcloud they are skipped (exit 0) with a clear message; with it, a failure fails the run.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v gcloud >/dev/null 2>&1 || ! command -v java >/dev/null 2>&1; then
  echo 'Pub/Sub emulator not found: skipping emulator delivery tests (needs gcloud with the pubsub-emulator component, and java)'
  exit 0
fi

exec node --import tsx --test test/transport/pubsub.emulator.ts
