//! Every GCP list is read through [`all_pages`], the one bounded paging loop: Google's
//! lists page with an opaque `nextPageToken`, absent or empty on the last page
//! ([AIP-158](https://google.aip.dev/158)), so the loop's end is decided by the server.
//! A server that, by mistake or on purpose, keeps answering a token would keep an audit
//! going forever and growing its memory.
//!
//! Invariants: a list takes at most [`MAX_PAGES`] requests, and a token the server
//! already gave for this list ends it (the next page would repeat one already read).
//! Either way the list was not read to the end, which the caller reports as a gap
//! (`Availability::Unknown`) naming the operation, never as a complete list. Tokens are
//! remembered as 64-bit digests, so a server sending huge tokens grows nothing but the
//! items it returned.

use std::collections::HashSet;
use std::future::Future;
use std::hash::{BuildHasher, RandomState};

/// The most pages one list may take. At the page sizes this tool asks for (100 to
/// 1,000 items), that is 100,000 items or more of one kind under one parent.
pub const MAX_PAGES: usize = 1_000;

/// Why a list stopped before the server said it ended.
pub fn repeated() -> String {
    "the server answered a page token it had already given (the list would repeat): not read to the end".into()
}

/// Why a list stopped after [`MAX_PAGES`].
pub fn too_many() -> String {
    format!("more than {MAX_PAGES} pages: not read to the end")
}

/// Reads every page of one list: `fetch` asks for the page at a token (empty for the
/// first), `split` takes a page apart into its items and its next-page token, `why`
/// says why a request failed. Returns the items read and, when the list was not read
/// to its end, why (a failed request, a repeated token, or more than [`MAX_PAGES`]).
pub async fn all_pages<R, I, E, F, Fut>(
    fetch: F,
    split: impl Fn(R) -> (Vec<I>, String),
    why: impl Fn(E) -> String,
) -> (Vec<I>, Option<String>)
where
    F: FnMut(String) -> Fut,
    Fut: Future<Output = Result<R, E>>,
{
    all_pages_with(fetch, split, why, |unended| unended).await
}

/// [`all_pages`] for a caller whose failures are not strings: `why` turns a failed
/// request into `W`, `unended` the reason a list was cut short (a repeated token, too
/// many pages).
pub async fn all_pages_with<R, I, E, W, F, Fut>(
    mut fetch: F,
    split: impl Fn(R) -> (Vec<I>, String),
    why: impl Fn(E) -> W,
    unended: impl Fn(String) -> W,
) -> (Vec<I>, Option<W>)
where
    F: FnMut(String) -> Fut,
    Fut: Future<Output = Result<R, E>>,
{
    let hasher = RandomState::new();
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    let mut token = String::new();
    for _ in 0..MAX_PAGES {
        let (items, next) = match fetch(std::mem::take(&mut token)).await {
            Ok(page) => split(page),
            Err(e) => return (out, Some(why(e))),
        };
        out.extend(items);
        if next.is_empty() {
            return (out, None);
        }
        if !seen.insert(hasher.hash_one(&next)) {
            return (out, Some(unended(repeated())));
        }
        token = next;
    }
    (out, Some(unended(too_many())))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn block_on<T>(f: impl Future<Output = T>) -> T {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(f)
    }

    fn run(answer: impl Fn(&str) -> String) -> (Vec<usize>, Option<String>, usize) {
        let calls = std::cell::Cell::new(0);
        let (items, why) = block_on(all_pages(
            |t: String| {
                calls.set(calls.get() + 1);
                let next = answer(&t);
                async move { Ok::<_, String>((vec![1usize], next)) }
            },
            |p| p,
            |e| e,
        ));
        (items, why, calls.get())
    }

    #[test]
    fn a_list_ends_at_an_empty_token() {
        let (items, why, calls) = run(|t| {
            if t.is_empty() {
                "a".into()
            } else {
                String::new()
            }
        });
        assert_eq!((items.len(), why, calls), (2, None, 2));
    }

    /// A server that repeats a token would make the list loop.
    #[test]
    fn a_repeated_token_ends_the_list_unread_to_the_end() {
        let (items, why, calls) = run(|_| "same".into());
        assert_eq!(why, Some(repeated()));
        assert_eq!((items.len(), calls), (2, 2));
    }

    /// A server that answers a fresh token forever would make the list endless.
    #[test]
    fn an_endless_list_stops_after_max_pages() {
        let n = std::cell::Cell::new(0);
        let (items, why, calls) = run(|_| {
            n.set(n.get() + 1);
            format!("t{}", n.get())
        });
        assert_eq!(why, Some(too_many()));
        assert_eq!((items.len(), calls), (MAX_PAGES, MAX_PAGES));
    }

    #[test]
    fn a_failed_request_keeps_what_was_read_and_says_why() {
        let calls = std::cell::Cell::new(0);
        let (items, why) = block_on(all_pages(
            |_t: String| {
                calls.set(calls.get() + 1);
                let c = calls.get();
                async move {
                    match c {
                        1 => Ok((vec![1], "a".to_string())),
                        _ => Err("denied"),
                    }
                }
            },
            |p| p,
            |e: &str| e.to_string(),
        ));
        assert_eq!((items, why), (vec![1], Some("denied".into())));
    }
}
