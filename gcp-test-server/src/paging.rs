//! List pagination as Google's APIs do it (AIP-158): `pageSize` (0 or absent means the
//! service default, larger values are capped), an opaque `pageToken`, and
//! `nextPageToken` present only when another page exists.
//!
//! Tokens are cursors, not offsets: each carries the sort key of the last item returned
//! and a fingerprint of the list it belongs to (parent + filter). So a page never repeats
//! or skips items when others are created meanwhile, and a token from another list, or
//! a token that is not ours, is answered with 400 INVALID_ARGUMENT.
//!
//! Fault hook: under the `endless-pages` / `repeat-page` fault modes the server answers
//! a `fault_token` as `nextPageToken`; it wraps the request's own token, so the next
//! request serves the same page again (never an error) and the list never ends.

use crate::error::{ApiError, ApiResult};
use crate::util::{b64url_nopad, b64url_nopad_decode, fnv64};

/// Page size limits of one list method.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    pub default: usize,
    pub max: usize,
}

/// Returns one page of `items` (already in list order, each with a sort key that
/// ascends in that order) and the token for the next page, if any.
pub fn paginate<T>(
    items: Vec<(String, T)>,
    scope: &str,
    page_size: Option<i64>,
    page_token: Option<&str>,
    limits: Limits,
) -> ApiResult<(Vec<T>, Option<String>)> {
    let size = match page_size {
        None | Some(0) => limits.default,
        Some(n) if n < 0 => return Err(ApiError::invalid("page_size must not be negative.")),
        Some(n) => usize::try_from(n).unwrap_or(usize::MAX).min(limits.max),
    };
    let fingerprint = format!("{:016x}", fnv64(scope.as_bytes()));
    let (_, inner) = unwrap_fault_token(page_token.unwrap_or(""));
    let cursor = match inner.as_str() {
        "" => None,
        token => Some(decode_token(token, &fingerprint)?),
    };
    let mut page = Vec::new();
    let mut last_key = None;
    let mut more = false;
    for (key, item) in items {
        if cursor.as_deref().is_some_and(|c| key.as_str() <= c) {
            continue;
        }
        if page.len() == size {
            more = true;
            break;
        }
        last_key = Some(key);
        page.push(item);
    }
    let next = match (more, last_key) {
        (true, Some(key)) => Some(b64url_nopad(format!("p1|{fingerprint}|{key}").as_bytes())),
        _ => None,
    };
    Ok((page, next))
}

/// The `nextPageToken` a never-ending-list fault answers to a request that sent
/// `page_token`: the same one again (`fresh` false), or one counting one page more.
pub fn fault_token(page_token: Option<&str>, fresh: bool) -> String {
    let token = page_token.unwrap_or("");
    if !fresh && !token.is_empty() {
        return token.to_owned();
    }
    let (n, inner) = unwrap_fault_token(token);
    b64url_nopad(format!("e1|{}|{inner}", n + 1).as_bytes())
}

/// A fault token's page count and the token it wraps; any other token is itself, at 0.
fn unwrap_fault_token(token: &str) -> (u64, String) {
    let text = b64url_nopad_decode(token).and_then(|raw| String::from_utf8(raw).ok());
    if let Some(rest) = text.as_deref().and_then(|t| t.strip_prefix("e1|")) {
        if let Some((n, inner)) = rest.split_once('|') {
            if let Ok(n) = n.parse::<u64>() {
                return (n, inner.to_owned());
            }
        }
    }
    (0, token.to_owned())
}

fn decode_token(token: &str, fingerprint: &str) -> ApiResult<String> {
    let bad = || ApiError::invalid("The provided page token is invalid.");
    let raw = b64url_nopad_decode(token).ok_or_else(bad)?;
    let text = String::from_utf8(raw).map_err(|_| bad())?;
    let mut parts = text.splitn(3, '|');
    match (parts.next(), parts.next(), parts.next()) {
        (Some("p1"), Some(fp), Some(key)) if fp == fingerprint => Ok(key.to_owned()),
        _ => Err(bad()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn items(n: usize) -> Vec<(String, usize)> {
        (0..n).map(|i| (format!("{i:04}"), i)).collect()
    }
    const L: Limits = Limits { default: 3, max: 5 };

    #[test]
    fn walks_all_pages_without_repeats() {
        let mut token = None;
        let mut seen = Vec::new();
        loop {
            let (page, next) = paginate(items(7), "s", Some(2), token.as_deref(), L).unwrap();
            seen.extend(page);
            match next {
                Some(t) => token = Some(t),
                None => break,
            }
        }
        assert_eq!(seen, (0..7).collect::<Vec<_>>());
    }

    #[test]
    fn a_fault_token_serves_the_page_it_wraps_again() {
        let (first, next) = paginate(items(7), "s", Some(2), None, L).unwrap();
        let endless = fault_token(None, true);
        assert_eq!(
            paginate(items(7), "s", Some(2), Some(&endless), L)
                .unwrap()
                .0,
            first
        );
        let wrapped = fault_token(next.as_deref(), true);
        let again = fault_token(Some(&wrapped), true);
        assert_ne!(
            wrapped, again,
            "endless-pages answers a fresh token each page"
        );
        assert_eq!(
            paginate(items(7), "s", Some(2), Some(&again), L).unwrap(),
            paginate(items(7), "s", Some(2), next.as_deref(), L).unwrap()
        );
        assert_eq!(
            fault_token(Some(&wrapped), false),
            wrapped,
            "repeat-page repeats"
        );
    }

    #[test]
    fn defaults_caps_and_rejects() {
        assert_eq!(paginate(items(7), "s", None, None, L).unwrap().0.len(), 3);
        assert_eq!(
            paginate(items(7), "s", Some(100), None, L).unwrap().0.len(),
            5
        );
        assert!(paginate(items(7), "s", Some(-1), None, L).is_err());
        assert!(paginate(items(7), "s", None, Some("garbage"), L).is_err());
        let (_, next) = paginate(items(7), "s", Some(2), None, L).unwrap();
        assert!(paginate(items(7), "other", Some(2), next.as_deref(), L).is_err());
        let (page, next) = paginate(items(2), "s", Some(2), None, L).unwrap();
        assert_eq!(page.len(), 2);
        assert!(next.is_none(), "no token on the last page");
    }
}
