//! Microsoft Graph endpoints, one method each, over the SDK's HTTP client.
//!
//! Lists answer `{"value":[…],"@odata.nextLink":"…"}`; next links are followed verbatim.
//! Filter values go through [`escape::odata_string`], search phrases through
//! [`escape::kql_phrase`], path segments are encoded by the SDK.

use dsrhub_connector::error::not_found_as_none;
use dsrhub_connector::escape;
use dsrhub_connector::http::{
    BatchRequest, HttpClient, Page, Quota, Request, Response, VendorProfile,
};
use dsrhub_connector::ConnectorError;
use jiff::civil::Date;
use reqwest::header::{HeaderName, HeaderValue};
use serde_json::Value;
use url::Url;

/// Outlook's published limit: 10,000 requests per 10 minutes per app and mailbox. The whole
/// connector is paced to it (stricter than per mailbox).
pub const QUOTA: Quota = Quota {
    requests: 10_000,
    per_seconds: 600.0,
};

/// Sub-requests per `$batch` call (Graph's maximum).
pub const BATCH_SIZE: usize = 20;

/// Addresses per filter or search (Graph limits the number of `or` clauses).
pub const ADDRESSES_PER_QUERY: usize = 5;

/// Graph's limits and headers, for the SDK.
pub fn profile() -> VendorProfile {
    VendorProfile {
        accept: None,
        processor: crate::ID,
        quota: QUOTA,
        // Outlook allows 4 concurrent requests per mailbox; the connector keeps to 4 in all.
        max_concurrency: Some(4),
        // Graph nearly always sends Retry-After; without it, exponential backoff.
        throttle_wait: None,
        reset_headers: None,
        daily_headers: None,
        reauth_statuses: &[401],
    }
}

/// What a mailbox query looks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MailboxQuery {
    Contacts,
    Messages,
}

/// Fields read for matching and listing; bodies are fetched only for exports.
pub const USER_SELECT: &str = "id,displayName,mail,userPrincipalName,proxyAddresses,accountEnabled";
pub const CONTACT_SELECT: &str = "id,displayName,emailAddresses";
pub const MESSAGE_SELECT: &str =
    "id,subject,receivedDateTime,from,toRecipients,ccRecipients,bccRecipients,parentFolderId";
/// The message size, an extended MAPI property (`PidTagMessageSize`): v1.0 has no plain
/// size property.
pub const MESSAGE_SIZE: &str = "singleValueExtendedProperties($filter=id eq 'Integer 0x0E08')";
/// Messages per page when listing (Graph allows up to 1000).
pub const MESSAGE_PAGE: &str = "250";

/// Graph returns at most this many results for one message `$search` ("A $search request
/// returns up to 1,000 results"), silently.
pub const SEARCH_CAP: usize = 1000;

/// The first day a split search looks at (before any mailbox the hub will meet).
const EARLIEST_MAIL: Date = jiff::civil::date(1990, 1, 1);

/// One tenant's Graph API.
#[derive(Debug, Clone)]
pub struct Api {
    http: HttpClient,
}

pub fn page(response: &Response) -> Result<Page<Value>, ConnectorError> {
    parse_page(&response.json()?)
}

fn parse_page(body: &Value) -> Result<Page<Value>, ConnectorError> {
    let items = body
        .get("value")
        .and_then(Value::as_array)
        .cloned()
        .ok_or_else(|| ConnectorError::permanent("Graph answered without `value`"))?;
    let next = match body.get("@odata.nextLink").and_then(Value::as_str) {
        Some(link) => Some(
            Url::parse(link)
                .map_err(|_| ConnectorError::permanent("Graph's nextLink is not a URL"))?,
        ),
        None => None,
    };
    Ok(Page { items, next })
}

fn eventual(request: Request) -> Request {
    request.header(
        HeaderName::from_static("consistencylevel"),
        HeaderValue::from_static("eventual"),
    )
}

impl Api {
    pub fn new(http: HttpClient) -> Self {
        Api { http }
    }

    /// The URL relative to Graph's root, as `$batch` wants it.
    fn relative(&self, url: &Url) -> String {
        let base = self.http.base().as_str().trim_end_matches('/');
        url.as_str()
            .strip_prefix(base)
            .unwrap_or(url.path())
            .to_string()
    }

    /// Directory users with one of `emails` as mail, UPN or proxy address.
    pub async fn users_matching(&self, emails: &[String]) -> Result<Vec<Value>, ConnectorError> {
        let mut terms = Vec::new();
        for email in emails {
            let literal = escape::odata_string(email)?;
            let proxy = escape::odata_string(&format!("smtp:{email}"))?;
            terms.push(format!("mail eq {literal}"));
            terms.push(format!("userPrincipalName eq {literal}"));
            terms.push(format!("proxyAddresses/any(p:p eq {proxy})"));
        }
        // A default query, not an advanced one: advanced queries (`ConsistencyLevel: eventual`)
        // read an eventually consistent index, stale for verifying an erasure.
        let request = Request::get(self.http.url(&["users"])?)
            .query("$filter", &terms.join(" or "))
            .query("$select", USER_SELECT);
        self.http.collect_pages(request, page).await
    }

    /// The top-level mail folders of `mailbox` named `name` (`displayName eq`, which Graph
    /// compares without case).
    pub async fn folders_named(
        &self,
        mailbox: &str,
        name: &str,
    ) -> Result<Vec<Value>, ConnectorError> {
        let request = Request::get(self.http.url(&["users", mailbox, "mailFolders"])?)
            .query(
                "$filter",
                &format!("displayName eq {}", escape::odata_string(name)?),
            )
            .query("$select", "id,displayName");
        self.http.collect_pages(request, page).await
    }

    /// The messages in folder `folder` of `mailbox`: their parties and dates, no content.
    pub async fn messages_in_folder(
        &self,
        mailbox: &str,
        folder: &str,
    ) -> Result<Vec<Value>, ConnectorError> {
        let request = Request::get(self.http.url(&["users", mailbox, "messages"])?)
            .query(
                "$filter",
                &format!("parentFolderId eq {}", escape::odata_string(folder)?),
            )
            .query(
                "$select",
                "id,from,toRecipients,ccRecipients,bccRecipients,receivedDateTime,parentFolderId",
            )
            .query("$top", MESSAGE_PAGE);
        self.http.collect_pages(request, page).await
    }

    /// The URL of one mailbox query for `emails`.
    fn mailbox_url(
        &self,
        mailbox: &str,
        query: MailboxQuery,
        emails: &[String],
    ) -> Result<Url, ConnectorError> {
        let request = match query {
            MailboxQuery::Contacts => {
                let terms = emails
                    .iter()
                    .map(|e| Ok(format!("a/address eq {}", escape::odata_string(e)?)))
                    .collect::<Result<Vec<_>, ConnectorError>>()?;
                Request::get(self.http.url(&["users", mailbox, "contacts"])?)
                    .query(
                        "$filter",
                        &format!("emailAddresses/any(a:{})", terms.join(" or ")),
                    )
                    .query("$select", CONTACT_SELECT)
                    .query("$top", "100")
            }
            MailboxQuery::Messages => return self.messages_url(mailbox, emails, None),
        };
        Ok(request.url().clone())
    }

    /// A message search in `mailbox` for `emails`, restricted to the days `[from, before)`
    /// (KQL `received>=…` / `received<…`) when `window` is given.
    fn messages_url(
        &self,
        mailbox: &str,
        emails: &[String],
        window: Option<(Date, Date)>,
    ) -> Result<Url, ConnectorError> {
        let phrases = emails
            .iter()
            .map(|e| escape::kql_phrase(&format!("participants:{e}")))
            .collect::<Result<Vec<_>, _>>()?
            .join(" OR ");
        let search = match window {
            None => phrases,
            Some((from, before)) => {
                format!("({phrases}) AND received>={from} AND received<{before}")
            }
        };
        let request = Request::get(self.http.url(&["users", mailbox, "messages"])?)
            .query("$search", &search)
            .query("$select", MESSAGE_SELECT)
            .query("$expand", MESSAGE_SIZE)
            .query("$top", MESSAGE_PAGE);
        Ok(request.url().clone())
    }

    /// Every item of the pages from `url` to `keep`; how many there were.
    async fn each_item(
        &self,
        url: Url,
        keep: &mut impl FnMut(&Value) -> Result<(), ConnectorError>,
    ) -> Result<usize, ConnectorError> {
        let mut seen = 0;
        self.http
            .collect_pages(Request::get(url), |response| {
                let p = page(response)?;
                seen += p.items.len();
                for item in &p.items {
                    keep(item)?;
                }
                Ok(Page {
                    items: Vec::<()>::new(),
                    next: p.next,
                })
            })
            .await?;
        Ok(seen)
    }

    /// The results of one message search — those already fetched (`held`) and the pages from
    /// `next` — handed to `keep` when they stay under [`SEARCH_CAP`], else dropped and `false`
    /// returned (the caller splits the search). At most the cap is held at once.
    async fn uncapped(
        &self,
        mut held: Vec<Value>,
        next: Option<Url>,
        keep: &mut impl FnMut(&Value) -> Result<(), ConnectorError>,
    ) -> Result<bool, ConnectorError> {
        if let Some(next) = next {
            self.http.ensure_same_origin(&next)?;
            self.each_item(next, &mut |item| {
                held.push(item.clone());
                Ok(())
            })
            .await?;
        }
        if held.len() >= SEARCH_CAP {
            return Ok(false);
        }
        for item in &held {
            keep(item)?;
        }
        Ok(true)
    }

    /// A message search that hit Graph's cap (at most [`SEARCH_CAP`] results, the rest left
    /// out silently) is searched again by received date, halving the days until each search
    /// stays under the cap. What more than the cap of messages received on one day would
    /// hide is an error naming the mailbox: never a search reported complete that was not.
    async fn messages_beyond_the_cap(
        &self,
        setting: usize,
        mailbox: &str,
        emails: &[String],
        keep: &mut impl FnMut(&Value) -> Result<(), ConnectorError>,
    ) -> Result<(), ConnectorError> {
        let tomorrow = jiff::ZonedDateTime::now()
            .with_time_zone(jiff::tz::TimeZone::UTC)
            .date()
            .tomorrow()
            .map_err(|_| ConnectorError::permanent("the date is out of range"))?;
        let mut windows = vec![(EARLIEST_MAIL, tomorrow)];
        while let Some((from, before)) = windows.pop() {
            let url = self.messages_url(mailbox, emails, Some((from, before)))?;
            if self.uncapped(Vec::new(), Some(url), keep).await? {
                continue;
            }
            let days = from.until(before).map(|s| s.get_days()).unwrap_or(0);
            if days <= 1 {
                return Err(ConnectorError::new(
                    dsrhub_connector::ErrorKind::InvalidInput,
                    format!(
                        "processors.{}.mailboxes[{setting}]: more than {SEARCH_CAP} matching \
                         messages were received on {from}; Graph returns at most {SEARCH_CAP} \
                         per search, so the mailbox could not be searched completely",
                        crate::ID
                    ),
                ));
            }
            let middle = from
                .checked_add(jiff::Span::new().days(days / 2))
                .map_err(|_| ConnectorError::permanent("the date is out of range"))?;
            windows.push((from, middle));
            windows.push((middle, before));
        }
        Ok(())
    }

    /// Run `queries` (index in the config's `mailboxes`, mailbox, kind) for `emails` through
    /// `$batch`, following each answer's next links; one list per query, in order. A mailbox
    /// that no longer exists (a former employee's, deleted) holds nothing to find: it is
    /// skipped with a warning naming the setting; `check` reports it as an error.
    ///
    /// `keep` receives each listed item of query `i`, page by page: 100,000 listed messages
    /// are never all held as JSON, nor twice as records.
    pub async fn mailbox_queries(
        &self,
        queries: &[(usize, &str, MailboxQuery)],
        emails: &[String],
        mut keep: impl FnMut(usize, &Value) -> Result<(), ConnectorError>,
    ) -> Result<(), ConnectorError> {
        let requests = queries
            .iter()
            .enumerate()
            .map(|(i, (_, mailbox, kind))| {
                Ok(BatchRequest::get(
                    i.to_string(),
                    self.relative(&self.mailbox_url(mailbox, *kind, emails)?),
                ))
            })
            .collect::<Result<Vec<_>, ConnectorError>>()?;
        let batch_url = self.http.url(&["$batch"])?;
        let answers = self
            .http
            .send_batch(&batch_url, &requests, BATCH_SIZE)
            .await?;
        for (i, answer) in answers.into_iter().enumerate() {
            if let Err(e) = &answer {
                if e.kind == dsrhub_connector::ErrorKind::NotFound {
                    // Never skipped: the subject's mail there would go unsearched while the
                    // task said "done". A person fixes the setting (`dsrhub check` names it).
                    return Err(ConnectorError::new(
                        dsrhub_connector::ErrorKind::InvalidInput,
                        format!(
                            "processors.{}.mailboxes[{}] does not exist (a deleted user, or a \
                             typo): that mailbox could not be searched",
                            crate::ID,
                            queries[i].0
                        ),
                    ));
                }
            }
            let answer = answer.map_err(|e| ConnectorError {
                message: format!(
                    "processors.{}.mailboxes[{}]: {}",
                    crate::ID,
                    queries[i].0,
                    e.message
                ),
                ..e
            })?;
            let first = parse_page(&answer.body)?;
            let (setting, mailbox, kind) = queries[i];
            if kind == MailboxQuery::Messages {
                // Held until the search is known to be under Graph's cap (at most the cap
                // at once); a capped one is dropped and searched again by date.
                let complete = self
                    .uncapped(first.items, first.next, &mut |item| keep(i, item))
                    .await?;
                if !complete {
                    self.messages_beyond_the_cap(setting, mailbox, emails, &mut |item| {
                        keep(i, item)
                    })
                    .await?;
                }
                continue;
            }
            for item in &first.items {
                keep(i, item)?;
            }
            if let Some(next) = first.next {
                self.http.ensure_same_origin(&next)?;
                // Items are handed over as each page arrives; nothing is collected here.
                self.each_item(next, &mut |item| keep(i, item)).await?;
            }
        }
        Ok(())
    }

    /// `GET url` and its JSON; `None` when it does not exist.
    async fn get(&self, url: Url) -> Result<Option<Value>, ConnectorError> {
        match not_found_as_none(self.http.send(Request::get(url)).await)? {
            Some(response) => Ok(Some(response.json()?)),
            None => Ok(None),
        }
    }

    /// A user, with the fields an access export shows.
    pub fn user_url(&self, id: &str) -> Result<Url, ConnectorError> {
        let mut url = self.http.url(&["users", id])?;
        url.query_pairs_mut().append_pair(
            "$select",
            "id,displayName,givenName,surname,mail,userPrincipalName,proxyAddresses,accountEnabled,jobTitle,mobilePhone,officeLocation",
        );
        Ok(url)
    }

    /// A user with the properties a rectification reads (`crate::rights`).
    pub async fn user_for_change(&self, id: &str) -> Result<Option<Value>, ConnectorError> {
        let mut url = self.http.url(&["users", id])?;
        url.query_pairs_mut().append_pair(
            "$select",
            "id,displayName,givenName,surname,mail,businessPhones,mobilePhone,streetAddress,postalCode,city,jobTitle,onPremisesSyncEnabled",
        );
        self.get(url).await
    }

    /// An Outlook contact, whole.
    pub async fn contact(&self, mailbox: &str, id: &str) -> Result<Option<Value>, ConnectorError> {
        self.get(self.contact_url(mailbox, id)?).await
    }

    /// `PATCH` the properties in `body` (a user answers 204, a contact 200 with itself).
    pub async fn patch(&self, segments: &[&str], body: &Value) -> Result<(), ConnectorError> {
        let url = self.http.url(segments)?;
        self.http
            .send(Request::patch(url).json(body))
            .await
            .map(drop)
    }

    /// An Outlook contact.
    pub fn contact_url(&self, mailbox: &str, id: &str) -> Result<Url, ConnectorError> {
        self.http.url(&["users", mailbox, "contacts", id])
    }

    /// A whole message for an access export: headers, body and the attachments' names and
    /// sizes (not their content).
    pub fn message_url(&self, mailbox: &str, id: &str) -> Result<Url, ConnectorError> {
        let mut url = self.http.url(&["users", mailbox, "messages", id])?;
        url.query_pairs_mut()
            .append_pair("$expand", "attachments($select=name,size,contentType)");
        Ok(url)
    }

    pub async fn user(&self, id: &str) -> Result<Option<Value>, ConnectorError> {
        self.get(self.user_url(id)?).await
    }

    /// Many GETs through `$batch`; one result per URL, in order (`None`: not found).
    pub async fn get_many(
        &self,
        urls: &[Url],
    ) -> Result<Vec<Result<Option<Value>, ConnectorError>>, ConnectorError> {
        let requests: Vec<BatchRequest> = urls
            .iter()
            .enumerate()
            .map(|(i, url)| BatchRequest::get(i.to_string(), self.relative(url)))
            .collect();
        let batch_url = self.http.url(&["$batch"])?;
        let answers = self
            .http
            .send_batch(&batch_url, &requests, BATCH_SIZE)
            .await?;
        Ok(answers
            .into_iter()
            .map(|a| not_found_as_none(a.map(|a| a.body)))
            .collect())
    }

    /// `DELETE`; `false` when it was already gone.
    pub async fn delete(&self, segments: &[&str]) -> Result<bool, ConnectorError> {
        let url = self.http.url(segments)?;
        Ok(not_found_as_none(self.http.send(Request::delete(url)).await)?.is_some())
    }

    /// `POST {segments}/permanentDelete`: the item leaves the mailbox for the Purges folder
    /// (a plain `DELETE` only moves it to Deleted Items); `false` when it was already gone.
    pub async fn permanent_delete(&self, segments: &[&str]) -> Result<bool, ConnectorError> {
        let mut all = segments.to_vec();
        all.push("permanentDelete");
        let url = self.http.url(&all)?;
        Ok(not_found_as_none(self.http.send(Request::post(url)).await)?.is_some())
    }

    /// `GET /directory/deletedItems/{id}`: a soft-deleted user, if it is there.
    pub async fn deleted_user(&self, id: &str) -> Result<Option<Value>, ConnectorError> {
        self.get(self.http.url(&["directory", "deletedItems", id])?)
            .await
    }

    /// Whether the mailbox (a user) exists.
    pub async fn mailbox_exists(&self, mailbox: &str) -> Result<bool, ConnectorError> {
        let mut url = self.http.url(&["users", mailbox])?;
        url.query_pairs_mut().append_pair("$select", "id");
        Ok(self.get(url).await?.is_some())
    }

    /// `GET /users/$count`.
    pub async fn user_count(&self) -> Result<u64, ConnectorError> {
        let request = eventual(Request::get(self.http.url(&["users", "$count"])?));
        let response = self.http.send(request).await?;
        String::from_utf8_lossy(&response.body)
            .trim()
            .trim_start_matches('\u{feff}')
            .parse()
            .map_err(|_| ConnectorError::permanent("Graph's $count is not a number"))
    }

    /// `GET /organization`: the tenant's country.
    pub async fn country(&self) -> Result<Option<String>, ConnectorError> {
        let mut url = self.http.url(&["organization"])?;
        url.query_pairs_mut()
            .append_pair("$select", "countryLetterCode");
        let body: Value = self.http.get_json(url).await?;
        Ok(body
            .get("value")
            .and_then(Value::as_array)
            .and_then(|v| v.first())
            .and_then(|o| o.get("countryLetterCode"))
            .and_then(Value::as_str)
            .map(str::to_owned))
    }
}
