//! IT Glue's JSON:API endpoints over the SDK's HTTP client. Bodies use the
//! `application/vnd.api+json` media type; attributes are kebab-case, filters snake_case.

use std::time::Duration;

use dsrhub_connector::http::{HttpClient, Page, Quota, Request, Response, VendorProfile};
use dsrhub_connector::ConnectorError;
use serde_json::{json, Value};

/// "a maximum of 3000 requests within a 5-minute window".
pub const QUOTA: Quota = Quota {
    requests: 3000,
    per_seconds: 300.0,
};
/// Largest page IT Glue serves.
pub const PAGE_SIZE: usize = 1000;
/// JSON:API's media type.
pub const MEDIA_TYPE: &str = "application/vnd.api+json";

/// IT Glue's limits. 429 carries no `Retry-After`; a bad key is answered with 403.
pub fn profile() -> VendorProfile {
    VendorProfile {
        accept: None,
        processor: crate::ID,
        quota: QUOTA,
        max_concurrency: None,
        throttle_wait: Some(Duration::from_secs(60)),
        reset_headers: None,
        daily_headers: None,
        reauth_statuses: &[401, 403],
    }
}

/// One account's API.
#[derive(Debug, Clone)]
pub struct Api {
    http: HttpClient,
}

impl Api {
    pub fn new(http: HttpClient) -> Self {
        Api { http }
    }

    /// Every contact, all pages of 1000.
    pub async fn all_contacts(&self) -> Result<Vec<Value>, ConnectorError> {
        let request = Request::get(self.http.url(&["contacts"])?)
            .query("page[size]", &PAGE_SIZE.to_string())
            .query("page[number]", "1");
        self.http.collect_pages(request, data_page).await
    }

    /// `GET /contacts?filter[id]=a,b,c`: which of these contacts still exist.
    pub async fn contacts_by_id(&self, ids: &[u64]) -> Result<Vec<Value>, ConnectorError> {
        let list: Vec<String> = ids.iter().map(u64::to_string).collect();
        let request = Request::get(self.http.url(&["contacts"])?)
            .query("filter[id]", &list.join(","))
            .query("page[size]", &PAGE_SIZE.to_string());
        self.http.collect_pages(request, data_page).await
    }

    /// `GET /organizations?filter[name]=…`: the organizations of that name.
    pub async fn organizations_named(&self, name: &str) -> Result<Vec<Value>, ConnectorError> {
        let request = Request::get(self.http.url(&["organizations"])?)
            .query("filter[name]", name)
            .query("page[size]", &PAGE_SIZE.to_string());
        self.http.collect_pages(request, data_page).await
    }

    /// `GET /contacts?filter[organization_id]=…`: an organization's contacts.
    pub async fn contacts_of(&self, organization: u64) -> Result<Vec<Value>, ConnectorError> {
        let request = Request::get(self.http.url(&["contacts"])?)
            .query("filter[organization_id]", &organization.to_string())
            .query("page[size]", &PAGE_SIZE.to_string());
        self.http.collect_pages(request, data_page).await
    }

    /// `GET /{kind}/{id}`.
    pub async fn show(&self, kind: &str, id: u64) -> Result<Value, ConnectorError> {
        let value: Value = self
            .http
            .get_json(self.http.url(&[kind, &id.to_string()])?)
            .await?;
        Ok(value.get("data").cloned().unwrap_or(Value::Null))
    }

    /// `GET /{kind}?page[size]=1`: the total from `meta.total-count`.
    pub async fn count(&self, kind: &str) -> Result<u64, ConnectorError> {
        let request = Request::get(self.http.url(&[kind])?).query("page[size]", "1");
        let value: Value = self.http.send(request).await?.json()?;
        value["meta"]["total-count"]
            .as_u64()
            .ok_or_else(|| ConnectorError::permanent("IT Glue's answer has no meta.total-count"))
    }

    /// `DELETE /contacts` with a JSON:API body of ids (IT Glue deletes contacts only in bulk).
    pub async fn delete_contacts(&self, ids: &[u64]) -> Result<(), ConnectorError> {
        let data: Vec<Value> = ids
            .iter()
            .map(|id| json!({ "type": "contacts", "attributes": { "id": id } }))
            .collect();
        let request = Request::delete(self.http.url(&["contacts"])?)
            .json_as(&json!({ "data": data }), MEDIA_TYPE);
        self.http.send(request).await.map(drop)
    }

    /// `PATCH /contacts/{id}` with changed attributes.
    pub async fn update_contact(&self, id: u64, attributes: Value) -> Result<(), ConnectorError> {
        let body = json!({ "data": { "type": "contacts", "attributes": attributes } });
        let request = Request::patch(self.http.url(&["contacts", &id.to_string()])?)
            .json_as(&body, MEDIA_TYPE);
        self.http.send(request).await.map(drop)
    }
}

/// A JSON:API page: `data`, the next page in `links.next`.
fn data_page(response: &Response) -> Result<Page<Value>, ConnectorError> {
    let mut value: Value = response.json()?;
    let items = match value.get_mut("data").map(Value::take) {
        Some(Value::Array(items)) => items,
        _ => {
            return Err(ConnectorError::permanent(
                "IT Glue's answer has no data list",
            ))
        }
    };
    // `meta.next-page` is null on the last page; `links.next` then points nowhere useful.
    let next = match (
        value["meta"]["next-page"].is_null(),
        value["links"]["next"].as_str(),
    ) {
        (false, Some(link)) => Some(
            response
                .url
                .join(link)
                .map_err(|_| ConnectorError::permanent("IT Glue sent an invalid next link"))?,
        ),
        _ => None,
    };
    Ok(Page { items, next })
}
