#!/usr/bin/env bash
# Exports GCP projects into the snapshot layout `handover audit --snapshot DIR` reads,
# with read-only gcloud commands only (see docs/snapshots.md). No command here reads a
# secret value: `secrets list`, `secrets versions list` and `get-iam-policy` describe
# secrets, they never return them (`gcloud secrets versions access` is never run).
#
# usage: scripts/export-gcp-snapshot.sh [--hierarchy] OUT_DIR PROJECT [PROJECT ...]
#   --hierarchy: also each project's ancestry (`gcp/<project>/ancestors.json`) and the
#   IAM policy of every folder and organization above the projects
#   (`gcp-containers/folders-<id>/iam-policy.json`, `.../organizations-<id>/...`), so the
#   audit sees inherited access as `--gcp-folder` / `--gcp-organization` do.
#   Account, credentials and endpoints come from gcloud's usual settings
#   (CLOUDSDK_CONFIG, `gcloud auth login` / application default credentials,
#   CLOUDSDK_API_ENDPOINT_OVERRIDES_*, ...).
#
# What gcloud's --format=json does to the API's JSON (checked against the raw REST
# answers of the project's GCP test server, gcloud 528):
#   - Field names stay the API's camelCase names (validAfterTime, keyType, replication.
#     userManaged.replicas, rotation.rotationPeriod, ...); enums stay strings; int64
#     fields stay JSON strings (projectNumber); policy etags stay base64; timestamps are
#     passed through untouched (RFC 3339 UTC with `Z`, secrets and versions with
#     fractional seconds, keys without; `validBeforeTime` of a key that never expires
#     is 9999-12-31T23:59:59Z). Nothing is renamed or dropped.
#   - Each list command prints a bare JSON array of the resources (the API's
#     `accounts` / `keys` / `secrets` / `versions` wrapper and `nextPageToken` are
#     gone; gcloud follows every page). An empty list is `[]`.
#   - `iam service-accounts list` ADDS `"disabled": false` to every enabled account
#     (the API omits the field when false); `keys list` does not (a key's `disabled`
#     appears only when true).
#   - `projects get-iam-policy`, `iam service-accounts get-iam-policy` and
#     `secrets get-iam-policy` always ask for policy version 3 (there is no flag for
#     it), so conditional bindings come back with their `condition`; a policy with no
#     condition still reports `"version": 1`.
#   - `keys list` (default `--managed-by any`) lists USER_MANAGED and SYSTEM_MANAGED keys;
#     it addresses the account as projects/-/serviceAccounts/EMAIL, so `--project` does
#     not matter there.
#   - Secret and version names carry the project NUMBER (projects/123.../secrets/ID), as
#     the API returns them; project.json (an extra, optional file) maps it to the id.
#   - Regional secrets (projects/P/locations/L/secrets/...) are not listed by
#     `gcloud secrets list` without `--location`; this script exports global secrets only.
set -euo pipefail
umask 077

hierarchy=
if [ "${1:-}" = "--hierarchy" ]; then
  hierarchy=1
  shift
fi
if [ $# -lt 2 ]; then
  echo "usage: $0 [--hierarchy] OUT_DIR PROJECT [PROJECT ...]" >&2
  exit 2
fi
out=$1
shift
command -v gcloud >/dev/null || { echo "gcloud not found (install google-cloud-cli)" >&2; exit 2; }

# Each file is written whole or not at all.
save() { # save FILE -- command...
  local file=$1
  shift 2
  mkdir -p "$(dirname "$file")"
  if "$@" > "$file.tmp"; then
    mv "$file.tmp" "$file"
  else
    rm -f "$file.tmp"
    echo "warning: '$*' failed; $file is left out (the audit will report it as a coverage gap)" >&2
  fi
}

# Lists one field of a list command, one value a line; a failure is a warning and an
# empty list (the list file itself is then missing too, which the audit reports).
names() { # names WHAT -- command...
  local what=$1
  shift 2
  if ! "$@"; then
    echo "warning: could not list $what: '$*' failed" >&2
  fi
}

for project in "$@"; do
  dir="$out/gcp/$project"
  mkdir -p "$dir"
  save "$dir/project.json" -- gcloud projects describe "$project" --format=json
  save "$dir/iam-policy.json" -- gcloud projects get-iam-policy "$project" --format=json

  save "$dir/service-accounts.json" -- gcloud iam service-accounts list --project "$project" --format=json
  for email in $(names "service accounts of $project" -- \
      gcloud iam service-accounts list --project "$project" --format='value(email)'); do
    # The folder is named for the email: only an address Google issues gets one (the
    # reader applies the same rule and reports any other as a coverage gap).
    if ! [[ $email =~ ^[a-z0-9][a-z0-9.-]*@[a-z0-9.-]*gserviceaccount\.com$ ]]; then
      echo "warning: skipping a service account whose email is not one Google issues" >&2
      continue
    fi
    s="$dir/service-accounts/$email"
    save "$s/keys.json" -- \
      gcloud iam service-accounts keys list --iam-account "$email" --project "$project" --format=json
    save "$s/iam-policy.json" -- \
      gcloud iam service-accounts get-iam-policy "$email" --project "$project" --format=json
  done

  # API keys (never their strings: `api-keys get-key-string` is never run), HMAC keys
  # (metadata only: gcloud shows a secret only when it creates a key), workload identity
  # pools and each pool's providers (issue 17).
  save "$dir/api-keys.json" -- gcloud services api-keys list --project "$project" --format=json
  save "$dir/hmac-keys.json" -- gcloud storage hmac list --project "$project" --format=json
  save "$dir/workload-identity-pools.json" -- \
    gcloud iam workload-identity-pools list --location=global --project "$project" --format=json
  for pool in $(names "workload identity pools of $project" -- \
      gcloud iam workload-identity-pools list --location=global --project "$project" \
      --format='value(name.basename())'); do
    # Pool ids are 4-32 of [a-z0-9-]; the reader applies the same rule to folder names.
    if ! [[ $pool =~ ^[a-z0-9-]{4,32}$ ]]; then
      echo "warning: skipping a workload identity pool whose id IAM would not issue" >&2
      continue
    fi
    save "$dir/workload-identity-pools/$pool/providers.json" -- \
      gcloud iam workload-identity-pools providers list --location=global \
      --workload-identity-pool="$pool" --project "$project" --format=json
  done
  save "$dir/secrets.json" -- gcloud secrets list --project "$project" --format=json
  for secret in $(names "secrets of $project" -- \
      gcloud secrets list --project "$project" --format='value(name.basename())'); do
    if ! [[ $secret =~ ^[A-Za-z0-9_-]{1,255}$ ]]; then
      echo "warning: skipping a secret whose id is not a valid secret id" >&2
      continue
    fi
    s="$dir/secrets/$secret"
    save "$s/versions.json" -- gcloud secrets versions list "$secret" --project "$project" --format=json
    save "$s/iam-policy.json" -- gcloud secrets get-iam-policy "$secret" --project "$project" --format=json
  done
  echo "snapshot of project $project written to $dir" >&2
done

# The folders and organizations above the projects, each once, and their policies.
if [ -n "$hierarchy" ]; then
  containers=()
  for project in "$@"; do
    save "$out/gcp/$project/ancestors.json" -- gcloud projects get-ancestors "$project" --format=json
    while IFS=, read -r kind id; do
      case "$kind" in
        folder | organization) containers+=("$kind,$id") ;;
      esac
    done < <(names "ancestors of $project" -- gcloud projects get-ancestors "$project" --format='csv[no-heading](type,id)')
  done
  for c in $(printf '%s\n' "${containers[@]}" | sort -u); do
    kind=${c%%,*}
    id=${c#*,}
    case "$id" in
      '' | *[!0-9]*) echo "warning: skipping $kind id '$id' (not a number)" >&2; continue ;;
    esac
    if [ "$kind" = folder ]; then
      save "$out/gcp-containers/folders-$id/iam-policy.json" -- \
        gcloud resource-manager folders get-iam-policy "$id" --format=json
    else
      save "$out/gcp-containers/organizations-$id/iam-policy.json" -- \
        gcloud organizations get-iam-policy "$id" --format=json
    fi
  done
fi
