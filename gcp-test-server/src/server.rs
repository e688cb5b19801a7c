//! The HTTP/1.1 server: accepts loopback connections, sends `/_admin/` requests to the
//! admin API and every other request through the gate (request counter, fault mode,
//! then IAM enforcement when it is on) and the router, and writes JSON answers.
//! [`Server::start`] runs it on a background thread with its own Tokio runtime, so
//! sync tests, async tests and the binary all use it the same way.
//!
//! Invariants: a handler never panics the server (all input errors are [`ApiError`]s,
//! locks recover from poisoning); a dropped-connection fault closes the connection
//! without writing a byte; the server stops when its [`ServerHandle`] is dropped.

use std::collections::BTreeMap;
use std::net::{SocketAddr, ToSocketAddrs};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use serde_json::{json, Value};
use tokio::sync::oneshot;

use crate::enforce::{self, IamConfig};
use crate::error::{ApiError, ApiResult, Code};
use crate::faults::{FaultConfig, FaultKind, Faults};
use crate::paging;
use crate::router::{self, Outcome, Stop};
use crate::store::Store;
use crate::wire::ApiRequest;

/// Request bodies above this size are refused (Secret Manager payloads are <= 64 KiB).
const MAX_BODY: usize = 8 * 1024 * 1024;

/// Request counts: the total and one count per `METHOD /route/{template}`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RequestCounts {
    pub total: u64,
    pub by_route: BTreeMap<String, u64>,
}

impl RequestCounts {
    pub fn clear(&mut self) {
        *self = RequestCounts::default();
    }

    pub fn to_json(&self) -> Value {
        json!({ "total": self.total, "byRoute": self.by_route })
    }

    /// The count of one route label, e.g. `GET /v1/projects/{project}/secrets`.
    pub fn route(&self, label: &str) -> u64 {
        self.by_route.get(label).copied().unwrap_or(0)
    }
}

/// State shared by every connection.
#[derive(Debug, Default)]
pub struct Shared {
    store: Mutex<Store>,
    counts: Mutex<RequestCounts>,
    faults: Mutex<Faults>,
    /// IAM enforcement: `None` (the default) lets every caller do everything.
    iam: Mutex<Option<IamConfig>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding a lock would be a bug, but must not take the server down.
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Shared {
    pub fn lock_store(&self) -> MutexGuard<'_, Store> {
        lock(&self.store)
    }
    pub fn lock_counts(&self) -> MutexGuard<'_, RequestCounts> {
        lock(&self.counts)
    }
    pub fn lock_faults(&self) -> MutexGuard<'_, Faults> {
        lock(&self.faults)
    }
    pub fn lock_iam(&self) -> MutexGuard<'_, Option<IamConfig>> {
        lock(&self.iam)
    }
    pub fn counts(&self) -> RequestCounts {
        self.lock_counts().clone()
    }

    /// Turns IAM enforcement on with `config` (replacing any previous one), or off.
    pub fn set_iam(&self, config: Option<IamConfig>) -> ApiResult<()> {
        if let Some(c) = &config {
            c.validate()?;
        }
        *self.lock_iam() = config;
        Ok(())
    }

    /// Forgets all resources, counts, the fault mode and IAM enforcement.
    pub fn reset(&self) {
        self.lock_store().reset();
        self.lock_counts().clear();
        // Turning faults off cannot fail.
        let _ = self.lock_faults().configure(None);
        *self.lock_iam() = None;
    }

    /// Serves one API request; `Err(FaultKind::Drop)` means: close without answering.
    /// `authorization` is the request's `Authorization` header, read only when IAM
    /// enforcement is on.
    fn api(
        &self,
        method: &str,
        path: &str,
        query: Option<&str>,
        authorization: Option<&str>,
        body: Bytes,
    ) -> Result<(u16, Value), FaultKind> {
        let req = match ApiRequest::parse(method, path, query, body) {
            Ok(r) => r,
            Err(e) => {
                self.record(router::UNMATCHED);
                return Ok((e.code.http(), e.body()));
            }
        };
        let mut store = self.lock_store();
        // A request served whose answer is then lost (`drop-after-serve`).
        let mut lose_answer = false;
        // A list page answered with a never-ending `nextPageToken` (`endless-pages`, `repeat-page`).
        let mut endless: Option<FaultKind> = None;
        // Count, then faults (one draw per request, enforced or not), then IAM.
        let mut gate = |label: &str, store: &Store| {
            self.record(label);
            match self.lock_faults().draw() {
                Some(FaultKind::DropAfterServe) => lose_answer = true,
                Some(kind @ (FaultKind::EndlessPages | FaultKind::RepeatPage)) => {
                    endless = Some(kind)
                }
                Some(fault) => return Some(Stop::Fault(fault)),
                None => {}
            }
            let iam = self.lock_iam();
            let config = iam.as_ref()?;
            enforce::check(config, store, label, &req, authorization)
                .err()
                .map(Stop::Refuse)
        };
        let (label, mut outcome) = router::dispatch(&mut store, &req, &mut gate);
        if let Outcome::Done(Ok(v)) = &mut outcome {
            if label.ends_with(":testIamPermissions") {
                if let Some(config) = self.lock_iam().as_ref() {
                    // Under enforcement, answer only the permissions the caller holds.
                    let asked = v["permissions"].as_array().cloned().unwrap_or_default();
                    let held: Vec<Value> =
                        enforce::held(config, &store, &label, &req, authorization, &asked)
                            .into_iter()
                            .cloned()
                            .collect();
                    match v.as_object_mut() {
                        Some(obj) if held.is_empty() => {
                            obj.remove("permissions");
                        }
                        Some(obj) => {
                            obj.insert("permissions".to_owned(), Value::Array(held));
                        }
                        None => {}
                    }
                }
            }
        }
        drop(store);
        let list_page = ["pageSize", "maxResults", "pageToken"]
            .iter()
            .any(|k| req.param(k).is_some());
        if let (Some(kind), true, Outcome::Done(Ok(Value::Object(page)))) =
            (endless, list_page, &mut outcome)
        {
            let token =
                paging::fault_token(req.param("pageToken"), kind == FaultKind::EndlessPages);
            page.insert("nextPageToken".to_owned(), Value::String(token));
        }
        if lose_answer {
            return Err(FaultKind::DropAfterServe);
        }
        match outcome {
            Outcome::Refused(r) => Ok((r.status(), r.body())),
            Outcome::Done(Ok(v)) => Ok((200, v)),
            Outcome::Done(Err(e)) => Ok((e.code.http(), e.body())),
            Outcome::Faulted(FaultKind::TooManyRequests) => {
                let e = ApiError::new(
                    Code::ResourceExhausted,
                    "Quota exceeded (injected by the GCP test server's fault mode).",
                );
                Ok((e.code.http(), e.body()))
            }
            Outcome::Faulted(FaultKind::Unavailable) => {
                let e = ApiError::new(Code::Unavailable, "The service is currently unavailable (injected by the GCP test server's fault mode).");
                Ok((e.code.http(), e.body()))
            }
            Outcome::Faulted(
                kind @ (FaultKind::Drop
                | FaultKind::DropAfterServe
                | FaultKind::EndlessPages
                | FaultKind::RepeatPage),
            ) => Err(kind),
        }
    }

    fn record(&self, label: &str) {
        let mut counts = self.lock_counts();
        counts.total += 1;
        *counts.by_route.entry(label.to_owned()).or_default() += 1;
    }
}

/// The error that makes hyper close a connection without a response.
#[derive(Debug, thiserror::Error)]
#[error("connection dropped by fault injection")]
struct DroppedConnection;

fn respond(status: u16, body: &Value) -> Response<Full<Bytes>> {
    let bytes = serde_json::to_vec_pretty(body).unwrap_or_else(|_| b"{}".to_vec());
    let mut resp = Response::new(Full::new(Bytes::from(bytes)));
    *resp.status_mut() =
        hyper::StatusCode::from_u16(status).unwrap_or(hyper::StatusCode::INTERNAL_SERVER_ERROR);
    resp.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static("application/json; charset=UTF-8"),
    );
    resp
}

async fn serve_request(
    shared: Arc<Shared>,
    req: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, DroppedConnection> {
    let (parts, body) = req.into_parts();
    let body = match Limited::new(body, MAX_BODY).collect().await {
        Ok(b) => b.to_bytes(),
        Err(_) => {
            let e = ApiError::invalid(format!(
                "The request body could not be read or is larger than {MAX_BODY} bytes."
            ));
            return Ok(respond(e.code.http(), &e.body()));
        }
    };
    let path = parts.uri.path();
    let method = parts.method.as_str();
    if path == "/_admin" || path.starts_with("/_admin/") {
        let (status, v) = crate::admin::handle(&shared, method, path, &body);
        return Ok(respond(status, &v));
    }
    let authorization = parts
        .headers
        .get(hyper::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    match shared.api(method, path, parts.uri.query(), authorization, body) {
        Ok((status, v)) => Ok(respond(status, &v)),
        Err(_) => Err(DroppedConnection),
    }
}

async fn accept_loop(
    listener: tokio::net::TcpListener,
    shared: Arc<Shared>,
    mut shutdown: oneshot::Receiver<()>,
) {
    loop {
        let stream = tokio::select! {
            _ = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                // Transient accept errors (e.g. too many open files): keep serving.
                Err(_) => continue,
            },
        };
        let _ = stream.set_nodelay(true);
        let shared = shared.clone();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |req| serve_request(shared.clone(), req));
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

/// Entry point: starts a server.
pub struct Server;

impl Server {
    /// Binds `addr` (port 0 picks a free port) and serves on a background thread.
    /// The server stops when the returned handle is dropped.
    pub fn start(addr: impl ToSocketAddrs) -> std::io::Result<ServerHandle> {
        let listener = std::net::TcpListener::bind(addr)?;
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_io()
            .build()?;
        let shared = Arc::new(Shared::default());
        let (tx, rx) = oneshot::channel();
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let thread_shared = shared.clone();
        let thread = std::thread::Builder::new()
            .name(format!("gcp-test-server-{}", addr.port()))
            .spawn(move || {
                runtime.block_on(async move {
                    match tokio::net::TcpListener::from_std(listener) {
                        Ok(listener) => {
                            let _ = ready_tx.send(Ok(()));
                            accept_loop(listener, thread_shared, rx).await;
                        }
                        Err(e) => {
                            let _ = ready_tx.send(Err(e));
                        }
                    }
                });
            })?;
        match ready_rx.recv() {
            Ok(Ok(())) => Ok(ServerHandle {
                addr,
                shared,
                shutdown: Some(tx),
                thread: Some(thread),
            }),
            Ok(Err(e)) => Err(e),
            Err(_) => Err(std::io::Error::other(
                "the server thread ended before it was ready",
            )),
        }
    }
}

/// A running server. Dropping it stops the server.
#[derive(Debug)]
pub struct ServerHandle {
    addr: SocketAddr,
    shared: Arc<Shared>,
    shutdown: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl ServerHandle {
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT`, without a trailing slash.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Forgets all resources, request counts, the fault mode and IAM enforcement.
    pub fn reset(&self) {
        self.shared.reset();
    }

    pub fn request_counts(&self) -> RequestCounts {
        self.shared.counts()
    }

    /// Installs a fault mode (`None` or a rate of 0 turns faults off).
    pub fn set_faults(&self, config: Option<FaultConfig>) -> Result<(), ApiError> {
        self.shared.lock_faults().configure(config)
    }

    /// Turns IAM enforcement on (replacing any previous configuration): from now on
    /// every API request needs `Authorization: Bearer TOKEN` with a token of `config`,
    /// and the permission its route needs (see [`crate::enforce`]).
    pub fn enforce_iam(&self, config: IamConfig) -> Result<(), ApiError> {
        self.shared.set_iam(Some(config))
    }

    /// Turns IAM enforcement off: every caller may do everything again.
    pub fn stop_enforcing_iam(&self) {
        // Turning enforcement off cannot fail.
        let _ = self.shared.set_iam(None);
    }

    /// The enforcement configuration, if enforcement is on.
    pub fn iam_enforcement(&self) -> Option<IamConfig> {
        self.shared.lock_iam().clone()
    }
}

impl Drop for ServerHandle {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
