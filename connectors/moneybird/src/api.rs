//! Moneybird's endpoints, one method each, over the SDK's HTTP client.
//!
//! Paths keep Moneybird's `.json` format suffix. Ids are checked with
//! [`escape::filter_token`] before they go into a path or a `filter=` value, because Moneybird's
//! `key:value,key:value` filter syntax has no escaping.

use std::time::Duration;

use dsrhub_connector::error::not_found_as_none;
use dsrhub_connector::escape;
use dsrhub_connector::http::{
    link_next, HttpClient, Page, Quota, Request, ResetHeaders, Response, VendorProfile,
};
use dsrhub_connector::ConnectorError;
use serde_json::{json, Map, Value};
use url::Url;

/// Moneybird's documented quota: 150 requests per 5 minutes (per IP address).
pub const QUOTA: Quota = Quota {
    requests: 150,
    per_seconds: 300.0,
};

/// Largest page Moneybird serves.
pub const MAX_PER_PAGE: usize = 100;

/// Moneybird's limits and headers, for the SDK.
pub fn profile() -> VendorProfile {
    VendorProfile {
        accept: None,
        processor: crate::ID,
        quota: QUOTA,
        max_concurrency: None,
        throttle_wait: Some(Duration::from_secs(30)),
        reset_headers: Some(ResetHeaders {
            remaining: "RateLimit-Remaining",
            reset: "RateLimit-Reset",
        }),
        daily_headers: None,
        reauth_statuses: &[401],
    }
}

/// One administration's API.
#[derive(Debug, Clone)]
pub struct Api {
    http: HttpClient,
    administration: String,
}

impl Api {
    pub fn new(http: HttpClient, administration: String) -> Self {
        Api {
            http,
            administration,
        }
    }

    pub fn administration(&self) -> &str {
        &self.administration
    }

    fn url(&self, path: &[&str]) -> Result<Url, ConnectorError> {
        let mut segments = vec![self.administration.as_str()];
        segments.extend_from_slice(path);
        self.http.url(&segments)
    }

    /// `GET /administrations.json`, with the answer's headers (rate-limit headroom).
    pub async fn administrations(&self) -> Result<(Vec<Value>, Response), ConnectorError> {
        let response = self
            .http
            .send(Request::get(self.http.url(&["administrations.json"])?))
            .await?;
        Ok((response.json()?, response))
    }

    /// `GET /{adm}/contacts.json?query=…`, all pages, archived contacts included.
    pub async fn search_contacts(&self, query: &str) -> Result<Vec<Value>, ConnectorError> {
        let query = escape::search_term(query)?;
        let request = Request::get(self.url(&["contacts.json"])?)
            .query("query", query)
            .query("include_archived", "true")
            .query("per_page", &MAX_PER_PAGE.to_string());
        self.http.collect_pages(request, array_page).await
    }

    /// `GET /{adm}/contacts.json` without a query: every contact, archived included.
    pub async fn all_contacts(&self) -> Result<Vec<Value>, ConnectorError> {
        let request = Request::get(self.url(&["contacts.json"])?)
            .query("include_archived", "true")
            .query("per_page", &MAX_PER_PAGE.to_string());
        self.http.collect_pages(request, array_page).await
    }

    /// `GET /{adm}/sales_invoices.json?filter=state:all,period:…,contact_id:{id}`, all pages.
    /// The period is explicit and wide: a filter replaces Moneybird's defaults, whose period
    /// is only this financial year, and an old invoice missed is one neither retained nor
    /// listed.
    pub async fn invoices_of(&self, contact_id: &str) -> Result<Vec<Value>, ConnectorError> {
        let contact_id = escape::filter_token(contact_id)?;
        let period = invoice_period(jiff::ZonedDateTime::now().year());
        let request = Request::get(self.url(&["sales_invoices.json"])?)
            .query(
                "filter",
                &format!("state:all,period:{period},contact_id:{contact_id}"),
            )
            .query("per_page", &MAX_PER_PAGE.to_string());
        self.http.collect_pages(request, array_page).await
    }

    /// `GET /{adm}/sales_invoices.json?filter=state:all,period:…`, all pages: every invoice
    /// of the administration (for the sweep: each contact's last invoice date).
    pub async fn all_invoices(&self) -> Result<Vec<Value>, ConnectorError> {
        let period = invoice_period(jiff::ZonedDateTime::now().year());
        let request = Request::get(self.url(&["sales_invoices.json"])?)
            .query("filter", &format!("state:all,period:{period}"))
            .query("per_page", &MAX_PER_PAGE.to_string());
        self.http.collect_pages(request, array_page).await
    }

    /// `GET /{adm}/recurring_sales_invoices.json?filter=state:{active|inactive}`, all pages:
    /// every subscription, running or stopped.
    pub async fn all_recurring(&self, active: bool) -> Result<Vec<Value>, ConnectorError> {
        let state = if active { "active" } else { "inactive" };
        let request = Request::get(self.url(&["recurring_sales_invoices.json"])?)
            .query("filter", &format!("state:{state}"))
            .query("per_page", &MAX_PER_PAGE.to_string());
        self.http.collect_pages(request, array_page).await
    }

    /// `GET /{adm}/recurring_sales_invoices.json?filter=state:{active|inactive},contact_id:{id}`,
    /// all pages: the contact's subscriptions, running (`active`) or stopped.
    pub async fn recurring_of(
        &self,
        contact_id: &str,
        active: bool,
    ) -> Result<Vec<Value>, ConnectorError> {
        let contact_id = escape::filter_token(contact_id)?;
        let state = if active { "active" } else { "inactive" };
        let request = Request::get(self.url(&["recurring_sales_invoices.json"])?)
            .query("filter", &format!("state:{state},contact_id:{contact_id}"))
            .query("per_page", &MAX_PER_PAGE.to_string());
        self.http.collect_pages(request, array_page).await
    }

    /// `GET /{adm}/{kind}/synchronization.json`: ids and versions of every record.
    pub async fn synchronization(&self, kind: &str) -> Result<Vec<Value>, ConnectorError> {
        self.http
            .get_json(self.url(&[kind, "synchronization.json"])?)
            .await
    }

    /// `GET /{adm}/contacts/{id}.json`.
    pub async fn contact(&self, id: &str) -> Result<Value, ConnectorError> {
        self.http.get_json(self.contact_url(id, None)?).await
    }

    /// `GET /{adm}/contacts/{contact}/contact_people/{id}.json`.
    pub async fn contact_person(&self, contact: &str, id: &str) -> Result<Value, ConnectorError> {
        self.http.get_json(self.person_url(contact, id)?).await
    }

    /// `GET /{adm}/sales_invoices/{id}.json`.
    pub async fn invoice(&self, id: &str) -> Result<Value, ConnectorError> {
        self.http.get_json(self.invoice_url(id)?).await
    }

    /// `PATCH /{adm}/contacts/{id}.json` with `{"contact": changes}`.
    pub async fn update_contact(
        &self,
        id: &str,
        changes: Map<String, Value>,
    ) -> Result<(), ConnectorError> {
        let request =
            Request::patch(self.contact_url(id, None)?).json(&json!({ "contact": changes }));
        self.http.send(request).await.map(drop)
    }

    /// `PATCH /{adm}/contacts/{contact}/contact_people/{id}.json` with the changed fields.
    pub async fn update_contact_person(
        &self,
        contact: &str,
        id: &str,
        changes: Map<String, Value>,
    ) -> Result<(), ConnectorError> {
        let request = Request::patch(self.person_url(contact, id)?)
            .json(&json!({ "contact_person": changes }));
        self.http.send(request).await.map(drop)
    }

    /// `DELETE /{adm}/contacts/{contact}/notes/{id}.json`; `false` when it was already gone.
    pub async fn delete_contact_note(
        &self,
        contact: &str,
        id: &str,
    ) -> Result<bool, ConnectorError> {
        let contact = escape::filter_token(contact)?;
        let id = escape::filter_token(id)?;
        let url = self.url(&["contacts", contact, "notes", &format!("{id}.json")])?;
        gone_is_false(self.http.send(Request::delete(url)).await)
    }

    /// `PATCH /{adm}/contacts/{id}/archive.json`.
    pub async fn archive_contact(&self, id: &str) -> Result<(), ConnectorError> {
        self.http
            .send(Request::patch(self.contact_url(id, Some("archive.json"))?))
            .await
            .map(drop)
    }

    /// `DELETE /{adm}/contacts/{id}.json`; `Ok(false)` when it was already gone.
    pub async fn delete_contact(&self, id: &str) -> Result<bool, ConnectorError> {
        gone_is_false(
            self.http
                .send(Request::delete(self.contact_url(id, None)?))
                .await,
        )
    }

    /// `DELETE /{adm}/contacts/{contact}/contact_people/{id}.json`; `Ok(false)` when gone.
    pub async fn delete_contact_person(
        &self,
        contact: &str,
        id: &str,
    ) -> Result<bool, ConnectorError> {
        gone_is_false(
            self.http
                .send(Request::delete(self.person_url(contact, id)?))
                .await,
        )
    }

    /// `DELETE /{adm}/sales_invoices/{id}.json`; `Ok(false)` when gone.
    pub async fn delete_invoice(&self, id: &str) -> Result<bool, ConnectorError> {
        gone_is_false(self.http.send(Request::delete(self.invoice_url(id)?)).await)
    }

    fn contact_url(&self, id: &str, action: Option<&str>) -> Result<Url, ConnectorError> {
        let id = escape::filter_token(id)?;
        match action {
            None => self.url(&["contacts", &format!("{id}.json")]),
            Some(action) => self.url(&["contacts", id, action]),
        }
    }

    fn person_url(&self, contact: &str, id: &str) -> Result<Url, ConnectorError> {
        let contact = escape::filter_token(contact)?;
        let id = escape::filter_token(id)?;
        self.url(&["contacts", contact, "contact_people", &format!("{id}.json")])
    }

    fn invoice_url(&self, id: &str) -> Result<Url, ConnectorError> {
        let id = escape::filter_token(id)?;
        self.url(&["sales_invoices", &format!("{id}.json")])
    }
}

/// Every invoice a contact can have: from the year Moneybird started (2008) through next year
/// (invoices dated ahead), as `YYYYMMDD..YYYYMMDD`.
fn invoice_period(this_year: i16) -> String {
    format!("20080101..{}1231", this_year + 1)
}

/// A list answer: a JSON array, next page in the `Link` header.
fn array_page(response: &Response) -> Result<Page<Value>, ConnectorError> {
    Ok(Page {
        items: response.json()?,
        next: link_next(&response.headers, &response.url),
    })
}

fn gone_is_false(result: Result<Response, ConnectorError>) -> Result<bool, ConnectorError> {
    not_found_as_none(result).map(|r| r.is_some())
}
