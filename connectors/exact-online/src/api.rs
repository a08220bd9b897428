//! Exact Online's REST endpoints, one method each, over the SDK's HTTP client.
//!
//! OData v2: lists answer `{"d":{"results":[…],"__next":"…"}}` (60 per page), one entity
//! `{"d":{…}}`. Every `$filter` value goes through [`escape::odata_string`] or
//! [`escape::odata_guid`]; ids are checked to be GUIDs before they go into a path.

use std::time::Duration;

use dsrhub_connector::error::not_found_as_none;
use dsrhub_connector::escape;
use dsrhub_connector::http::{
    HttpClient, Page, Quota, Request, ResetHeaders, Response, VendorProfile,
};
use dsrhub_connector::ConnectorError;
use serde_json::{Map, Value};
use url::Url;

/// Exact Online's shaping limit: 60 calls per minute per app and division. The SDK paces the
/// whole connector to it (stricter than per division, and simple).
pub const MINUTELY: Quota = Quota {
    requests: 60,
    per_seconds: 60.0,
};

/// Exact Online's limits and headers, for the SDK.
pub fn profile() -> VendorProfile {
    VendorProfile {
        accept: Some("application/json"),
        processor: crate::ID,
        quota: MINUTELY,
        // Sequential: Exact's best practices say parallel requests to one division are queued
        // in random order and data integrity is not guaranteed (vendors.md).
        max_concurrency: Some(1),
        // A 429 without headers: wait for the minute to pass.
        throttle_wait: Some(Duration::from_secs(60)),
        // Reset values are epoch milliseconds; the SDK's parser knows.
        reset_headers: Some(ResetHeaders {
            remaining: "X-RateLimit-Minutely-Remaining",
            reset: "X-RateLimit-Minutely-Reset",
        }),
        daily_headers: Some(ResetHeaders {
            remaining: "X-RateLimit-Remaining",
            reset: "X-RateLimit-Reset",
        }),
        reauth_statuses: &[401],
    }
}

/// An entity set: service and entity name, e.g. `crm/Contacts`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Entity {
    pub service: &'static str,
    pub name: &'static str,
    /// The key property (`ID`, or `InvoiceID` for sales invoices).
    pub key: &'static str,
}

pub const CONTACTS: Entity = Entity {
    service: "crm",
    name: "Contacts",
    key: "ID",
};
pub const ACCOUNTS: Entity = Entity {
    service: "crm",
    name: "Accounts",
    key: "ID",
};
/// Bank accounts (IBAN, holder name) of customers and suppliers.
pub const BANK_ACCOUNTS: Entity = Entity {
    service: "crm",
    name: "BankAccounts",
    key: "ID",
};
pub const SALES_INVOICES: Entity = Entity {
    service: "salesinvoice",
    name: "SalesInvoices",
    key: "InvoiceID",
};
pub const SUBSCRIPTIONS: Entity = Entity {
    service: "subscription",
    name: "Subscriptions",
    key: "EntryID",
};
pub const TRANSACTION_LINES: Entity = Entity {
    service: "financialtransaction",
    name: "TransactionLines",
    key: "ID",
};

/// The API of one user, across divisions.
#[derive(Debug, Clone)]
pub struct Api {
    http: HttpClient,
}

fn results(response: &Response) -> Result<Page<Value>, ConnectorError> {
    let body: Value = response.json()?;
    let d = body
        .get("d")
        .ok_or_else(|| ConnectorError::permanent("Exact Online answered without a `d` object"))?;
    let items = match d.get("results") {
        Some(Value::Array(items)) => items.clone(),
        _ => {
            return Err(ConnectorError::permanent(
                "Exact Online answered without `d.results`",
            ))
        }
    };
    let next =
        match d.get("__next").and_then(Value::as_str) {
            Some(next) => Some(Url::parse(next).map_err(|_| {
                ConnectorError::permanent("Exact Online's `__next` link is not a URL")
            })?),
            None => None,
        };
    Ok(Page { items, next })
}

impl Api {
    pub fn new(http: HttpClient) -> Self {
        Api { http }
    }

    /// One call to `division`, its scope refusal said as a configuration problem.
    async fn send(&self, division: u32, request: Request) -> Result<Response, ConnectorError> {
        self.http
            .send(request)
            .await
            .map_err(|e| out_of_scope(division, e))
    }

    fn entity_url(&self, division: u32, entity: Entity) -> Result<Url, ConnectorError> {
        self.http
            .url(&[&division.to_string(), entity.service, entity.name])
    }

    fn key_url(&self, division: u32, entity: Entity, id: &str) -> Result<Url, ConnectorError> {
        let literal = escape::odata_guid(id)?;
        self.http.url(&[
            &division.to_string(),
            entity.service,
            &format!("{}({literal})", entity.name),
        ])
    }

    /// `GET current/Me`: the user's current division.
    pub async fn current_division(&self) -> Result<u32, ConnectorError> {
        let url = self.http.url(&["current", "Me"])?;
        let request = Request::get(url).query("$select", "CurrentDivision");
        let page = results(&self.http.send(request).await?)?;
        page.items
            .first()
            .and_then(|me| me.get("CurrentDivision"))
            .and_then(Value::as_u64)
            .and_then(|d| u32::try_from(d).ok())
            .ok_or_else(|| ConnectorError::permanent("current/Me named no current division"))
    }

    /// `GET {division}/system/Divisions`: every division the user can access.
    pub async fn divisions(&self, current: u32) -> Result<Vec<u32>, ConnectorError> {
        let url = self
            .http
            .url(&[&current.to_string(), "system", "Divisions"])?;
        let request = Request::get(url).query("$select", "Code");
        let items = self.http.collect_pages(request, results).await?;
        let mut codes: Vec<u32> = items
            .iter()
            .filter_map(|d| d.get("Code").and_then(Value::as_u64))
            .filter_map(|d| u32::try_from(d).ok())
            .collect();
        codes.sort_unstable();
        codes.dedup();
        Ok(codes)
    }

    /// Every entity of `entity` in `division` matching `filter`, with `select`ed fields.
    pub async fn list(
        &self,
        division: u32,
        entity: Entity,
        filter: &str,
        select: &str,
    ) -> Result<Vec<Value>, ConnectorError> {
        let request = Request::get(self.entity_url(division, entity)?)
            .query("$filter", filter)
            .query("$select", select);
        self.http
            .collect_pages(request, results)
            .await
            .map_err(|e| out_of_scope(division, e))
    }

    /// Whether any entity matches `filter` (`$top=1`: one call, whatever the count).
    pub async fn any(
        &self,
        division: u32,
        entity: Entity,
        filter: &str,
    ) -> Result<bool, ConnectorError> {
        let request = Request::get(self.entity_url(division, entity)?)
            .query("$filter", filter)
            .query("$select", entity.key)
            .query("$top", "1");
        let page = results(&self.send(division, request).await?)?;
        Ok(!page.items.is_empty())
    }

    /// The entity with key `id`; `None` when it does not exist. Asked as a `$filter` on the
    /// key (`$top=1`), never as `GET {Entity}(guid'…')`: Exact answers a missing key with a 404,
    /// and every 4xx counts against its 10-errors-per-hour budget, so a lookup that only wants
    /// to know whether a record is still there must not provoke one.
    pub async fn get(
        &self,
        division: u32,
        entity: Entity,
        id: &str,
    ) -> Result<Option<Map<String, Value>>, ConnectorError> {
        let filter = format!("{} eq {}", entity.key, escape::odata_guid(id)?);
        let request = Request::get(self.entity_url(division, entity)?)
            .query("$filter", &filter)
            .query("$top", "1");
        let page = results(&self.send(division, request).await?)?;
        match page.items.into_iter().next() {
            None => Ok(None),
            Some(Value::Object(found)) => Ok(Some(found)),
            Some(_) => Err(ConnectorError::permanent(
                "Exact Online answered with a result that is not an object",
            )),
        }
    }

    /// `PUT {Entity}(guid'…')` with the changed fields (Exact treats PUT as a partial update).
    pub async fn update(
        &self,
        division: u32,
        entity: Entity,
        id: &str,
        changes: &Map<String, Value>,
    ) -> Result<(), ConnectorError> {
        let url = self.key_url(division, entity, id)?;
        self.send(division, Request::put(url).json(changes)).await?;
        Ok(())
    }

    /// `DELETE {Entity}(guid'…')`; `false` when it was already gone.
    pub async fn delete(
        &self,
        division: u32,
        entity: Entity,
        id: &str,
    ) -> Result<bool, ConnectorError> {
        let url = self.key_url(division, entity, id)?;
        Ok(not_found_as_none(self.send(division, Request::delete(url)).await)?.is_some())
    }

    /// `GET {Entity}/$count`.
    pub async fn count(&self, division: u32, entity: Entity) -> Result<u64, ConnectorError> {
        let mut url = self.entity_url(division, entity)?;
        url.path_segments_mut()
            .map_err(|_| ConnectorError::invalid("bad base URL"))?
            .push("$count");
        let response = self.send(division, Request::get(url)).await?;
        String::from_utf8_lossy(&response.body)
            .trim()
            .parse()
            .map_err(|_| ConnectorError::permanent("Exact Online's $count is not a number"))
    }
}

/// A published app may be authorised for some divisions only: Exact answers 403 "User division
/// is not within division scope" for the others, which `system/Divisions` still lists. That is
/// a configuration problem, said as one (and not retried).
fn out_of_scope(division: u32, e: ConnectorError) -> ConnectorError {
    if e.status == Some(403) && e.message.contains("division scope") {
        ConnectorError::invalid(format!(
            "processors.{}.divisions: division {division} is outside the divisions this app was \
             authorised for (Exact answered 403 \"not within division scope\"); list only the \
             authorised ones in `divisions`, or sign in again and grant this division",
            crate::ID
        ))
    } else {
        e
    }
}
