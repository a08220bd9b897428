//! Paging helpers: one loop for every vendor's "next page" convention.
//!
//! A connector parses one page into a [`Page`] (its items and the URL of the next page, from
//! a `Link` header, a `nextPageUrl`, `@odata.nextLink` or `d.__next`); the SDK follows the
//! chain. Next-page URLs are checked to stay on the vendor's origin before credentials are
//! sent to them, and a chain that does not end is cut off with an error.

use reqwest::header::{HeaderMap, LINK};
use url::Url;

/// One page of results.
#[derive(Debug)]
pub struct Page<T> {
    /// The items on this page.
    pub items: Vec<T>,
    /// The next page, when there is one.
    pub next: Option<Url>,
}

/// Upper bound on pages followed for one listing (a vendor bug must not loop forever).
pub const MAX_PAGES: usize = 10_000;

/// The `rel="next"` target of an RFC 8288 `Link` header, resolved against `base`.
pub fn link_next(headers: &HeaderMap, base: &Url) -> Option<Url> {
    for value in headers.get_all(LINK) {
        let Ok(value) = value.to_str() else { continue };
        for link in value.split(',') {
            let mut parts = link.split(';');
            let target = parts.next()?.trim();
            let is_next = parts.any(|p| {
                let p = p.trim();
                p.strip_prefix("rel=")
                    .map(|rel| {
                        rel.trim_matches('"')
                            .split_whitespace()
                            .any(|r| r.eq_ignore_ascii_case("next"))
                    })
                    .unwrap_or(false)
            });
            if is_next {
                let target = target.strip_prefix('<')?.strip_suffix('>')?;
                return base.join(target).ok();
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    #[test]
    fn finds_next_among_several_links() {
        let base = Url::parse("https://moneybird.com/api/v2/1/contacts.json?page=1").unwrap();
        let mut headers = HeaderMap::new();
        headers.insert(
            LINK,
            HeaderValue::from_static(
                "<https://moneybird.com/api/v2/1/contacts.json?page=1>; rel=\"prev\", <https://moneybird.com/api/v2/1/contacts.json?page=3>; rel=\"next\"",
            ),
        );
        assert_eq!(
            link_next(&headers, &base).unwrap().as_str(),
            "https://moneybird.com/api/v2/1/contacts.json?page=3"
        );
    }

    #[test]
    fn no_next_is_none() {
        let base = Url::parse("https://x.test/").unwrap();
        let mut headers = HeaderMap::new();
        assert!(link_next(&headers, &base).is_none());
        headers.insert(
            LINK,
            HeaderValue::from_static("<https://x.test/?page=1>; rel=\"prev\""),
        );
        assert!(link_next(&headers, &base).is_none());
    }
}
