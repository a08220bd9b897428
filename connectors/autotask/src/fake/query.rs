//! Autotask's query language, evaluated: `{"filter": [ {op, field, value} | {op: and|or, items} ]}`.
//!
//! Operators: eq, noteq, gt, gte, lt, lte, beginsWith, endsWith, contains, exist, notExist,
//! in, notIn, and, or. String comparisons are case-insensitive, as Autotask's database is.
//! More than 500 `or` conditions in one query is refused, as Autotask refuses it.

use serde_json::Value;

/// Why a query was refused (answered 500 with `{"errors": [...]}`, as Autotask does).
#[derive(Debug)]
pub struct Invalid(pub String);

/// The value of `field` on `record`, matching field names case-insensitively.
fn field<'a>(record: &'a Value, name: &str) -> Option<&'a Value> {
    record
        .as_object()?
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v)
}

fn as_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.to_lowercase()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn equal(a: &Value, b: &Value) -> bool {
    match (a.as_f64(), b.as_f64()) {
        (Some(x), Some(y)) => x == y,
        _ => match (as_text(a), as_text(b)) {
            (Some(x), Some(y)) => x == y,
            _ => a.is_null() && b.is_null(),
        },
    }
}

fn compare(a: &Value, b: &Value) -> Option<std::cmp::Ordering> {
    match (a.as_f64(), b.as_f64()) {
        (Some(x), Some(y)) => x.partial_cmp(&y),
        _ => Some(as_text(a)?.cmp(&as_text(b)?)),
    }
}

/// Count the `or` conditions (leaves under any `or`) of a filter list.
pub fn or_conditions(filter: &[Value]) -> usize {
    fn walk(item: &Value, under_or: bool) -> usize {
        match item.get("op").and_then(Value::as_str) {
            Some(op) if op.eq_ignore_ascii_case("or") || op.eq_ignore_ascii_case("and") => {
                let or = op.eq_ignore_ascii_case("or");
                item.get("items")
                    .and_then(Value::as_array)
                    .map_or(0, |items| {
                        items.iter().map(|i| walk(i, under_or || or)).sum()
                    })
            }
            _ => usize::from(under_or),
        }
    }
    filter.iter().map(|i| walk(i, false)).sum()
}

/// Whether `record` satisfies every item of `filter`.
pub fn matches(record: &Value, filter: &[Value]) -> Result<bool, Invalid> {
    for item in filter {
        if !eval(record, item)? {
            return Ok(false);
        }
    }
    Ok(true)
}

fn eval(record: &Value, item: &Value) -> Result<bool, Invalid> {
    let op = item
        .get("op")
        .and_then(Value::as_str)
        .ok_or_else(|| Invalid("Invalid query syntax: missing op".into()))?;
    let op = op.to_ascii_lowercase();
    if op == "and" || op == "or" {
        let items = item
            .get("items")
            .and_then(Value::as_array)
            .ok_or_else(|| Invalid("Invalid query syntax: and/or without items".into()))?;
        let mut results = items.iter().map(|i| eval(record, i));
        return if op == "and" {
            results.try_fold(true, |acc, r| r.map(|r| acc && r))
        } else {
            results.try_fold(false, |acc, r| r.map(|r| acc || r))
        };
    }
    let name = item
        .get("field")
        .and_then(Value::as_str)
        .ok_or_else(|| Invalid("Invalid query syntax: missing field".into()))?;
    let actual = field(record, name);
    let value = item.get("value").unwrap_or(&Value::Null);
    let text_of = |v: Option<&Value>| v.and_then(as_text).unwrap_or_default();
    let needle = || as_text(value).unwrap_or_default();
    Ok(match op.as_str() {
        "eq" => actual.is_some_and(|a| equal(a, value)),
        "noteq" => !actual.is_some_and(|a| equal(a, value)),
        "gt" => actual.and_then(|a| compare(a, value)) == Some(std::cmp::Ordering::Greater),
        "gte" => matches!(
            actual.and_then(|a| compare(a, value)),
            Some(std::cmp::Ordering::Greater | std::cmp::Ordering::Equal)
        ),
        "lt" => actual.and_then(|a| compare(a, value)) == Some(std::cmp::Ordering::Less),
        "lte" => matches!(
            actual.and_then(|a| compare(a, value)),
            Some(std::cmp::Ordering::Less | std::cmp::Ordering::Equal)
        ),
        "beginswith" => text_of(actual).starts_with(&needle()),
        "endswith" => text_of(actual).ends_with(&needle()),
        "contains" => text_of(actual).contains(&needle()),
        "exist" => actual.is_some_and(|a| !a.is_null() && a != &Value::String(String::new())),
        "notexist" => !actual.is_some_and(|a| !a.is_null() && a != &Value::String(String::new())),
        "in" | "notin" => {
            let list = value
                .as_array()
                .ok_or_else(|| Invalid("Invalid query syntax: in needs a list".into()))?;
            let hit = actual.is_some_and(|a| list.iter().any(|v| equal(a, v)));
            if op == "in" {
                hit
            } else {
                !hit
            }
        }
        other => {
            return Err(Invalid(format!(
                "Invalid query syntax: unknown operator {other}"
            )))
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn operators() {
        let r = json!({"id": 5, "emailAddress": "Jan@X.nl", "emailAddress2": "", "lastName": "de Vries"});
        let ok = |f: Value| matches(&r, &[f]).unwrap();
        assert!(ok(
            json!({"op":"eq","field":"emailaddress","value":"jan@x.nl"})
        ));
        assert!(!ok(
            json!({"op":"eq","field":"emailAddress","value":"jan@x.nl' or 'a'='a"})
        ));
        assert!(ok(
            json!({"op":"or","items":[{"op":"eq","field":"id","value":1},{"op":"eq","field":"id","value":5}]})
        ));
        assert!(!ok(
            json!({"op":"and","items":[{"op":"eq","field":"id","value":5},{"op":"exist","field":"emailAddress2"}]})
        ));
        assert!(ok(json!({"op":"in","field":"id","value":[4,5]})));
        assert!(ok(
            json!({"op":"beginsWith","field":"lastName","value":"DE "})
        ));
        assert!(ok(
            json!({"op":"contains","field":"lastName","value":"vri"})
        ));
        assert!(matches(&r, &[json!({"op":"like","field":"id","value":1})]).is_err());
    }

    #[test]
    fn or_conditions_are_counted() {
        let items: Vec<Value> = (0..3)
            .map(|i| json!({"op":"eq","field":"id","value":i}))
            .collect();
        assert_eq!(or_conditions(&[json!({"op":"or","items": items})]), 3);
        assert_eq!(
            or_conditions(&[json!({"op":"eq","field":"id","value":1})]),
            0
        );
    }
}
