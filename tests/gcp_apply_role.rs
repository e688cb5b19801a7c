//! `policies/permissions/gcp-apply-role.yaml` is exactly what apply's GCP changes need:
//! under the GCP test server's IAM enforcement, an identity holding only that role (as
//! a customer creates it, through IAM `projects.roles.create`) can make every change of
//! `providers::gcp::change`, and without any one of its permissions one of them is
//! refused (403), changing nothing.
//!
//! Its own test binary: the identity's token reaches the clients through the
//! process-wide `HANDOVER_GCP_ACCESS_TOKEN`.

mod support;

use chrono::{TimeZone, Utc};
use handover::error::Error;
use handover::providers::gcp::change::*;
use handover::providers::gcp::live::{GcpSettings, ACCESS_TOKEN_ENV};
use serde_json::{json, Value};
use support::*;

const PROJECT: &str = "contoso-shop-prod";
const SA: &str = "deployer@contoso-shop-prod.iam.gserviceaccount.com";
const APPLIER: &str = "serviceAccount:applier@contoso-shop-prod.iam.gserviceaccount.com";
const ROLE: &str = "projects/contoso-shop-prod/roles/handoverApply";

fn post(url: &str, path: &str, body: Value) -> Value {
    let (status, body) = http_post_json(url, path, &body.to_string());
    assert!(status.contains(" 200"), "{path}: {status}: {body}");
    json(&body)
}

fn role_yaml() -> serde_norway::Value {
    serde_norway::from_str(
        &std::fs::read_to_string(repo().join("policies/permissions/gcp-apply-role.yaml")).unwrap(),
    )
    .unwrap()
}

fn permissions() -> Vec<String> {
    serde_json::from_value(serde_json::to_value(&role_yaml()["includedPermissions"]).unwrap())
        .unwrap()
}

/// A fresh project: the deployer account with a key, a secret, grants to remove, the
/// apply role created from the YAML and granted to the applier; an API key, an HMAC key
/// and a workload identity provider (issue 17). Returns the key id, the API key's name
/// and the HMAC key's access id.
fn setup(server: &gcp_test_server::ServerHandle) -> (String, String, String) {
    server.reset();
    let url = server.url();
    for id in ["deployer", "applier"] {
        post(
            &url,
            &format!("/v1/projects/{PROJECT}/serviceAccounts"),
            json!({"accountId": id}),
        );
    }
    post(
        &url,
        &format!("/v1/projects/{PROJECT}/secrets?secretId=db-password"),
        json!({"replication": {"automatic": {}}}),
    );
    let key = post(
        &url,
        &format!("/v1/projects/{PROJECT}/serviceAccounts/{SA}/keys"),
        json!({}),
    );
    let yaml = role_yaml();
    post(
        &url,
        &format!("/v1/projects/{PROJECT}/roles"),
        json!({"roleId": "handoverApply", "role": {"title": yaml["title"].as_str(),
            "description": yaml["description"].as_str(), "stage": yaml["stage"].as_str(),
            "includedPermissions": permissions()}}),
    );
    let alice = "user:alice@northwind-agency.example";
    post(
        &url,
        &format!("/v1/projects/{PROJECT}:setIamPolicy"),
        json!({"policy": {"bindings": [
        {"role": ROLE, "members": [APPLIER]},
        {"role": "roles/owner", "members": ["user:carol@contoso.example"]},
        {"role": "roles/iam.securityReviewer", "members": [alice]}]}}),
    );
    post(
        &url,
        &format!("/v1/projects/{PROJECT}/serviceAccounts/{SA}:setIamPolicy"),
        json!({"policy": {"bindings": [
        {"role": "roles/iam.serviceAccountUser", "members": [alice]}]}}),
    );
    post(
        &url,
        &format!("/v1/projects/{PROJECT}/secrets/db-password:setIamPolicy"),
        json!({"policy": {"bindings": [
        {"role": "roles/secretmanager.secretAccessor", "members": [alice]}]}}),
    );
    let made = post(
        &url,
        "/_admin/seed",
        json!({"credentials": {
            "apiKeys": [{"project": PROJECT, "key": {"displayName": "maps.agency"}}],
            "hmacKeys": [{"project": PROJECT, "serviceAccountEmail": SA}],
            "workloadIdentityPools": [{"project": PROJECT, "poolId": "github"}],
            "workloadIdentityPoolProviders": [{"project": PROJECT, "poolId": "github", "providerId": "ci-deploy",
                "provider": {"oidc": {"issuerUri": "https://token.actions.githubusercontent.com"},
                             "attributeMapping": {"google.subject": "assertion.sub"}}}]
        }}),
    );
    let uid = made["credentials"]["apiKeys"][0]["uid"].as_str().unwrap();
    let access_id = made["credentials"]["hmacKeys"][0]["accessId"]
        .as_str()
        .unwrap();
    (
        key["name"]
            .as_str()
            .unwrap()
            .rsplit('/')
            .next()
            .unwrap()
            .to_string(),
        format!("projects/{PROJECT}/locations/global/keys/{uid}"),
        access_id.to_string(),
    )
}

const PROVIDER: &str =
    "projects/contoso-shop-prod/locations/global/workloadIdentityPools/github/providers/ci-deploy";

/// The changes of API keys, HMAC keys and providers, and their undo (issue 17).
async fn outside_iam_changes(
    changer: &GcpChanger,
    api_key: &str,
    access_id: &str,
) -> Result<(), Error> {
    use handover::providers::gcp::{apikeys, hmac, wif};
    let c = changer.clients();
    assert_eq!(
        apikeys::key_state(c, api_key).await?,
        apikeys::KeyState::Active
    );
    apikeys::delete(c, api_key).await?;
    apikeys::undelete(c, api_key).await?;
    assert_eq!(
        hmac::state(c.rest(), PROJECT, access_id).await?.as_deref(),
        Some("ACTIVE")
    );
    hmac::set_state(c.rest(), PROJECT, access_id, "INACTIVE").await?;
    hmac::set_state(c.rest(), PROJECT, access_id, "ACTIVE").await?;
    assert_eq!(
        wif::provider_state(c.rest(), PROVIDER).await?.as_deref(),
        Some("ACTIVE")
    );
    wif::set_provider_deleted(c.rest(), PROVIDER, true).await?;
    wif::set_provider_deleted(c.rest(), PROVIDER, false).await?;
    Ok(())
}

/// Every change apply makes on GCP, and its undo, in order; the first error stops it.
async fn every_change(changer: &GcpChanger, key_id: &str) -> Result<(), Error> {
    let alice = "user:alice@northwind-agency.example";
    let grant = |role: &str| Grant {
        member: alice.into(),
        role: role.into(),
        condition: None,
    };
    let sa = IamResource::parse(&format!("projects/{PROJECT}/serviceAccounts/{SA}"))?;
    let secret = IamResource::parse(&format!("projects/{PROJECT}/secrets/db-password"))?;
    let project = IamResource::parse(&format!("projects/{PROJECT}"))?;
    // apply's executor connects by reading the project's number.
    changer.project_number().await?;
    for (resource, role) in [
        (&sa, "roles/iam.serviceAccountUser"),
        (&secret, "roles/secretmanager.secretAccessor"),
    ] {
        let removed = changer
            .remove_grants(resource, &[grant(role)])
            .await?
            .removed;
        assert_eq!(removed.len(), 1);
        changer.restore_grants(resource, &removed).await?;
    }
    changer.admins_after(&[]).await?;
    let until = Utc.with_ymd_and_hms(2027, 3, 1, 0, 0, 0).unwrap();
    let bound = changer
        .bound_grant(
            &project,
            &grant("roles/iam.securityReviewer"),
            until,
            "northwind-to-contoso",
        )
        .await?;
    assert_eq!(bound.outcome, Outcome::Changed);
    let rotated = changer.create_key(SA).await?;
    assert_eq!(
        changer.key_state(SA, &rotated.key_id).await?,
        KeyState::Enabled
    );
    assert_eq!(changer.disable_key(SA, key_id).await?, Outcome::Changed);
    assert_eq!(changer.enable_key(SA, key_id).await?, Outcome::Changed);
    assert_eq!(changer.delete_key(SA, key_id).await?, Outcome::Changed);
    assert_eq!(changer.disable_service_account(SA).await?, Outcome::Changed);
    assert_eq!(changer.enable_service_account(SA).await?, Outcome::Changed);
    Ok(())
}

#[test]
fn the_apply_role_is_enough_and_every_permission_in_it_is_needed() {
    let server = gcp_server();
    std::env::set_var(ACCESS_TOKEN_ENV, "apply-token");
    let settings = GcpSettings {
        endpoint: Some(server.url()),
        concurrency: 1,
        max_attempts: 2,
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let changer = rt
        .block_on(GcpChanger::connect(PROJECT, &settings))
        .unwrap();

    // The role as created from the YAML: everything works.
    let (key_id, api_key, access_id) = setup(&server);
    server
        .enforce_iam(gcp_test_server::IamConfig::new().token("apply-token", APPLIER))
        .unwrap();
    rt.block_on(every_change(&changer, &key_id)).unwrap();
    rt.block_on(outside_iam_changes(&changer, &api_key, &access_id))
        .unwrap();

    // Without any one permission, some change is refused as access denied.
    let all = permissions();
    for missing in &all {
        let (key_id, api_key, access_id) = setup(&server);
        let fewer: Vec<&String> = all.iter().filter(|p| *p != missing).collect();
        server
            .enforce_iam(
                gcp_test_server::IamConfig::new()
                    .token("apply-token", APPLIER)
                    .role(ROLE, fewer),
            )
            .unwrap();
        let err = rt
            .block_on(async {
                every_change(&changer, &key_id).await?;
                outside_iam_changes(&changer, &api_key, &access_id).await
            })
            .expect_err(&format!("{missing} is needed"));
        assert!(
            matches!(err, Error::Access { .. }),
            "without {missing}: {err}"
        );
        assert!(err.hint().contains("gcp-apply-role.yaml"), "{}", err.hint());
    }
}
