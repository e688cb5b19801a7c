//! The GCP hierarchy walk's bounds (`providers::gcp::hierarchy::{MAX_DEPTH,
//! MAX_CONTAINERS}`) on a folder tree the GCP test server serves, deeper and larger
//! than they allow: the walk ends, audits what lies within them, and names every folder
//! it did not walk as a coverage gap, never silence, a hang or unbounded growth. Google
//! allows folders to nest 10 levels below an organization
//! (<https://cloud.google.com/resource-manager/docs/creating-managing-folders>: "folder
//! hierarchy can be up to 10 levels deep"), so a tree past the bound is one a server
//! should not answer, whether by mistake or to make the audit loop.

mod support;

use std::time::{Duration, Instant};

use handover::providers::gcp::hierarchy::{MAX_CONTAINERS, MAX_DEPTH};
use handover::providers::gcp::pages::MAX_PAGES;
use serde_json::{json, Value};
use support::*;

fn seed(url: &str, folders: Vec<Value>, projects: Vec<Value>) {
    let body = json!({
        "organizations": [{"id": "10", "displayName": "contoso.example"}],
        "folders": folders,
        "projects": projects,
    });
    let (status, text) = http_post_json(url, "/_admin/seed", &body.to_string());
    assert!(status.contains(" 200"), "seed: {status}: {text}");
}

fn audit_org(url: &str) -> (Value, Duration) {
    let home = tempfile::tempdir().unwrap();
    let started = Instant::now();
    let r = run(handover_offline(home.path()).args([
        "audit",
        "--gcp-organization",
        "10",
        "--gcp-endpoint",
        url,
        "--format",
        "json",
    ]));
    assert_eq!(r.code, 0, "{}", r.stderr);
    (json(&r.stdout), started.elapsed())
}

fn scopes(inv: &Value) -> Vec<String> {
    inv["sources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["scope"].as_str().unwrap().to_string())
        .collect()
}

fn bound_gaps(inv: &Value) -> Vec<String> {
    inv["gaps"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|g| {
            g["reason"]
                .as_str()
                .unwrap()
                .contains("past the walk's bound")
        })
        .map(|g| g["scope"].as_str().unwrap().to_string())
        .collect()
}

/// A chain of folders 4 levels deeper than the bound: every folder within it is walked,
/// the first one past it is a gap, and nothing below it is read.
#[test]
fn a_folder_tree_deeper_than_the_bound_ends_in_a_gap_naming_the_first_folder_not_walked() {
    let server = gcp_server();
    let url = server.url();
    let levels = MAX_DEPTH + 4;
    let folders: Vec<Value> = (1..=levels)
        .map(|i| {
            let parent = if i == 1 {
                "organizations/10".to_string()
            } else {
                format!("folders/{}", 1000 + i - 1)
            };
            json!({"id": format!("{}", 1000 + i), "displayName": format!("level-{i}"), "parent": parent})
        })
        .collect();
    let deepest_walked = 1000 + MAX_DEPTH;
    seed(
        &url,
        folders,
        vec![
            json!({"projectId": "within-bound", "parent": format!("folders/{deepest_walked}")}),
            json!({"projectId": "past-bound", "parent": format!("folders/{}", 1000 + levels)}),
        ],
    );
    let (inv, _) = audit_org(&url);
    let scopes = scopes(&inv);
    for i in 1..=MAX_DEPTH {
        let f = format!("folders/{}", 1000 + i);
        assert!(
            scopes.contains(&f),
            "{f} (level {i}) is within the bound: {scopes:?}"
        );
    }
    assert!(scopes.contains(&"within-bound".to_string()), "{scopes:?}");
    assert!(!scopes.contains(&"past-bound".to_string()), "{scopes:?}");
    for i in MAX_DEPTH + 1..=levels {
        let f = format!("folders/{}", 1000 + i);
        assert!(!scopes.contains(&f), "{f} is past the bound");
    }
    assert_eq!(
        bound_gaps(&inv),
        [format!("folders/{}", deepest_walked + 1)],
        "the first folder past the bound is named: {:#}",
        inv["gaps"]
    );
}

/// More folders than the walk visits, all below the organization: it stops at the
/// bound, names each folder it did not walk, and ends in bounded time.
#[test]
fn more_folders_than_the_bound_end_in_gaps_naming_each_folder_not_walked() {
    let server = gcp_server();
    let url = server.url();
    let extra = 5;
    // The organization counts as one container.
    let total = MAX_CONTAINERS + extra - 1;
    let folders: Vec<Value> = (0..total)
        .map(|i| json!({"id": format!("{}", 100_000 + i), "displayName": "f", "parent": "organizations/10"}))
        .collect();
    seed(
        &url,
        folders,
        vec![json!({"projectId": "shop-prod", "parent": "organizations/10"})],
    );
    let (inv, took) = audit_org(&url);
    let scopes = scopes(&inv);
    let walked = scopes.iter().filter(|s| s.starts_with("folders/")).count();
    assert_eq!(
        walked,
        MAX_CONTAINERS - 1,
        "every container up to the bound is read"
    );
    assert!(scopes.contains(&"shop-prod".to_string()));
    let gaps = bound_gaps(&inv);
    assert_eq!(gaps.len(), extra, "one gap per folder not walked: {gaps:?}");
    for g in &gaps {
        assert!(!scopes.contains(g), "{g} is both walked and a gap");
    }
    eprintln!("{} folders walked in {took:?}", walked);
}

/// The gaps of `inv` whose reason says a list was cut short, as (scope, source).
fn unended_gaps(inv: &Value, says: &str) -> Vec<(String, String)> {
    inv["gaps"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|g| g["reason"].as_str().unwrap().contains(says))
        .map(|g| {
            (
                g["scope"].as_str().unwrap().to_string(),
                g["source"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn never_ending_lists(server: &gcp_test_server::ServerHandle, kind: &str) {
    let kinds = serde_json::from_value(json!([kind])).unwrap();
    server
        .set_faults(Some(gcp_test_server::FaultConfig {
            rate: 1.0,
            seed: 1,
            kinds,
        }))
        .unwrap();
}

/// A server that answers each list page with the token it was asked with: every list
/// (the walk's folders and projects, the asset searches, each project's lists) ended
/// at the repeat in two requests and is a gap naming its operation, not a loop.
#[test]
fn a_list_whose_server_repeats_its_page_token_ends_in_a_gap_naming_the_list() {
    let server = gcp_server();
    let url = server.url();
    seed(
        &url,
        vec![json!({"id": "20", "displayName": "apps", "parent": "organizations/10"})],
        vec![json!({"projectId": "shop-prod", "parent": "folders/20"})],
    );
    never_ending_lists(&server, "repeat-page");
    let (inv, took) = audit_org(&url);
    let gaps = unended_gaps(&inv, "page token it had already given");
    for (scope, source) in [
        ("organizations/10", "cloudresourcemanager.folders.list"),
        ("organizations/10", "cloudresourcemanager.projects.list"),
        ("folders/20", "cloudresourcemanager.folders.list"),
        ("folders/20", "cloudresourcemanager.projects.list"),
        ("shop-prod", "iam:ListServiceAccounts"),
        ("shop-prod", "secretmanager:ListSecrets"),
        ("shop-prod", "apikeys:ListKeys"),
        ("shop-prod", "storage:ListHmacKeys"),
        ("shop-prod", "iam:ListWorkloadIdentityPools"),
    ] {
        assert!(
            gaps.contains(&(scope.to_string(), source.to_string())),
            "{source} on {scope} is a gap: {:#}",
            inv["gaps"]
        );
    }
    // The asset searches did not end either: the bulk read was not used, and says why.
    let notes = inv.to_string();
    assert!(
        notes.contains("Cloud Asset Inventory (cloudasset.assets.searchAllIamPolicies) was not used: the server answered a page token it had already given"),
        "{notes}"
    );
    assert!(scopes(&inv).contains(&"shop-prod".to_string()));
    eprintln!("audit with repeated page tokens took {took:?}");
}

/// A server that answers every list page with a fresh token: each list stops after
/// `MAX_PAGES` pages and is a gap naming its operation; the audit ends.
#[test]
fn a_list_whose_server_never_stops_answering_a_next_page_ends_in_a_gap_after_max_pages() {
    let server = gcp_server();
    let url = server.url();
    seed(
        &url,
        Vec::new(),
        vec![json!({"projectId": "shop-prod", "parent": "organizations/10"})],
    );
    never_ending_lists(&server, "endless-pages");
    let (inv, took) = audit_org(&url);
    let gaps = unended_gaps(&inv, &format!("more than {MAX_PAGES} pages"));
    for (scope, source) in [
        ("organizations/10", "cloudresourcemanager.folders.list"),
        ("organizations/10", "cloudresourcemanager.projects.list"),
        ("shop-prod", "iam:ListServiceAccounts"),
    ] {
        assert!(
            gaps.contains(&(scope.to_string(), source.to_string())),
            "{source} on {scope} is a gap: {:#}",
            inv["gaps"]
        );
    }
    let served = server.request_counts().route("GET /v3/projects");
    assert_eq!(served, MAX_PAGES as u64, "one request a page, no more");
    eprintln!("audit with endless pages took {took:?}");
}
