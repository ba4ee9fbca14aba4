#!/usr/bin/env bash
# Generates the Go client (api/client.gen.go) from the root openapi.json
# with oapi-codegen at a pinned version. With an argument, writes there
# instead, so that CI can regenerate into a temporary file and compare it
# with the committed one: the committed client is what the document makes.
#   tools/client/generate.sh [OUTPUT]
set -euo pipefail
cd "$(dirname "$0")"
out="${1:-api/client.gen.go}"
go run github.com/oapi-codegen/oapi-codegen/v2/cmd/oapi-codegen@v2.8.2 \
  -config oapi-codegen.yaml -o "$out" ../../openapi.json
