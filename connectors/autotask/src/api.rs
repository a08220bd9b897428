//! Autotask's REST endpoints, one method each, over the SDK's HTTP client.
//!
//! Query filters are JSON (`{"op":"eq","field":…,"value":…}`): values are serialised by
//! `serde_json`, which escapes them, so no value can change the query's structure. Ids that go
//! into paths are numbers.

use std::time::Duration;

use dsrhub_connector::error::not_found_as_none;
use dsrhub_connector::http::{HttpClient, Page, Quota, Request, Response, VendorProfile};
use dsrhub_connector::ConnectorError;
use serde_json::{json, Value};
use url::Url;

/// 10,000 requests per rolling hour per database (all integrations together).
pub const QUOTA: Quota = Quota {
    requests: 10_000,
    per_seconds: 3600.0,
};
/// 3 concurrent requests per integration and endpoint; the SDK caps the whole client at 3.
pub const THREADS: usize = 3;
/// Autotask's largest page.
pub const MAX_RECORDS: usize = 500;
/// Autotask refuses queries with more `or` conditions.
pub const MAX_OR_CONDITIONS: usize = 500;

/// Autotask's limits, for the SDK. 429s carry no `Retry-After`: wait 30 s.
pub fn profile() -> VendorProfile {
    VendorProfile {
        accept: None,
        processor: crate::ID,
        quota: QUOTA,
        max_concurrency: Some(THREADS),
        throttle_wait: Some(Duration::from_secs(30)),
        reset_headers: None,
        daily_headers: None,
        reauth_statuses: &[401],
    }
}

/// An `eq` condition.
pub fn eq(field: &str, value: impl Into<Value>) -> Value {
    json!({ "op": "eq", "field": field, "value": value.into() })
}

/// An `or` group of conditions.
pub fn or(items: Vec<Value>) -> Value {
    json!({ "op": "or", "items": items })
}

/// One zone's API.
#[derive(Debug, Clone)]
pub struct Api {
    http: HttpClient,
}

impl Api {
    pub fn new(http: HttpClient) -> Self {
        Api { http }
    }

    fn url(&self, path: &[&str]) -> Result<Url, ConnectorError> {
        self.http.url(path)
    }

    /// `POST /{entity}/query` with `filter`, following `pageDetails.nextPageUrl`.
    pub async fn query(
        &self,
        entity: &str,
        filter: Vec<Value>,
    ) -> Result<Vec<Value>, ConnectorError> {
        let body = json!({ "MaxRecords": MAX_RECORDS, "filter": filter });
        let request = Request::post(self.url(&[entity, "query"])?).json(&body);
        self.http.collect_pages(request, items_page).await
    }

    /// `POST /{entity}/query/count`.
    pub async fn count(&self, entity: &str) -> Result<u64, ConnectorError> {
        let body = json!({ "filter": [{ "op": "exist", "field": "id" }] });
        let response = self
            .http
            .send(Request::post(self.url(&[entity, "query", "count"])?).json(&body))
            .await?;
        let value: Value = response.json()?;
        value["queryCount"]
            .as_u64()
            .ok_or_else(|| ConnectorError::permanent("Autotask's count answer has no queryCount"))
    }

    /// `GET /ThresholdInformation`: `(requests used, allowed)` in the current window, by every
    /// integration of the database.
    pub async fn threshold(&self) -> Result<(u64, u64), ConnectorError> {
        let body: Value = self
            .http
            .send(Request::get(self.url(&["ThresholdInformation"])?))
            .await?
            .json()?;
        let field = |f: &str| body.get(f).and_then(Value::as_u64);
        match (
            field("currentTimeframeRequestCount"),
            field("externalRequestThreshold"),
        ) {
            (Some(used), Some(allowed)) => Ok((used, allowed)),
            _ => Err(ConnectorError::permanent(
                "Autotask's ThresholdInformation answer has no counts",
            )),
        }
    }

    /// `GET /{entity}/{id}` → the item, `None` when it does not exist.
    pub async fn get(&self, entity: &str, id: u64) -> Result<Option<Value>, ConnectorError> {
        let url = self.url(&[entity, &id.to_string()])?;
        let Some(response) = not_found_as_none(self.http.send(Request::get(url)).await)? else {
            return Ok(None);
        };
        let value: Value = response.json()?;
        Ok(value.get("item").cloned().filter(|v| !v.is_null()))
    }

    /// `DELETE /Companies/{company}/Contacts/{id}`; `Ok(false)` when it was already gone.
    pub async fn delete_contact(&self, company: u64, id: u64) -> Result<bool, ConnectorError> {
        let url = self.url(&[
            "Companies",
            &company.to_string(),
            "Contacts",
            &id.to_string(),
        ])?;
        not_found_as_none(self.http.send(Request::delete(url)).await).map(|r| r.is_some())
    }

    /// `PATCH /Companies/{company}/Contacts` with `changes` (which include `id`).
    pub async fn update_contact(
        &self,
        company: u64,
        changes: &Value,
    ) -> Result<(), ConnectorError> {
        let url = self.url(&["Companies", &company.to_string(), "Contacts"])?;
        self.http
            .send(Request::patch(url).json(changes))
            .await
            .map(drop)
    }

    /// The notes of a ticket (`POST /TicketNotes/query`, `ticketID eq`).
    pub async fn ticket_notes(&self, ticket: u64) -> Result<Vec<Value>, ConnectorError> {
        self.query("TicketNotes", vec![eq("ticketID", ticket)])
            .await
    }

    /// `PATCH /Tickets/{ticket}/Notes` with `changes` (which include the note's `id`).
    pub async fn update_ticket_note(
        &self,
        ticket: u64,
        changes: &Value,
    ) -> Result<(), ConnectorError> {
        let url = self.url(&["Tickets", &ticket.to_string(), "Notes"])?;
        self.http
            .send(Request::patch(url).json(changes))
            .await
            .map(drop)
    }

    /// `PATCH /Tickets` with `changes` (which include `id`).
    pub async fn update_ticket(&self, changes: &Value) -> Result<(), ConnectorError> {
        self.http
            .send(Request::patch(self.url(&["Tickets"])?).json(changes))
            .await
            .map(drop)
    }
}

/// `{"items": […], "pageDetails": {"nextPageUrl": …}}`.
fn items_page(response: &Response) -> Result<Page<Value>, ConnectorError> {
    let mut value: Value = response.json()?;
    let items = match value.get_mut("items").map(Value::take) {
        Some(Value::Array(items)) => items,
        _ => {
            return Err(ConnectorError::permanent(
                "Autotask's query answer has no items",
            ))
        }
    };
    let next = value["pageDetails"]["nextPageUrl"]
        .as_str()
        .map(|u| {
            Url::parse(u)
                .map_err(|_| ConnectorError::permanent("Autotask sent an invalid nextPageUrl"))
        })
        .transpose()?;
    Ok(Page { items, next })
}
