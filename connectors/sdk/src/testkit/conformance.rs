//! Conformance with a vendor's published API description: every request a connector sent and
//! every answer a fake gave (captured by [`crate::fakekit::capture`]) is checked against the
//! vendor's OpenAPI document. Bodies are validated by the `jsonschema` crate (JSON Schema
//! draft 2020-12, the dialect of OpenAPI 3.1); this module only finds the operation a request
//! addresses and the schemas that apply to it.
//!
//! What a vendor does that its description does not say (Moneybird's 422 on deleting a
//! contact with booked documents) is listed as a [`Deviation`], with the reason and the
//! source; every other difference is a failure.

use std::collections::HashMap;
use std::sync::Mutex;

use serde_json::Value;

use crate::fakekit::Exchange;

/// A known difference between the vendor's description and what it (and so its fake) does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Deviation {
    /// The method it concerns; `*` for every method.
    pub method: &'static str,
    /// The path template (as in the description) it concerns; `*` for every path.
    pub path: &'static str,
    /// The answer status it concerns (`None`: the request).
    pub status: Option<u16>,
    /// Only answers whose body is this JSON (`None`: any answer of that status).
    pub answer: Option<&'static str>,
    /// Why it is accepted.
    pub reason: &'static str,
    /// Where the behaviour is documented.
    pub source: &'static str,
}

/// A vendor's OpenAPI 3.1 (or Swagger 2.0) description, ready to check exchanges against.
pub struct OpenApi {
    spec: Value,
    /// Swagger 2.0 as Autotask publishes it (see [`OpenApi::swagger2`]).
    swagger2: bool,
    /// OpenAPI 3.0 (`nullable`, draft-4-like schemas), as the Graph slice is.
    oas30: bool,
    /// Query parameters the description leaves out but the vendor itself puts in the links
    /// it hands out (Graph's `$skiptoken` in `@odata.nextLink`).
    ignored_query: Vec<&'static str>,
    /// The path prefix of the vendor's server URL (`/api/v2` for Moneybird).
    base_path: String,
    deviations: Vec<Deviation>,
    /// Answers the description defines once for every operation (Moneybird's 429), by status.
    common: HashMap<u16, Value>,
    validators: Mutex<HashMap<String, std::sync::Arc<jsonschema::Validator>>>,
}

impl std::fmt::Debug for OpenApi {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpenApi")
            .field("base_path", &self.base_path)
            .field("deviations", &self.deviations.len())
            .finish_non_exhaustive()
    }
}

impl OpenApi {
    /// `spec` (an OpenAPI 3.1 document), served under `base_path`, with the deviations
    /// accepted for this vendor.
    pub fn new(spec: Value, base_path: &str, deviations: Vec<Deviation>) -> OpenApi {
        OpenApi {
            spec,
            swagger2: false,
            oas30: false,
            ignored_query: Vec::new(),
            base_path: base_path.trim_end_matches('/').to_string(),
            deviations,
            common: HashMap::new(),
            validators: Mutex::new(HashMap::new()),
        }
    }

    /// A Swagger 2.0 description as Autotask publishes it, read the way the real API answers:
    /// property names compared case-insensitively (the document writes `FirstName`, the API
    /// `firstName`), every property nullable (the generated document declares no nullability,
    /// and the API answers `null` for unset fields), answers unwrapped from Autotask's
    /// envelopes (`items`, `item`; `itemId` carries no model), and paths matched without
    /// regard to case (the zone lookup is served as `/atservicesrest/v1.0/zoneInformation`).
    pub fn swagger2(spec: Value, base_path: &str, deviations: Vec<Deviation>) -> OpenApi {
        let mut spec = spec;
        relax_swagger(&mut spec);
        let mut api = OpenApi::new(spec, base_path, deviations);
        api.swagger2 = true;
        api
    }

    /// An OpenAPI 3.0 description (Microsoft Graph's slice): `nullable: true` read as JSON
    /// Schema's `null` type, schemas validated as draft 4.
    pub fn openapi30(spec: Value, base_path: &str, deviations: Vec<Deviation>) -> OpenApi {
        let mut spec = spec;
        nullable_to_null(&mut spec);
        let mut api = OpenApi::new(spec, base_path, deviations);
        api.oas30 = true;
        api
    }

    /// Query parameters accepted without a description (say why at the call).
    pub fn with_ignored_query(mut self, names: &[&'static str]) -> OpenApi {
        self.ignored_query.extend_from_slice(names);
        self
    }

    /// Replace the schema at `pointer` (e.g. `/definitions/ValueItem`) with `schema`: where
    /// the description itself is wrong about the API (a generator's artefact), the
    /// documented behaviour is checked instead. Name the reason and source at the call.
    pub fn with_schema_override(mut self, pointer: &str, schema: Value) -> OpenApi {
        if let Some(target) = self.spec.pointer_mut(pointer) {
            *target = schema;
        }
        self
    }

    /// Answers with `status` are allowed on every operation and checked against the response
    /// at `reference` (e.g. `#/components/responses/429_too_many_requests`): the description
    /// defines it once, for a limit that applies platform-wide.
    pub fn with_common_response(mut self, status: u16, reference: &str) -> OpenApi {
        self.common
            .insert(status, serde_json::json!({ "$ref": reference }));
        self
    }

    /// Everything in `exchanges` that the description does not allow, one line each (method,
    /// path template, what is wrong; no personal data: values are named by their place).
    pub fn problems(&self, exchanges: &[Exchange]) -> Vec<String> {
        exchanges.iter().flat_map(|e| self.check(e)).collect()
    }

    /// What is wrong with one exchange.
    pub fn check(&self, exchange: &Exchange) -> Vec<String> {
        let path = if self.swagger2 {
            exchange.path.to_ascii_lowercase()
        } else {
            exchange.path.clone()
        };
        let base = if self.swagger2 {
            self.base_path.to_ascii_lowercase()
        } else {
            self.base_path.clone()
        };
        let Some(path) = path.strip_prefix(&base) else {
            return vec![format!(
                "{} {}: outside the API's base path",
                exchange.method, exchange.path
            )];
        };
        let method = exchange.method.to_ascii_lowercase();
        let Some((template, operation)) = self.operation(&method, path) else {
            // An operation the description lacks is accepted only where a deviation names it.
            let listed = self.deviations.iter().any(|d| {
                d.status.is_none()
                    && d.method.eq_ignore_ascii_case(&exchange.method)
                    && matches_template(d.path, path)
            });
            if listed {
                return Vec::new();
            }
            return vec![format!(
                "{} {}: no such operation in the description",
                exchange.method, exchange.path
            )];
        };
        let here = format!("{} {template}", exchange.method);
        let accepted = |status: Option<u16>| {
            self.deviations.iter().any(|d| {
                (d.method == "*" || d.method.eq_ignore_ascii_case(&exchange.method))
                    && (d.path == "*" || d.path == template)
                    && d.status == status
                    && d.answer.is_none_or(|answer| {
                        exchange.response == serde_json::from_str::<Value>(answer).ok()
                    })
            })
        };
        let mut problems = Vec::new();
        if !accepted(None) {
            problems.extend(self.check_request(&here, template, operation, exchange));
        }
        if !accepted(Some(exchange.status)) {
            problems.extend(self.check_response(&here, operation, exchange));
        }
        problems
    }

    /// The operation `method path` addresses: the matching template with the most literal
    /// characters wins (`/contacts/synchronization{format}` over `/contacts/{id}{format}`).
    fn operation(&self, method: &str, path: &str) -> Option<(&str, &Value)> {
        let paths = self.spec.get("paths")?.as_object()?;
        paths
            .iter()
            .filter(|(template, _)| {
                if self.swagger2 {
                    matches_template(&template.to_ascii_lowercase(), path)
                } else {
                    matches_template(template, path)
                }
            })
            .filter_map(|(template, item)| Some((template.as_str(), item.get(method)?)))
            .max_by_key(|(template, _)| literal_len(template))
    }

    fn check_request(
        &self,
        here: &str,
        template: &str,
        operation: &Value,
        exchange: &Exchange,
    ) -> Vec<String> {
        let mut problems = Vec::new();
        // Query parameters: each must be described, and its value valid.
        let params = self.parameters(template, operation);
        for (name, value) in &exchange.query {
            if self.ignored_query.contains(&name.as_str()) {
                continue;
            }
            let Some(param) = params
                .iter()
                .find(|p| p["in"] == "query" && p["name"] == name.as_str())
            else {
                problems.push(format!("{here}: query parameter `{name}` is not described"));
                continue;
            };
            if let Some(schema) = param.get("schema") {
                let instance = typed_in(value, schema, &self.spec);
                problems.extend(
                    self.validate(&format!("{here} ?{name}"), schema, &instance)
                        .into_iter()
                        .map(|e| format!("{here}: query parameter `{name}`: {e}")),
                );
            }
        }
        if self.swagger2 {
            let body = params.iter().find(|p| p["in"] == "body");
            match (&exchange.request, body) {
                (Some(instance), Some(param)) => problems.extend(
                    self.validate(
                        &format!("{here} request"),
                        &param["schema"],
                        &lower_keys(instance),
                    )
                    .into_iter()
                    .map(|e| format!("{here}: request body: {e}")),
                ),
                (Some(_), None) => {
                    problems.push(format!("{here}: a body the operation does not take"))
                }
                _ => {}
            }
            return problems;
        }
        let body = operation.get("requestBody").map(|b| self.resolve(b));
        match (&exchange.request, body) {
            (Some(instance), Some(body)) => match json_schema_of(body.get("content")) {
                Some(schema) => problems.extend(
                    self.validate(&format!("{here} request"), schema, instance)
                        .into_iter()
                        .map(|e| format!("{here}: request body: {e}")),
                ),
                None => problems.push(format!("{here}: the request body is not JSON here")),
            },
            (Some(_), None) => problems.push(format!("{here}: a body the operation does not take")),
            _ => {}
        }
        problems
    }

    fn check_response(&self, here: &str, operation: &Value, exchange: &Exchange) -> Vec<String> {
        let status = exchange.status.to_string();
        let responses = &operation["responses"];
        let range = format!("{}XX", exchange.status / 100);
        let (key, response) = if let Some(r) = responses.get(&status) {
            (status.clone(), r)
        } else if let Some(r) = responses.get(&range) {
            (range, r)
        } else if let Some(r) = self.common.get(&exchange.status) {
            (format!("common {status}"), r)
        } else if let Some(r) = responses.get("default") {
            ("default".to_string(), r)
        } else {
            return vec![format!("{here}: answer {status} is not described")];
        };
        let response = self.resolve(response);
        let Some(instance) = &exchange.response else {
            return Vec::new();
        };
        if self.swagger2 {
            return self.check_swagger_answer(here, &key, &status, response, instance);
        }
        let Some(schema) = json_schema_of(response.get("content")) else {
            return vec![format!(
                "{here}: answer {status} has a body the description does not give it"
            )];
        };
        self.validate(&format!("{here} {key}"), schema, instance)
            .into_iter()
            .map(|e| format!("{here}: answer {status}: {e}"))
            .collect()
    }

    /// A Swagger 2.0 answer: Autotask's envelope unwrapped, each model validated.
    fn check_swagger_answer(
        &self,
        here: &str,
        key: &str,
        status: &str,
        response: &Value,
        instance: &Value,
    ) -> Vec<String> {
        let Some(schema) = response
            .get("schema")
            .filter(|s| s.as_object().is_some_and(|o| !o.is_empty()))
        else {
            return Vec::new();
        };
        let models: Vec<&Value> =
            if let Some(items) = instance.get("items").and_then(Value::as_array) {
                items.iter().collect()
            } else if let Some(item) = instance.get("item") {
                vec![item]
            } else if instance.get("itemId").is_some() || instance.get("queryCount").is_some() {
                Vec::new()
            } else {
                vec![instance]
            };
        models
            .into_iter()
            .enumerate()
            .flat_map(|(i, model)| {
                self.validate(&format!("{here} {key}"), schema, &lower_keys(model))
                    .into_iter()
                    .map(move |e| format!("{here}: answer {status}, model {i}: {e}"))
            })
            .collect()
    }

    /// The operation's parameters and its path item's, resolved.
    fn parameters<'a>(&'a self, template: &str, operation: &'a Value) -> Vec<&'a Value> {
        let item = &self.spec["paths"][template];
        item.get("parameters")
            .into_iter()
            .chain(operation.get("parameters"))
            .filter_map(Value::as_array)
            .flatten()
            .map(|p| self.resolve(p))
            .collect()
    }

    fn resolve<'a>(&'a self, node: &'a Value) -> &'a Value {
        super::spec_resolve(&self.spec, node)
    }

    /// Validate `instance` against `schema` (a node of the document), its `$ref`s resolved
    /// within the document; `key` names it in the cache. Error messages name the place in
    /// the instance, not its values.
    fn validate(&self, key: &str, schema: &Value, instance: &Value) -> Vec<String> {
        let validator = {
            let mut cache = self.validators.lock().unwrap_or_else(|p| p.into_inner());
            match cache.get(key) {
                Some(v) => v.clone(),
                None => {
                    // The whole document is the root resource and the schema wanted is placed
                    // in it, so every `#/components/...` it refers to resolves.
                    let mut root = self.spec.clone();
                    root["$defs"] = serde_json::json!({ "checked": schema });
                    root["$ref"] = Value::from("#/$defs/checked");
                    let draft = if self.swagger2 || self.oas30 {
                        jsonschema::Draft::Draft4
                    } else {
                        jsonschema::Draft::Draft202012
                    };
                    match jsonschema::options()
                        .with_draft(draft)
                        .should_validate_formats(false)
                        .build(&root)
                    {
                        Ok(v) => {
                            let v = std::sync::Arc::new(v);
                            cache.insert(key.to_string(), v.clone());
                            v
                        }
                        Err(e) => return vec![format!("the description's schema for {key}: {e}")],
                    }
                }
            }
        };
        validator
            .iter_errors(instance)
            .map(|e| format!("at `{}`: {}", e.instance_path(), describe(&e)))
            .collect()
    }
}

/// A validation error without the instance's value (which may be personal data).
fn describe(error: &jsonschema::ValidationError<'_>) -> String {
    let text = error.to_string();
    // jsonschema starts its messages with the offending value; keep what follows it.
    match text.find(" is not ").or_else(|| text.find(" does not ")) {
        Some(i)
            if text.starts_with(['"', '{', '['])
                || text.chars().next().is_some_and(|c| c.is_ascii_digit()) =>
        {
            format!("value{}", &text[i..])
        }
        _ => text,
    }
}

/// The schema of the JSON media type in a `content` map (`application/json`, or a wildcard
/// like Moneybird's `application/*` that covers it).
fn json_schema_of(content: Option<&Value>) -> Option<&Value> {
    let content = content?.as_object()?;
    ["application/json", "application/*", "*/*"]
        .iter()
        .find_map(|m| content.get(*m)?.get("schema"))
        .or_else(|| {
            content
                .iter()
                .filter(|(m, _)| m.ends_with("json"))
                .find_map(|(_, c)| c.get("schema"))
        })
}

/// Every object key lowercased, at any depth (for case-insensitive property names).
fn lower_keys(value: &Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| (k.to_ascii_lowercase(), lower_keys(v)))
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(lower_keys).collect()),
        other => other.clone(),
    }
}

/// Read a generated Swagger 2.0 document as its API answers: property names lowercased (also
/// in `required`), and every property allowed to be `null`.
fn relax_swagger(node: &mut Value) {
    match node {
        Value::Object(map) => {
            if let Some(Value::Object(props)) = map.get_mut("properties") {
                let relaxed: serde_json::Map<String, Value> = std::mem::take(props)
                    .into_iter()
                    .map(|(k, mut v)| {
                        relax_swagger(&mut v);
                        (k.to_ascii_lowercase(), nullable(v))
                    })
                    .collect();
                *props = relaxed;
            }
            if let Some(Value::Array(required)) = map.get_mut("required") {
                for r in required.iter_mut() {
                    if let Value::String(s) = r {
                        *s = s.to_ascii_lowercase();
                    }
                }
            }
            // Definition names like `Expression[Func[Contact,Int64]]`: a `$ref` is a URI
            // fragment, where brackets must be percent-encoded.
            if let Some(Value::String(reference)) = map.get_mut("$ref") {
                *reference = reference.replace('[', "%5B").replace(']', "%5D");
            }
            for (k, v) in map.iter_mut() {
                if k != "properties" {
                    relax_swagger(v);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(relax_swagger),
        _ => {}
    }
}

/// OpenAPI 3.0's `nullable: true` as JSON Schema: the `null` type added (or an `anyOf` with
/// it, for a schema without a `type`).
fn nullable_to_null(node: &mut Value) {
    match node {
        Value::Object(map) => {
            for v in map.values_mut() {
                nullable_to_null(v);
            }
            if map.remove("nullable") == Some(Value::Bool(true)) {
                let schema = Value::Object(std::mem::take(map));
                if let Value::Object(relaxed) = nullable(schema) {
                    *map = relaxed;
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(nullable_to_null),
        _ => {}
    }
}

/// The sub-requests of every Graph-style `$batch` in `exchanges` (at `batch_path`) as
/// exchanges of their own, matched to their answers by id, beside the batches themselves: a
/// batch's sub-requests are checked one by one against the operations they address.
pub fn with_batch_parts(
    exchanges: &[Exchange],
    batch_path: &str,
    base_path: &str,
) -> Vec<Exchange> {
    let mut out = Vec::new();
    for e in exchanges {
        out.push(e.clone());
        if e.path != batch_path {
            continue;
        }
        let requests = e
            .request
            .as_ref()
            .and_then(|b| b.get("requests"))
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        let responses = e
            .response
            .as_ref()
            .and_then(|b| b.get("responses"))
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        for request in requests {
            let id = request.get("id").cloned().unwrap_or(Value::Null);
            let Some(answer) = responses.iter().find(|r| r.get("id") == Some(&id)) else {
                continue;
            };
            let relative = request.get("url").and_then(Value::as_str).unwrap_or("");
            let Ok(url) = url::Url::parse(&format!("http://batch{base_path}{relative}")) else {
                continue;
            };
            let header = |from: &Value, name: &str| {
                from.get("headers")
                    .and_then(Value::as_object)
                    .and_then(|h| h.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)))
                    .and_then(|(_, v)| v.as_str())
                    .map(str::to_string)
            };
            out.push(Exchange {
                method: request
                    .get("method")
                    .and_then(Value::as_str)
                    .unwrap_or("GET")
                    .to_string(),
                path: url.path().to_string(),
                query: url
                    .query_pairs()
                    .map(|(k, v)| (k.into_owned(), v.into_owned()))
                    .collect(),
                request_type: header(&request, "content-type"),
                accept: header(&request, "accept"),
                request: request.get("body").cloned(),
                status: answer
                    .get("status")
                    .and_then(Value::as_u64)
                    .and_then(|s| u16::try_from(s).ok())
                    .unwrap_or(0),
                response_type: header(answer, "content-type"),
                response: answer.get("body").cloned().filter(|b| !b.is_null()),
            });
        }
    }
    out
}

/// `schema`, also allowing `null`.
fn nullable(schema: Value) -> Value {
    match schema.get("type").cloned() {
        Some(Value::String(t)) => {
            let mut schema = schema;
            schema["type"] = serde_json::json!([t, "null"]);
            schema
        }
        _ => serde_json::json!({ "anyOf": [schema, { "type": "null" }] }),
    }
}

/// A query value as the parameter's schema types it (`"100"` → 100 for an integer; an array
/// parameter, OData's `$select=a,b`, split at commas, the `form` style without `explode`).
fn typed_in(value: &str, schema: &Value, spec: &Value) -> Value {
    let resolved = super::spec_resolve(spec, schema);
    if resolved.get("type").and_then(Value::as_str) == Some("array") {
        let items = resolved
            .get("items")
            .map(|i| super::spec_resolve(spec, i))
            .unwrap_or(&Value::Null);
        return Value::Array(value.split(',').map(|v| typed(v, items)).collect());
    }
    typed(value, resolved)
}

/// A query value as the parameter's schema types it (`"100"` → 100 for an integer).
fn typed(value: &str, schema: &Value) -> Value {
    let types: Vec<&str> = match schema.get("type") {
        Some(Value::String(t)) => vec![t.as_str()],
        Some(Value::Array(ts)) => ts.iter().filter_map(Value::as_str).collect(),
        _ => vec![],
    };
    if types.contains(&"integer") {
        if let Ok(n) = value.parse::<i64>() {
            return Value::from(n);
        }
    }
    if types.contains(&"boolean") {
        if let Ok(b) = value.parse::<bool>() {
            return Value::from(b);
        }
    }
    Value::from(value)
}

/// Whether `path` fits `template`, segment by segment; `{name}` stands for one or more
/// characters other than `/`, and an OpenAPI template may hold several in one segment
/// (`{id}{format}`, where Moneybird's `format` may also be empty).
fn matches_template(template: &str, path: &str) -> bool {
    let t: Vec<&str> = template.trim_matches('/').split('/').collect();
    let p: Vec<&str> = path.trim_matches('/').split('/').collect();
    t.len() == p.len() && t.iter().zip(&p).all(|(t, p)| segment_matches(t, p))
}

fn segment_matches(template: &str, segment: &str) -> bool {
    match template.find('{') {
        None => template == segment,
        Some(start) => {
            let (literal, rest) = template.split_at(start);
            let Some(segment) = segment.strip_prefix(literal) else {
                return false;
            };
            let end = rest.find('}').map_or(rest.len(), |e| e + 1);
            let (param, after) = rest.split_at(end);
            // `format` is `(.json|.xml)?`; every other parameter is at least one character.
            let least = usize::from(param != "{format}");
            (least..=segment.len())
                .filter(|&n| segment.is_char_boundary(n))
                .any(|n| segment_matches(after, &segment[n..]))
        }
    }
}

fn literal_len(template: &str) -> usize {
    let mut inside = false;
    template
        .chars()
        .filter(|c| {
            match c {
                '{' => inside = true,
                '}' => {
                    inside = false;
                    return false;
                }
                _ => {}
            }
            !inside
        })
        .count()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn templates_match_segments_and_the_most_literal_wins() {
        assert!(matches_template(
            "/{a}/contacts/{id}{format}",
            "/1/contacts/2.json"
        ));
        assert!(matches_template(
            "/{a}/contacts/{id}{format}",
            "/1/contacts/2"
        ));
        assert!(!matches_template(
            "/{a}/contacts/{id}{format}",
            "/1/contacts/"
        ));
        assert!(!matches_template(
            "/{a}/contacts{format}",
            "/1/contacts/2.json"
        ));
        assert!(matches_template(
            "/{a}/contacts{format}",
            "/1/contacts.json"
        ));
        assert!(
            literal_len("/{a}/contacts/synchronization{format}")
                > literal_len("/{a}/contacts/{id}{format}")
        );
    }

    fn spec() -> Value {
        json!({
            "openapi": "3.1.0",
            "paths": {
                "/{a}/things/{id}{format}": {
                    "patch": {
                        "parameters": [{"name": "per_page", "in": "query",
                                        "schema": {"type": "integer", "maximum": 100}}],
                        "requestBody": {"content": {"application/json": {"schema": {
                            "$ref": "#/components/schemas/thing_update"}}}},
                        "responses": {
                            "200": {"content": {"application/json": {"schema": {
                                "$ref": "#/components/schemas/thing"}}}},
                            "404": {"$ref": "#/components/responses/not_found"}
                        }
                    }
                }
            },
            "components": {
                "schemas": {
                    "thing": {"type": "object", "properties": {"id": {"type": "string"}},
                              "required": ["id"]},
                    "thing_update": {"type": "object", "unevaluatedProperties": false,
                                     "properties": {"name": {"type": "string"}}}
                },
                "responses": {"not_found": {"content": {"application/json": {"schema": {
                    "type": "object", "required": ["error"]}}}}}
            }
        })
    }

    fn exchange(body: Value, status: u16, answer: Value) -> Exchange {
        Exchange {
            method: "PATCH".into(),
            path: "/api/1/things/7.json".into(),
            query: vec![],
            request_type: Some("application/json".into()),
            accept: None,
            request: Some(body),
            status,
            response_type: Some("application/json".into()),
            response: Some(answer),
        }
    }

    #[test]
    fn bodies_and_answers_are_held_to_their_schemas() {
        let api = OpenApi::new(spec(), "/api", vec![]);
        let good = exchange(json!({"name": "x"}), 200, json!({"id": "7"}));
        assert!(api.check(&good).is_empty(), "{:?}", api.check(&good));
        // unevaluatedProperties: false refuses a field the update schema does not list.
        let extra = exchange(
            json!({"name": "x", "email": "a@b"}),
            200,
            json!({"id": "7"}),
        );
        let problems = api.check(&extra);
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(problems[0].contains("request body"), "{problems:?}");
        assert!(
            !problems[0].contains("a@b"),
            "no values in problems: {problems:?}"
        );
        // A `$ref`'d error answer, and an undescribed status.
        let e = api.check(&exchange(json!({}), 404, json!({"error": "x"})));
        assert!(e.is_empty(), "{e:?}");
        assert_eq!(api.check(&exchange(json!({}), 404, json!({}))).len(), 1);
        assert!(api.check(&exchange(json!({}), 418, json!({})))[0].contains("not described"));
        // Query parameters: described, and valid.
        let mut paged = good.clone();
        paged.query = vec![("per_page".into(), "500".into())];
        assert!(api.check(&paged)[0].contains("per_page"));
        paged.query = vec![("page".into(), "2".into())];
        assert!(api.check(&paged)[0].contains("not described"));
    }

    /// Swagger 2.0 as Autotask publishes it: PascalCase in the document, camelCase and nulls
    /// in the API, answers wrapped in `items`/`item`.
    #[test]
    fn swagger_models_are_read_as_the_api_answers() {
        let spec = json!({
            "swagger": "2.0",
            "paths": {"/V1.0/Things/query": {"post": {
                "parameters": [{"in": "body", "name": "q", "schema": {"$ref": "#/definitions/Query"}}],
                "responses": {"200": {"schema": {"$ref": "#/definitions/Thing[Model]"}}}
            }}},
            "definitions": {
                "Query": {"type": "object", "properties": {"MaxRecords": {"type": "integer"}}},
                "Thing[Model]": {"type": "object", "properties": {
                    "Id": {"type": "integer"}, "FirstName": {"type": "string"}}}
            }
        });
        let api = OpenApi::swagger2(spec, "/ATServicesRest", vec![]);
        let mut e = Exchange {
            method: "POST".into(),
            path: "/atservicesrest/v1.0/things/query".into(),
            query: vec![],
            request_type: Some("application/json".into()),
            accept: None,
            request: Some(json!({"maxRecords": 500})),
            status: 200,
            response_type: Some("application/json".into()),
            response: Some(json!({"items": [{"id": 1, "firstName": null}], "pageDetails": {}})),
        };
        assert!(api.check(&e).is_empty(), "{:?}", api.check(&e));
        e.response = Some(json!({"items": [{"id": "one"}]}));
        assert!(api.check(&e)[0].contains("model 0"), "{:?}", api.check(&e));
        e.request = Some(json!({"maxRecords": "many"}));
        e.response = Some(json!({"item": {"id": 1}}));
        let problems = api.check(&e);
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(problems[0].contains("request body"));
    }

    #[test]
    fn deviations_are_accepted_only_where_listed() {
        let deviation = Deviation {
            method: "PATCH",
            path: "/{a}/things/{id}{format}",
            status: Some(418),
            answer: None,
            reason: "a test",
            source: "here",
        };
        let api = OpenApi::new(spec(), "/api", vec![deviation.clone()]);
        assert!(api.check(&exchange(json!({}), 418, json!({}))).is_empty());
        assert!(!api.check(&exchange(json!({}), 404, json!({}))).is_empty());
        // A deviation of one answer body accepts that body only.
        let one_body = Deviation {
            answer: Some(r#"{"teapot": null}"#),
            ..deviation
        };
        let api = OpenApi::new(spec(), "/api", vec![one_body]);
        assert!(api
            .check(&exchange(json!({}), 418, json!({"teapot": null})))
            .is_empty());
        assert!(!api
            .check(&exchange(json!({}), 418, json!({"teapot": 1})))
            .is_empty());
    }
}
