//! Every known difference between a vendor's published API description and what the vendor
//! (and so its fake) does, in one place, each with the reason and the source. The
//! conformance tests accept exactly these; anything else fails CI.

use serde_json::Value;

use super::conformance::{Deviation, OpenApi};

/// A server error is described by no vendor; the tests inject them to prove the retries.
const INJECTED_SERVER_ERROR: Deviation = Deviation {
    method: "*",
    path: "*",
    status: Some(500),
    reason: "a server error is described by no vendor; the test kit injects one to prove the \
             retry",
    source: "the test kit's fault injection",
};

/// Moneybird API v2 (`../shared/specs/moneybird-openapi.json`, OpenAPI 3.1), served under
/// `/api/v2`.
pub fn moneybird(spec: Value) -> OpenApi {
    OpenApi::new(
        spec,
        "/api/v2",
        vec![
            Deviation {
                method: "DELETE",
                path: "/{administration_id}/contacts/{id}{format}",
                status: Some(422),
                reason: "Moneybird keeps contacts with booked documents (fiscal retention); the \
                         description documents no failure of this delete",
                source: "../shared/vendors.md, Moneybird: Delete (UNVERIFIED 4xx/422)",
            },
            INJECTED_SERVER_ERROR,
        ],
    )
    // The 150-requests-per-5-minutes limit is platform-wide: the description defines its
    // 429 answer once, in components, and attaches it to no operation.
    .with_common_response(429, "#/components/responses/429_too_many_requests")
}

/// Autotask REST v1 (`../shared/specs/autotask-rest-v1.json`, Swagger 2.0), served under
/// `/ATServicesRest`, read as the API answers (`OpenApi::swagger2`).
pub fn autotask(spec: Value) -> OpenApi {
    OpenApi::swagger2(
        spec,
        "/ATServicesRest",
        vec![Deviation {
            method: "*",
            path: "*",
            status: Some(500),
            reason: "Autotask answers business-rule refusals (deleting a contact a ticket names) \
                     and bad credentials with 500 and {\"errors\": [...]}, which its description \
                     does not list; the test kit also injects 500s",
            source: "../shared/vendors.md, Autotask REST API",
        }],
    )
    // The generated description types a filter's `value` as a .NET `ValueItem` object; the API
    // takes the plain JSON value its query documentation shows ("value": "x", or a list for
    // `in`).
    .with_schema_override("/definitions/ValueItem", serde_json::json!({}))
}

/// Microsoft Graph v1.0 (`../shared/specs/graph-v1.0-slice.json`, the OpenAPI 3.0 slice of the
/// CSDL for the paths the connector used at 291776c), served under `/v1.0`. `$batch`
/// sub-requests are checked one by one (`conformance::with_batch_parts`).
pub fn microsoft_graph(spec: Value) -> OpenApi {
    let permanent_delete = |path: &'static str| Deviation {
        method: "POST",
        path,
        status: None,
        reason: "added after the slice was made: the slice covers the paths of 291776c; \
                 rebuilding it needs the odata-openapi tool (tools/graph_build_spec.sh)",
        source: "learn.microsoft.com/graph/api/message-permanentdelete, \
                 contact-permanentdelete (../shared/vendors.md, newest section)",
    };
    OpenApi::openapi30(
        spec,
        "/v1.0",
        vec![
            permanent_delete("/users/{id}/messages/{id_1}/permanentDelete"),
            permanent_delete("/users/{id}/contacts/{id_1}/permanentDelete"),
            INJECTED_SERVER_ERROR,
        ],
    )
    // `@odata.nextLink` carries an opaque `$skiptoken` Graph makes itself; clients follow the
    // link verbatim (vendors.md: paging).
    .with_ignored_query(&["$skiptoken"])
}
