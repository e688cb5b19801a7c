//! One decoded API request: the method, the percent-decoded path segments, the
//! trailing custom verb (`...:addVersion`), the query pairs and the body, with typed
//! accessors that turn malformed input into 400 INVALID_ARGUMENT instead of panics.

use bytes::Bytes;
use serde::de::DeserializeOwned;

use crate::error::{ApiError, ApiResult};

#[derive(Debug)]
pub struct ApiRequest {
    pub method: String,
    /// Path segments, percent-decoded, without the custom verb.
    pub segments: Vec<String>,
    /// The custom method after the last `:` of the last segment, if any.
    pub verb: Option<String>,
    pub query: Vec<(String, String)>,
    pub body: Bytes,
}

impl ApiRequest {
    /// Splits a request target into segments and verb. Fails on bad percent-encoding.
    pub fn parse(method: &str, path: &str, query: Option<&str>, body: Bytes) -> ApiResult<Self> {
        let mut segments = Vec::new();
        for raw in path.trim_start_matches('/').split('/') {
            let seg = percent_encoding::percent_decode_str(raw)
                .decode_utf8()
                .map_err(|_| {
                    ApiError::invalid("The request path is not valid UTF-8 after percent-decoding.")
                })?;
            segments.push(seg.into_owned());
        }
        let mut verb = None;
        if let Some(last) = segments.last_mut() {
            if let Some(idx) = last.find(':') {
                verb = Some(last[idx + 1..].to_owned());
                last.truncate(idx);
            }
        }
        let query = query
            .map(|q| form_urlencoded::parse(q.as_bytes()).into_owned().collect())
            .unwrap_or_default();
        Ok(ApiRequest {
            method: method.to_owned(),
            segments,
            verb,
            query,
            body,
        })
    }

    /// The last value of a query parameter.
    pub fn param(&self, key: &str) -> Option<&str> {
        self.query
            .iter()
            .rev()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// Every value of a repeated query parameter (`keyTypes=A&keyTypes=B`).
    pub fn params(&self, key: &str) -> Vec<&str> {
        self.query
            .iter()
            .filter(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
            .collect()
    }

    pub fn int_param(&self, key: &str) -> ApiResult<Option<i64>> {
        match self.param(key) {
            None | Some("") => Ok(None),
            Some(v) => v.parse::<i64>().map(Some).map_err(|_| {
                ApiError::invalid(format!("Invalid value at '{key}' (TYPE_INT32), \"{v}\""))
            }),
        }
    }

    pub fn page_size(&self) -> ApiResult<Option<i64>> {
        self.int_param("pageSize")
    }

    pub fn page_token(&self) -> Option<&str> {
        self.param("pageToken")
    }

    /// The body as `T`; an empty body reads as `{}`.
    pub fn json<T: DeserializeOwned>(&self) -> ApiResult<T> {
        let body: &[u8] = if self.body.iter().all(u8::is_ascii_whitespace) {
            b"{}"
        } else {
            &self.body
        };
        serde_json::from_slice(body)
            .map_err(|e| ApiError::invalid(format!("Invalid JSON payload received. {e}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_verb_and_decodes() {
        let r = ApiRequest::parse(
            "POST",
            "/v1/projects/-/serviceAccounts/a%40p.iam.gserviceaccount.com:getIamPolicy",
            Some("options.requestedPolicyVersion=3&keyTypes=A&keyTypes=B"),
            Bytes::new(),
        )
        .unwrap();
        assert_eq!(
            r.segments,
            [
                "v1",
                "projects",
                "-",
                "serviceAccounts",
                "a@p.iam.gserviceaccount.com"
            ]
        );
        assert_eq!(r.verb.as_deref(), Some("getIamPolicy"));
        assert_eq!(r.params("keyTypes"), ["A", "B"]);
        assert_eq!(
            r.int_param("options.requestedPolicyVersion").unwrap(),
            Some(3)
        );
    }

    #[test]
    fn bad_json_is_invalid_argument() {
        let r = ApiRequest::parse("POST", "/x", None, Bytes::from_static(b"{nope")).unwrap();
        let err = r.json::<serde_json::Value>().unwrap_err();
        assert_eq!(err.code, crate::error::Code::InvalidArgument);
    }
}
