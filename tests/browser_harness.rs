//! The headless-Chromium harness (tests/support/browser.rs) proven on small pages
//! (tests/data/browser/): each thing it claims to catch is caught, and a clean page gives
//! nothing, so a report test that finds no request and no console error means it.

mod support;

use std::path::PathBuf;

use support::browser::{self, console_messages, netlog_requests};
use support::repo;

fn page(name: &str) -> PathBuf {
    repo().join("tests/data/browser").join(name)
}

#[test]
fn a_clean_page_makes_no_request_logs_no_error_and_prints_its_text() {
    let p = browser::render(&page("clean.html"));
    eprintln!("render of clean.html took {:?}", p.elapsed);
    assert!(p.dom.contains("status: proven-7b41"), "{}", p.dom);
    assert!(p.dom.contains("<th scope=\"col\">step</th>"), "{}", p.dom);
    assert_eq!(
        p.requests,
        Vec::<String>::new(),
        "requests from a clean page"
    );
    assert_eq!(p.console_errors, Vec::<String>::new());
    let pdf = browser::print_pdf(&page("clean.html"));
    eprintln!("print of clean.html to PDF took {:?}", pdf.elapsed);
    assert_eq!(pdf.pages, 1, "{}", pdf.text);
    // The page's `@page { size: A4 }` is honoured (Chromium's own default is Letter).
    assert!(pdf.page_size.ends_with("(A4)"), "{}", pdf.page_size);
    for text in ["Harness clean page", "status: proven-7b41", "step-0001"] {
        assert!(
            pdf.text.contains(text),
            "{text:?} not in the PDF: {}",
            pdf.text
        );
    }
}

/// A page that names no paper size prints on Letter: the A4 above is the page's doing.
#[test]
fn a_page_without_a_page_rule_prints_on_letter() {
    let pdf = browser::print_pdf(&page("external-image.html"));
    assert!(pdf.page_size.ends_with("(letter)"), "{}", pdf.page_size);
    assert!(
        pdf.text.contains("loads an image from the network"),
        "{}",
        pdf.text
    );
}

#[test]
fn an_image_from_the_network_is_caught_as_a_request() {
    let p = browser::render(&page("external-image.html"));
    assert!(
        p.requests
            .iter()
            .any(|u| u == "http://example.invalid/x.png"),
        "{:?}",
        p.requests
    );
    assert!(!p
        .browser_requests
        .iter()
        .any(|u| u.contains("example.invalid")));
    // The page's own file is not a request.
    assert!(
        p.requests.iter().all(|u| !u.starts_with("file://")),
        "{:?}",
        p.requests
    );
}

#[test]
fn a_throwing_inline_script_is_caught_as_a_console_error() {
    let p = browser::render(&page("script-throws.html"));
    assert!(
        p.console_errors
            .iter()
            .any(|l| l.contains("harness-boom-3f2a")),
        "{:?}",
        p.console
    );
    assert!(p.requests.is_empty(), "{:?}", p.requests);
}

#[test]
fn a_content_security_policy_violation_is_caught_as_a_console_error() {
    let p = browser::render(&page("csp-violation.html"));
    assert!(
        p.console_errors
            .iter()
            .any(|l| l.contains("Content Security Policy")),
        "{:?}",
        p.console
    );
    // The policy held: the script did not run.
    assert!(!p.dom.contains("<title>ran</title>"), "{}", p.dom);
}

/// Chromium logs a page's console at one level, so `console.log` counts too: a report
/// that needs no JavaScript must log nothing at all.
#[test]
fn console_log_and_warn_are_caught_too() {
    let p = browser::render(&page("console-log.html"));
    let e = &p.console_errors;
    assert!(
        e.iter().any(|l| l.contains("harness-log-91c0")),
        "{:?}",
        p.console
    );
    assert!(
        e.iter().any(|l| l.contains("harness-warn-91c0")),
        "{:?}",
        p.console
    );
}

/// A NetLog cut short (Chromium killed mid-write) is still read up to its last event;
/// the page's requests are told from Chromium's own by isolation key and initiator.
#[test]
fn a_netlog_cut_short_is_read_and_the_pages_requests_told_from_chromiums() {
    let cut = r#"{"constants":{"logEventTypes":{"URL_REQUEST_START_JOB":2,"HOST_RESOLVER_MANAGER_REQUEST":7}},
"events":[
{"type":2,"params":{"initiator":"not an origin","network_isolation_key":"file:// file://","url":"file:///tmp/a.html"}},
{"type":2,"params":{"initiator":"not an origin","network_isolation_key":"null null","url":"http://clients2.google.com/time"}},
{"type":7,"params":{"host":"http://example.invalid","network_anonymization_key":"file:// same_site"}},
{"type":2,"params":{"initiator":"null","network_isolation_key":"file:// file://","url":"http://example.invalid/x.png"}},
{"type":2,"params":{"initiator":"null","network_isolation_key":"http://elsewhere.invalid x","url":"http://elsewhere.invalid/"}},
{"type":2,"params":{"initiator":"null","network_isolation_key":"file:// file://","url":"data:image/png;base64,AAAA"}},"#;
    let (page, own) = netlog_requests(cut, "file://");
    assert_eq!(
        page,
        [
            "file:///tmp/a.html",
            "dns:http://example.invalid",
            "http://example.invalid/x.png",
            "http://elsewhere.invalid/"
        ]
    );
    assert_eq!(own, ["http://clients2.google.com/time"]);
}

#[test]
fn console_lines_of_both_log_formats_give_their_level() {
    let stderr =
        "[1:1:1201/000000.1:ERROR:CONSOLE(3)] \"Uncaught Error: x\", source: file:///a.html (3)\n\
                  [1:1:1201/000000.1:INFO:CONSOLE:7] \"hello\", source: file:///a.html (7)\n\
                  [1:1:1201/000000.1:ERROR:bus.cc(408)] Failed to connect to the bus\n";
    let m = console_messages(stderr);
    assert_eq!(m.len(), 2, "{m:?}");
    assert_eq!(m[0].level, "ERROR");
    assert!(m[0].line.starts_with("\"Uncaught Error: x\""));
    assert_eq!(m[1].level, "INFO");
}
