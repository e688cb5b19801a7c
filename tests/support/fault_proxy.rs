//! A fault-injecting HTTP proxy on loopback, between the tool and an emulator: by a
//! seeded rate it answers AWS throttling (400 `Throttling` for the query protocol,
//! `ThrottlingException` for JSON), 503, or drops the connection without an answer;
//! everything else it forwards. One request per connection (it answers
//! `Connection: close`), which the SDKs handle by reconnecting.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    Throttle,
    Unavailable,
    Drop,
}

pub struct FaultProxy {
    pub url: String,
    stop: Arc<AtomicBool>,
    pub injected: Arc<AtomicU64>,
    pub forwarded: Arc<AtomicU64>,
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(self.url.trim_start_matches("http://"));
    }
}

struct Rng(u64);
impl Rng {
    fn next_f64(&mut self) -> f64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }
}

fn read_request(stream: &mut TcpStream) -> Option<Vec<u8>> {
    let mut reader = BufReader::new(stream.try_clone().ok()?);
    let mut head = Vec::new();
    let mut content_length = 0usize;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).ok()? == 0 {
            return None;
        }
        let lower = line.to_ascii_lowercase();
        if let Some(v) = lower.strip_prefix("content-length:") {
            content_length = v.trim().parse().ok()?;
        }
        // Force one request per connection both ways.
        if lower.starts_with("connection:") {
            continue;
        }
        if line == "\r\n" {
            head.extend_from_slice(b"Connection: close\r\n\r\n");
            break;
        }
        head.extend_from_slice(line.as_bytes());
    }
    let mut body = vec![0u8; content_length];
    reader.read_exact(&mut body).ok()?;
    head.extend_from_slice(&body);
    Some(head)
}

/// Sends one request upstream and its answer back.
fn forward(upstream: &str, request: &[u8], client: &mut TcpStream) {
    let Ok(mut up) = TcpStream::connect(upstream) else {
        return;
    };
    let _ = up.set_read_timeout(Some(Duration::from_secs(60)));
    if up.write_all(request).is_err() {
        return;
    }
    let mut response = Vec::new();
    let _ = up.read_to_end(&mut response);
    let _ = client.write_all(&response);
}

/// A proxy to `upstream` that answers every request whose bytes contain `needle` as
/// AWS STS refuses an AssumeRole the caller may not make (403 `AccessDenied`, query
/// protocol), and forwards everything else: an account that cannot be entered, which
/// moto never refuses (it checks no trust policy, and its permission checks see only
/// resource `*`).
pub fn start_denying(upstream: &str, needle: &str) -> FaultProxy {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let upstream = upstream
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .to_string();
    let stop = Arc::new(AtomicBool::new(false));
    let injected = Arc::new(AtomicU64::new(0));
    let forwarded = Arc::new(AtomicU64::new(0));
    let needle = needle.as_bytes().to_vec();
    let (stop2, injected2, forwarded2) = (stop.clone(), injected.clone(), forwarded.clone());
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            if stop2.load(Ordering::SeqCst) {
                break;
            }
            let Ok(mut client) = conn else { continue };
            let (upstream, needle, injected, forwarded) = (
                upstream.clone(),
                needle.clone(),
                injected2.clone(),
                forwarded2.clone(),
            );
            std::thread::spawn(move || {
                let _ = client.set_read_timeout(Some(Duration::from_secs(30)));
                let Some(request) = read_request(&mut client) else {
                    return;
                };
                if request
                    .windows(needle.len())
                    .any(|w| w == needle.as_slice())
                {
                    injected.fetch_add(1, Ordering::SeqCst);
                    let body = "<ErrorResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><Error><Type>Sender</Type><Code>AccessDenied</Code><Message>User: arn:aws:iam::123456789012:user/auditor is not authorized to perform: sts:AssumeRole on resource</Message></Error><RequestId>fault-proxy</RequestId></ErrorResponse>";
                    let _ = write!(client, "HTTP/1.1 403 Forbidden\r\nContent-Type: text/xml\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}", body.len());
                    return;
                }
                forwarded.fetch_add(1, Ordering::SeqCst);
                forward(&upstream, &request, &mut client);
            });
        }
    });
    FaultProxy {
        url,
        stop,
        injected,
        forwarded,
    }
}

/// Starts a proxy to `upstream` (`http://127.0.0.1:PORT`).
pub fn start(upstream: &str, rate: f64, seed: u64, kinds: &[Fault]) -> FaultProxy {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let upstream = upstream
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .to_string();
    let stop = Arc::new(AtomicBool::new(false));
    let injected = Arc::new(AtomicU64::new(0));
    let forwarded = Arc::new(AtomicU64::new(0));
    let rng = Arc::new(Mutex::new(Rng(seed)));
    let kinds = kinds.to_vec();
    let (stop2, injected2, forwarded2) = (stop.clone(), injected.clone(), forwarded.clone());
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            if stop2.load(Ordering::SeqCst) {
                break;
            }
            let Ok(mut client) = conn else { continue };
            let (upstream, rng, kinds, injected, forwarded) = (
                upstream.clone(),
                rng.clone(),
                kinds.clone(),
                injected2.clone(),
                forwarded2.clone(),
            );
            std::thread::spawn(move || {
                let _ = client.set_read_timeout(Some(Duration::from_secs(30)));
                let Some(request) = read_request(&mut client) else {
                    return;
                };
                let (roll, pick) = {
                    let mut r = rng.lock().unwrap();
                    (r.next_f64(), r.next_f64())
                };
                if roll < rate && !kinds.is_empty() {
                    injected.fetch_add(1, Ordering::SeqCst);
                    let json = String::from_utf8_lossy(&request)
                        .to_ascii_lowercase()
                        .contains("x-amz-target:");
                    match kinds[(pick * kinds.len() as f64) as usize % kinds.len()] {
                        Fault::Drop => return,
                        Fault::Unavailable => {
                            let _ = client.write_all(b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
                        }
                        Fault::Throttle => {
                            let (ctype, body) = if json {
                                (
                                    "application/x-amz-json-1.1",
                                    r#"{"__type":"ThrottlingException","message":"Rate exceeded"}"#
                                        .to_string(),
                                )
                            } else {
                                ("text/xml", "<ErrorResponse><Error><Type>Sender</Type><Code>Throttling</Code><Message>Rate exceeded</Message></Error><RequestId>fault-proxy</RequestId></ErrorResponse>".to_string())
                            };
                            let _ = write!(client, "HTTP/1.1 400 Bad Request\r\nContent-Type: {ctype}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}", body.len());
                        }
                    }
                    return;
                }
                forwarded.fetch_add(1, Ordering::SeqCst);
                forward(&upstream, &request, &mut client);
            });
        }
    });
    FaultProxy {
        url,
        stop,
        injected,
        forwarded,
    }
}
