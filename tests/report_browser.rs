//! The handover report in a real browser (issue 14): the example's report rendered by
//! headless Chromium (tests/support/browser.rs installs Debian's chromium and
//! poppler-utils when missing). From the DOM Chromium built: the overall status, the
//! counts and every step id are there; the page asked the network for nothing and
//! logged nothing on its console (it needs no JavaScript); printed, it is an A4 PDF
//! whose text holds the status and every step id too.

mod support;

use std::path::Path;

use serde_json::Value;
use support::browser;
use support::*;

const EXAMPLE: &str = "examples/northwind-to-contoso";

/// The example's report (its committed inventory and full-transfer plan) as HTML and
/// JSON, written into `h`.
fn example_report(h: &Path) -> (std::path::PathBuf, Value) {
    let ex = repo().join(EXAMPLE);
    let mut json = None;
    let html = h.join("report.html");
    for out in [html.clone(), h.join("report.json")] {
        let r = run(handover_offline(h)
            .args(["report", "--inventory"])
            .arg(ex.join("inventory.json"))
            .arg("--plan")
            .arg(ex.join("plan-full-transfer.json"))
            .arg("-o")
            .arg(&out));
        assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
        if out.extension().is_some_and(|e| e == "json") {
            json = Some(serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap());
        }
    }
    (html, json.unwrap())
}

/// Every step id of the example's plan.
fn step_ids() -> Vec<String> {
    let plan: Value = serde_json::from_str(
        &std::fs::read_to_string(repo().join(EXAMPLE).join("plan-full-transfer.json")).unwrap(),
    )
    .unwrap();
    plan["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn the_example_report_renders_in_chromium_with_every_step_and_prints_to_a4() {
    let home = tempfile::tempdir().unwrap();
    let (html, json) = example_report(home.path());
    let status = json["summary"]["status"]
        .as_str()
        .expect("the JSON report names its overall status")
        .to_string();
    let page = browser::render(&html);
    eprintln!("chromium rendered the report in {:?}", page.elapsed);
    assert_eq!(
        page.requests,
        Vec::<String>::new(),
        "the report asked the network"
    );
    assert_eq!(
        page.console_errors,
        Vec::<String>::new(),
        "console messages"
    );
    assert!(page.dom.contains(&status), "status {status} not in the DOM");
    let ids = step_ids();
    assert!(ids.len() > 20, "{ids:?}");
    for id in &ids {
        assert!(page.dom.contains(id.as_str()), "step {id} not in the DOM");
    }
    let pdf = browser::print_pdf(&html);
    eprintln!("chromium printed the report in {:?}", pdf.elapsed);
    assert!(pdf.pages >= 1);
    // The page shows the status in capitals (CSS); the word is the text.
    assert!(
        pdf.text.to_lowercase().contains("overall status"),
        "no overall status in the PDF"
    );
    assert!(
        pdf.text.to_lowercase().contains(&status),
        "status {status} not in the PDF"
    );
    // The counts per action, as the first page's table shows them: `ACTION   N`.
    for (action, n) in json["summary"]["counts"]["steps_by_action"]
        .as_object()
        .unwrap()
    {
        let n = n.to_string();
        let shown = pdf.text.lines().any(|l| {
            let mut words = l.split_whitespace();
            words.by_ref().any(|w| w == action) && words.next() == Some(n.as_str())
        });
        assert!(shown, "{action} {n} not on the first page: {}", pdf.text);
    }
    for id in &ids {
        assert!(pdf.text.contains(id.as_str()), "step {id} not in the PDF");
    }
}
