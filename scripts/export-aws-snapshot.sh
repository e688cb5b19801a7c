#!/usr/bin/env bash
# Exports an AWS account into the snapshot layout `handover audit --snapshot DIR` reads,
# with read-only aws CLI commands only (see docs/snapshots.md). No command here reads a
# secret value: list-secrets and get-resource-policy describe secrets, they never return them.
#
# usage: scripts/export-aws-snapshot.sh [--org [--assume-role NAME] [--external-id ID]] OUT_DIR [REGION ...]
#   Credentials, profile and endpoint come from the usual aws CLI settings
#   (AWS_PROFILE, AWS_ENDPOINT_URL, ...). Regions default to the CLI's configured region.
#   --org (from the management account or a delegated administrator): also the
#   organization into OUT_DIR/aws/organizations/, and every account of it, each entered
#   by assuming NAME (default OrganizationAccountAccessRole); an account whose role
#   cannot be assumed is left out (the audit reports it as a coverage gap).
set -euo pipefail
umask 077

org=0
role=OrganizationAccountAccessRole
external_id=
while [ $# -gt 0 ]; do
  case $1 in
    --org) org=1; shift ;;
    --assume-role) role=${2:?--assume-role needs a role name}; shift 2 ;;
    --external-id) external_id=${2:?--external-id needs a value}; shift 2 ;;
    *) break ;;
  esac
done
if [ $# -lt 1 ]; then
  echo "usage: $0 [--org [--assume-role NAME] [--external-id ID]] OUT_DIR [REGION ...]" >&2
  exit 2
fi
out=$1
shift
regions=("$@")
if [ ${#regions[@]} -eq 0 ]; then
  r=$(aws configure get region || true)
  r=${r:-${AWS_REGION:-${AWS_DEFAULT_REGION:-}}}
  if [ -z "$r" ]; then
    echo "no region configured: pass one or more regions after OUT_DIR" >&2
    exit 2
  fi
  regions=("$r")
fi

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

# Exports the account the current credentials reach into OUT_DIR/aws/<account id>/.
export_account() {
account=$(aws sts get-caller-identity --query Account --output text)
dir="$out/aws/$account"
mkdir -p "$dir"
save "$dir/caller-identity.json" -- aws sts get-caller-identity --output json

# The credential report is built asynchronously.
for _ in $(seq 1 30); do
  state=$(aws iam generate-credential-report --query State --output text)
  [ "$state" = "COMPLETE" ] && break
  sleep 2
done
save "$dir/credential-report.json" -- aws iam get-credential-report --output json
save "$dir/account-authorization-details.json" -- \
  aws iam get-account-authorization-details --filter User Role Group LocalManagedPolicy --output json
save "$dir/account-summary.json" -- aws iam get-account-summary --output json
# Only identifying fields: some emulators return the seed and QR code here, which
# must never land in a snapshot.
save "$dir/virtual-mfa-devices.json" -- aws iam list-virtual-mfa-devices --output json \
  --query '{VirtualMFADevices: VirtualMFADevices[].{SerialNumber: SerialNumber, User: User, EnableDate: EnableDate}}'
save "$dir/service-specific-credentials.json" -- aws iam list-service-specific-credentials --all-users --output json

# Per-user lists: what no bulk source has. A user's folder is named for the user, so
# only a name IAM allows ([\w+=,.@-], 1 to 64 characters) that is not `.` or `..` gets
# one; the reader looks folders up by the same rule and reports any other name as a
# coverage gap (docs/snapshots.md).
for user in $(aws iam list-users --query 'Users[].UserName' --output text); do
  if ! [[ $user =~ ^[A-Za-z0-9_+=,.@-]{1,64}$ ]] || [ "$user" = . ] || [ "$user" = .. ]; then
    echo "warning: skipping a user whose name is not a valid IAM user name; the audit reports it as a coverage gap" >&2
    continue
  fi
  u="$dir/users/$user"
  save "$u/access-keys.json" -- aws iam list-access-keys --user-name "$user" --output json
  save "$u/ssh-public-keys.json" -- aws iam list-ssh-public-keys --user-name "$user" --output json
  save "$u/signing-certificates.json" -- aws iam list-signing-certificates --user-name "$user" --output json
  save "$u/mfa-devices.json" -- aws iam list-mfa-devices --user-name "$user" --output json
done

for region in "${regions[@]}"; do
  s="$dir/secrets/$region"
  save "$s/list-secrets.json" -- aws secretsmanager list-secrets --include-planned-deletion --region "$region" --output json
  i=0
  for arn in $(aws secretsmanager list-secrets --include-planned-deletion --region "$region" --query 'SecretList[].ARN' --output text); do
    i=$((i + 1))
    save "$s/resource-policies/$(printf %04d $i).json" -- \
      aws secretsmanager get-resource-policy --secret-id "$arn" --region "$region" --output json
  done
done
# IAM Identity Center (sso-admin, identitystore), read in the CLI's configured region:
# set it to the region of the account's instance. An account with no instance gets an
# empty instance list, which the audit reports as such.
sso="$dir/sso"
save "$sso/instances.json" -- aws sso-admin list-instances --output json
if [ -s "$sso/instances.json" ]; then
  instance=$(aws sso-admin list-instances --query 'Instances[0].InstanceArn' --output text)
  store=$(aws sso-admin list-instances --query 'Instances[0].IdentityStoreId' --output text)
  if [ -n "$instance" ] && [ "$instance" != None ]; then
    save "$sso/users.json" -- aws identitystore list-users --identity-store-id "$store" --output json
    save "$sso/groups.json" -- aws identitystore list-groups --identity-store-id "$store" --output json
    # A group's file is named for its id, so only an id of identitystore's form gets one.
    for group in $(aws identitystore list-groups --identity-store-id "$store" --query 'Groups[].GroupId' --output text); do
      if ! [[ $group =~ ^[A-Za-z0-9-]{1,47}$ ]]; then
        echo "warning: skipping a group whose id is not an identitystore id; the audit reports it as a coverage gap" >&2
        continue
      fi
      save "$sso/group-memberships/$group.json" -- \
        aws identitystore list-group-memberships --identity-store-id "$store" --group-id "$group" --output json
    done
    save "$sso/permission-sets.json" -- aws sso-admin list-permission-sets --instance-arn "$instance" --output json
    i=0
    for ps in $(aws sso-admin list-permission-sets --instance-arn "$instance" --query 'PermissionSets[]' --output text); do
      i=$((i + 1))
      p="$sso/permission-sets/$(printf %04d $i)"
      args=(--instance-arn "$instance" --permission-set-arn "$ps" --output json)
      save "$p/permission-set.json" -- aws sso-admin describe-permission-set "${args[@]}"
      save "$p/managed-policies.json" -- aws sso-admin list-managed-policies-in-permission-set "${args[@]}"
      save "$p/customer-managed-policies.json" -- \
        aws sso-admin list-customer-managed-policy-references-in-permission-set "${args[@]}"
      save "$p/inline-policy.json" -- aws sso-admin get-inline-policy-for-permission-set "${args[@]}"
      save "$p/accounts.json" -- aws sso-admin list-accounts-for-provisioned-permission-set "${args[@]}"
      for acct in $(aws sso-admin list-accounts-for-provisioned-permission-set --instance-arn "$instance" \
        --permission-set-arn "$ps" --query 'AccountIds[]' --output text); do
        [[ $acct =~ ^[0-9]{12}$ ]] || continue
        save "$p/assignments/$acct.json" -- \
          aws sso-admin list-account-assignments --account-id "$acct" "${args[@]}"
      done
    done
  fi
fi

echo "snapshot of account $account written to $dir" >&2
}

# Exports the organization into OUT_DIR/aws/organizations/ (docs/snapshots.md).
export_org() {
  local o="$out/aws/organizations"
  mkdir -p "$o"
  save "$o/describe-organization.json" -- aws organizations describe-organization --output json
  save "$o/list-accounts.json" -- aws organizations list-accounts --output json
  save "$o/list-roots.json" -- aws organizations list-roots --output json
  local todo=() seen=0
  read -r -a todo <<< "$(aws organizations list-roots --query 'Roots[].Id' --output text)"
  while [ ${#todo[@]} -gt 0 ] && [ $seen -lt 2000 ]; do
    local parent=${todo[0]}
    todo=("${todo[@]:1}")
    seen=$((seen + 1))
    [[ $parent =~ ^[A-Za-z0-9_-]{1,68}$ ]] || continue
    save "$o/parents/$parent/accounts.json" -- aws organizations list-accounts-for-parent --parent-id "$parent" --output json
    save "$o/parents/$parent/organizational-units.json" -- \
      aws organizations list-organizational-units-for-parent --parent-id "$parent" --output json
    for ou in $(aws organizations list-organizational-units-for-parent --parent-id "$parent" \
      --query 'OrganizationalUnits[].Id' --output text); do
      todo+=("$ou")
    done
  done
  save "$o/list-delegated-administrators.json" -- aws organizations list-delegated-administrators --output json
  for a in $(aws organizations list-delegated-administrators --query 'DelegatedAdministrators[].Id' --output text); do
    [[ $a =~ ^[0-9]{12}$ ]] || continue
    save "$o/delegated-services/$a.json" -- aws organizations list-delegated-services-for-account --account-id "$a" --output json
  done
  save "$o/scps.json" -- aws organizations list-policies --filter SERVICE_CONTROL_POLICY --output json
  for p in $(aws organizations list-policies --filter SERVICE_CONTROL_POLICY --query 'Policies[].Id' --output text); do
    [[ $p =~ ^[A-Za-z0-9_-]{1,68}$ ]] || continue
    save "$o/policy-targets/$p.json" -- aws organizations list-targets-for-policy --policy-id "$p" --output json
  done
}

if [ $org -eq 0 ]; then
  export_account
  exit 0
fi
export_org
me=$(aws sts get-caller-identity --query Account --output text)
partition=aws
case ${regions[0]} in cn-*) partition=aws-cn ;; us-gov-*) partition=aws-us-gov ;; esac
for id in $(aws organizations list-accounts --query 'Accounts[].Id' --output text); do
  [[ $id =~ ^[0-9]{12}$ ]] || continue
  if [ "$id" = "$me" ]; then
    export_account
    continue
  fi
  args=(--role-arn "arn:$partition:iam::$id:role/$role" --role-session-name handover-export
        --query 'Credentials.[AccessKeyId,SecretAccessKey,SessionToken]' --output text)
  [ -n "$external_id" ] && args+=(--external-id "$external_id")
  # The session's keys stay in this script's variables and the aws CLI's environment.
  if ! creds=$(aws sts assume-role "${args[@]}" 2>/dev/null); then
    echo "warning: cannot assume $role in account $id; it is left out (the audit reports it as a coverage gap)" >&2
    continue
  fi
  read -r key secret token <<< "$creds"
  (
    unset AWS_PROFILE
    export AWS_ACCESS_KEY_ID=$key AWS_SECRET_ACCESS_KEY=$secret AWS_SESSION_TOKEN=$token
    export_account
  )
done
