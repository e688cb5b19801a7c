//! Plain JSON calls to the Google APIs no official google-cloud-rust crate covers:
//! the Cloud Storage JSON API's `projects.hmacKeys` (the Rust storage crate has no HMAC
//! methods) and IAM v1's workload identity pools and providers (not in
//! `google-cloud-iam-admin-v1`, whose protos cover service accounts and roles only).
//! Same credentials as the official clients (the factory's), same endpoint override,
//! retries on 429/503 with the same backoff bounds; errors classified like theirs.
//!
//! Invariant: a response body is parsed into the caller's type and never logged, so a
//! field that could carry a secret (an HMAC `secret`, returned only by `create`, which
//! this tool never calls) is dropped unread.

use std::time::Duration;

use serde::de::DeserializeOwned;

use super::live::Failure;

/// A JSON client: the HTTP client, the factory's credentials, and where to send calls.
#[derive(Clone)]
pub struct Rest {
    http: reqwest::Client,
    credentials: google_cloud_auth::credentials::Credentials,
    /// The emulator base URL; `None` for Google's own hosts.
    endpoint: Option<String>,
    attempts: u32,
}

/// Which Google host serves a path.
#[derive(Clone, Copy, Debug)]
pub enum Service {
    Storage,
    Iam,
}

impl Rest {
    pub fn new(
        credentials: google_cloud_auth::credentials::Credentials,
        endpoint: Option<String>,
        attempts: u32,
    ) -> Self {
        Rest {
            http: reqwest::Client::new(),
            credentials,
            endpoint: endpoint.map(|e| e.trim_end_matches('/').to_owned()),
            attempts: attempts.max(1),
        }
    }

    fn url(&self, service: Service, path: &str) -> String {
        let host = match (&self.endpoint, service) {
            (Some(e), _) => e.as_str(),
            (None, Service::Storage) => "https://storage.googleapis.com",
            (None, Service::Iam) => "https://iam.googleapis.com",
        };
        format!("{host}/{}", path.trim_start_matches('/'))
    }

    async fn auth(&self) -> Result<http::HeaderMap, Failure> {
        use google_cloud_auth::credentials::CacheableResource;
        match self.credentials.headers(http::Extensions::new()).await {
            Ok(CacheableResource::New { data, .. }) => Ok(data),
            Ok(CacheableResource::NotModified) => Ok(http::HeaderMap::new()),
            Err(e) => Err(Failure {
                denied: true,
                not_found: false,
                unreachable: false,
                message: format!("no credentials: {e}"),
            }),
        }
    }

    /// Sends one request (`GET`, `PUT`, `DELETE`, `POST`) with an optional JSON body and
    /// parses the answer; retries 429 and 503 with backoff.
    pub(crate) async fn call<T: DeserializeOwned>(
        &self,
        method: reqwest::Method,
        service: Service,
        path: &str,
        query: &[(&str, String)],
        body: Option<&serde_json::Value>,
    ) -> Result<T, Failure> {
        let url = self.url(service, path);
        let mut delay = Duration::from_millis(200);
        let mut attempt = 0;
        loop {
            attempt += 1;
            let mut req = self
                .http
                .request(method.clone(), &url)
                .headers(self.auth().await?)
                .query(query);
            if let Some(b) = body {
                req = req.json(b);
            }
            let outcome = req.send().await;
            let retry = match &outcome {
                Ok(r) => matches!(r.status().as_u16(), 429 | 503),
                Err(e) => e.is_connect() || e.is_timeout(),
            };
            if retry && attempt < self.attempts {
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_secs(10));
                continue;
            }
            return answer(outcome).await;
        }
    }
}

async fn answer<T: DeserializeOwned>(
    outcome: Result<reqwest::Response, reqwest::Error>,
) -> Result<T, Failure> {
    let response = outcome.map_err(|e| Failure {
        denied: false,
        not_found: false,
        unreachable: true,
        message: format!("cannot reach the endpoint: {}", e.without_url()),
    })?;
    let status = response.status().as_u16();
    let bytes = response.bytes().await.map_err(|e| Failure {
        denied: false,
        not_found: false,
        unreachable: true,
        message: format!("the answer was cut: {}", e.without_url()),
    })?;
    if (200..300).contains(&status) {
        let text: &[u8] = if bytes.iter().all(u8::is_ascii_whitespace) {
            b"{}"
        } else {
            &bytes
        };
        return serde_json::from_slice(text).map_err(|e| Failure {
            denied: false,
            not_found: false,
            unreachable: false,
            message: format!("unexpected answer shape: {e}"),
        });
    }
    // Google's error body: {"error": {"code", "message", "status"}}; only the status
    // word and message are kept (they name resources, never values).
    let err: serde_json::Value = serde_json::from_slice(&bytes).unwrap_or_default();
    let word = err["error"]["status"].as_str().unwrap_or_default();
    let text: String = err["error"]["message"]
        .as_str()
        .unwrap_or_default()
        .chars()
        .take(300)
        .collect();
    Err(Failure {
        denied: matches!(status, 401 | 403),
        not_found: status == 404,
        unreachable: false,
        message: if word.is_empty() {
            format!("the service answered HTTP {status}: {text}")
        } else {
            format!("{word}: {text}")
        },
    })
}

/// A failed change in the error the apply layer reports (access, reachability, API).
pub(crate) fn change_error(op: &str, resource: &str, f: Failure) -> crate::error::Error {
    use crate::error::Error;
    use crate::model::Provider;
    let what = format!("{resource}: {}", f.message);
    if f.denied {
        Error::Access {
            provider: Provider::Gcp,
            operation: op.into(),
            what,
            hint: crate::providers::duty::Duty::Apply.gcp_hint(),
        }
    } else if f.unreachable {
        Error::Api {
            provider: Provider::Gcp,
            operation: op.into(),
            what,
            hint: "check the network and --gcp-endpoint; the journal lets apply resume".into(),
        }
    } else {
        Error::Api {
            provider: Provider::Gcp,
            operation: op.into(),
            what,
            hint: "audit again to see the project as it is; if it persists, run with -vv".into(),
        }
    }
}
