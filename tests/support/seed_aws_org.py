#!/usr/bin/env python3
"""Test support: seeds an AWS Organization in a multi-account moto server (started
without MOTO_ACCOUNT_ID): the management account 123456789012 and three members made by
CreateAccount (contoso-prod in Root/Workloads/Prod, contoso-staging in Root/Workloads,
contoso-dev in Root), each with the OrganizationAccountAccessRole CreateAccount makes (trusting the
management account), given exactly policies/permissions/aws-audit.json, a customer
admin `contoso-admin-<name>` and an agency admin `<name>.agency`, except contoso-dev,
whose only admin is the agency's. contoso-staging is the delegated administrator for
Security Hub (moto refuses sso.amazonaws.com); an SCP is attached to the Workloads OU.

Prints {"management": ID, "prod": ID, "staging": ID, "dev": ID, "root": ID, "workloads": ID}.
Usage: seed_aws_org.py --endpoint URL --audit-policy FILE
"""
import argparse
import json

import boto3

ap = argparse.ArgumentParser()
ap.add_argument("--endpoint", required=True)
ap.add_argument("--audit-policy", required=True)
args = ap.parse_args()
kw = dict(region_name="us-east-1", endpoint_url=args.endpoint,
          aws_access_key_id="testing", aws_secret_access_key="testing")
MANAGEMENT = "123456789012"
audit_policy = open(args.audit_policy).read()

org = boto3.client("organizations", **kw)
org.create_organization(FeatureSet="ALL")
root = org.list_roots()["Roots"][0]["Id"]
workloads = org.create_organizational_unit(ParentId=root, Name="Workloads")["OrganizationalUnit"]["Id"]
prod_ou = org.create_organizational_unit(ParentId=workloads, Name="Prod")["OrganizationalUnit"]["Id"]
ids = {}
for name in ["prod", "staging", "dev"]:
    status = org.create_account(Email=f"aws-{name}@contoso.example", AccountName=f"contoso-{name}")
    ids[name] = status["CreateAccountStatus"]["AccountId"]
org.move_account(AccountId=ids["prod"], SourceParentId=root, DestinationParentId=prod_ou)
org.move_account(AccountId=ids["staging"], SourceParentId=root, DestinationParentId=workloads)
org.enable_aws_service_access(ServicePrincipal="ssm.amazonaws.com")
org.register_delegated_administrator(AccountId=ids["staging"], ServicePrincipal="ssm.amazonaws.com")
try:
    org.enable_policy_type(RootId=root, PolicyType="SERVICE_CONTROL_POLICY")
except org.exceptions.PolicyTypeAlreadyEnabledException:
    pass
scp = org.create_policy(
    Name="DenyLeaveOrganization",
    Description="members cannot leave",
    Type="SERVICE_CONTROL_POLICY",
    Content=json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Deny", "Action": "organizations:LeaveOrganization", "Resource": "*"}]}),
)["Policy"]["PolicySummary"]["Id"]
org.attach_policy(PolicyId=scp, TargetId=workloads)

sts = boto3.client("sts", **kw)


def iam_in(account):
    if account == MANAGEMENT:
        return boto3.client("iam", **kw)
    c = sts.assume_role(RoleArn=f"arn:aws:iam::{account}:role/OrganizationAccountAccessRole",
                        RoleSessionName="seed")["Credentials"]
    return boto3.client("iam", region_name="us-east-1", endpoint_url=args.endpoint,
                        aws_access_key_id=c["AccessKeyId"], aws_secret_access_key=c["SecretAccessKey"],
                        aws_session_token=c["SessionToken"])


ADMIN = "arn:aws:iam::aws:policy/AdministratorAccess"
for name, account in [("management", MANAGEMENT)] + list(ids.items()):
    iam = iam_in(account)
    if account != MANAGEMENT:
        # CreateAccount made the role trusting the management account, as AWS does; moto
        # attaches no policy to it (AWS attaches AdministratorAccess): give it exactly
        # the audit policy, the member role docs/organizations.md describes.
        iam.put_role_policy(RoleName="OrganizationAccountAccessRole", PolicyName="handover-audit",
                            PolicyDocument=audit_policy)
    users = [f"{name}.agency"] + ([] if name == "dev" else [f"contoso-admin-{name}"])
    for user in users:
        iam.create_user(UserName=user)
        iam.attach_user_policy(UserName=user, PolicyArn=ADMIN)
        iam.create_login_profile(UserName=user, Password="Sup3r-Secret-Passw0rd!")

print(json.dumps({"management": MANAGEMENT, "root": root, "workloads": workloads, **ids}))
