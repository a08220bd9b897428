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
    answer: None,
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
                answer: None,
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
        vec![
            Deviation {
                method: "*",
                path: "*",
                status: Some(500),
                answer: None,
                reason: "Autotask answers business-rule refusals (deleting a contact a ticket \
                         names) and bad credentials with 500 and {\"errors\": [...]}, which its \
                         description does not list; the test kit also injects 500s",
                source: "../shared/vendors.md, Autotask REST API",
            },
            Deviation {
                method: "GET",
                path: "/V1.0/Contacts/{id}",
                status: Some(200),
                answer: Some(r#"{"item": null}"#),
                reason: "an id the database does not hold is answered 200 {\"item\": null}, where \
                         the description types `item` as the model (the fake answers so; the \
                         connector reads a null item and a 404 alike as gone, so the verification \
                         after an erasure holds with either answer)",
                source: "not in ../shared/vendors.md; the REST API's by-id answer as Autotask \
                         client libraries handle it (UNVERIFIED against a live database)",
            },
        ],
    )
    // The generated description types a filter's `value` as a .NET `ValueItem` object; the API
    // takes the plain JSON value its query documentation shows ("value": "x", or a list for
    // `in`).
    .with_schema_override("/definitions/ValueItem", serde_json::json!({}))
}

/// Microsoft Graph v1.0: the OpenAPI 3.0 slice of the CSDL (`testkit::graph_slice`: the one
/// `.ci/graph-slice` builds with the connector's current paths, or the shared
/// `../shared/specs/graph-v1.0-slice.json` of the paths used at 291776c), served under `/v1.0`.
/// `$batch` sub-requests are checked one by one (`conformance::with_batch_parts`).
pub fn microsoft_graph(spec: Value) -> OpenApi {
    let described = |path: &str| spec["paths"].get(path).is_some();
    // Only where the slice lacks them: the slice `.ci/graph-slice` builds describes them, and
    // then they are validated like every other path.
    let permanent_delete = [
        "/users/{id}/messages/{id_1}/permanentDelete",
        "/users/{id}/contacts/{id_1}/permanentDelete",
    ]
    .into_iter()
    .filter(|path| !described(path))
    .map(|path| Deviation {
        method: "POST",
        path,
        status: None,
        answer: None,
        reason: "added after the shared slice was made (it covers the paths of 291776c); \
                 .ci/graph-slice rebuilds the slice with them from the CSDL",
        source: "learn.microsoft.com/graph/api/message-permanentdelete, \
                 contact-permanentdelete (../shared/vendors.md, newest section)",
    });
    // A rectification's PATCH of a user or contact, likewise.
    let patch = ["/users/{id}", "/users/{id}/contacts/{id_1}"]
        .into_iter()
        .filter(|path| spec["paths"][path].get("patch").is_none())
        .map(|path| Deviation {
            method: "PATCH",
            path,
            status: None,
            answer: None,
            reason: "added after the shared slice was made (it covers the paths of 291776c); \
                     .ci/graph-slice rebuilds the slice with them from the CSDL",
            source: "learn.microsoft.com/graph/api/user-update, contact-update",
        });
    let contact_updated = Deviation {
        method: "PATCH",
        path: "/users/{id}/contacts/{id_1}",
        status: Some(200),
        answer: None,
        reason: "Graph answers a contact's update with 200 and the updated contact; the CSDL \
                 conversion writes 204 for every update",
        source: "learn.microsoft.com/graph/api/contact-update (Response: 200 OK and the contact)",
    };
    let deviations = permanent_delete
        .chain(patch)
        .chain([contact_updated, INJECTED_SERVER_ERROR])
        .collect();
    OpenApi::openapi30(spec, "/v1.0", deviations)
        // `@odata.nextLink` carries an opaque `$skiptoken` Graph makes itself; clients follow the
        // link verbatim (vendors.md: paging).
        .with_ignored_query(&["$skiptoken"])
}
