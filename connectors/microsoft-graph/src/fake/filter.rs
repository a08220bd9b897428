//! The slice of OData v4 `$filter` Graph clients use on users and contacts: `eq` comparisons,
//! `startswith(field,'x')`, lambda `any` over a collection (`proxyAddresses/any(p:p eq 'x')`,
//! `emailAddresses/any(a:a/address eq 'x')`), `and`/`or` and parentheses. Strings compare
//! case-insensitively, as Graph does for these properties.

use serde_json::Value;

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Open,
    Close,
    Comma,
    Colon,
    Slash,
    Word(String),
    Text(String),
}

fn lex(input: &str) -> Result<Vec<Tok>, String> {
    let chars: Vec<char> = input.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        match chars[i] {
            c if c.is_whitespace() => i += 1,
            '(' => {
                out.push(Tok::Open);
                i += 1
            }
            ')' => {
                out.push(Tok::Close);
                i += 1
            }
            ',' => {
                out.push(Tok::Comma);
                i += 1
            }
            ':' => {
                out.push(Tok::Colon);
                i += 1
            }
            '/' => {
                out.push(Tok::Slash);
                i += 1
            }
            '\'' => {
                let mut text = String::new();
                i += 1;
                loop {
                    match chars.get(i) {
                        None => return Err("unterminated string literal".into()),
                        Some('\'') if chars.get(i + 1) == Some(&'\'') => {
                            text.push('\'');
                            i += 2;
                        }
                        Some('\'') => {
                            i += 1;
                            break;
                        }
                        Some(c) => {
                            text.push(*c);
                            i += 1;
                        }
                    }
                }
                out.push(Tok::Text(text));
            }
            _ => {
                let start = i;
                while i < chars.len()
                    && (chars[i].is_ascii_alphanumeric() || chars[i] == '_' || chars[i] == '.')
                {
                    i += 1;
                }
                if i == start {
                    return Err(format!("unexpected character '{}'", chars[i]));
                }
                out.push(Tok::Word(chars[start..i].iter().collect()));
            }
        }
    }
    Ok(out)
}

/// A parsed filter.
#[derive(Debug, Clone, PartialEq)]
pub enum Filter {
    /// `path eq 'x'` (`path` may be the lambda variable or `var/prop`).
    Eq(Vec<String>, String),
    /// `startswith(path,'x')`.
    StartsWith(Vec<String>, String),
    /// `collection/any(var: inner)`.
    Any(String, String, Box<Filter>),
    /// Both.
    And(Box<Filter>, Box<Filter>),
    /// Either.
    Or(Box<Filter>, Box<Filter>),
}

struct P {
    t: Vec<Tok>,
    at: usize,
}

impl P {
    fn peek(&self) -> Option<&Tok> {
        self.t.get(self.at)
    }
    fn next(&mut self) -> Option<Tok> {
        let t = self.t.get(self.at).cloned();
        self.at += 1;
        t
    }
    fn expect(&mut self, tok: Tok) -> Result<(), String> {
        if self.next() == Some(tok.clone()) {
            Ok(())
        } else {
            Err(format!("expected {tok:?}"))
        }
    }
    fn word_is(&self, w: &str) -> bool {
        matches!(self.peek(), Some(Tok::Word(x)) if x == w)
    }
    fn or(&mut self) -> Result<Filter, String> {
        let mut left = self.and()?;
        while self.word_is("or") {
            self.at += 1;
            left = Filter::Or(Box::new(left), Box::new(self.and()?));
        }
        Ok(left)
    }
    fn and(&mut self) -> Result<Filter, String> {
        let mut left = self.term()?;
        while self.word_is("and") {
            self.at += 1;
            left = Filter::And(Box::new(left), Box::new(self.term()?));
        }
        Ok(left)
    }
    fn path(&mut self, first: String) -> Vec<String> {
        let mut path = vec![first];
        while self.peek() == Some(&Tok::Slash) {
            if let Some(Tok::Word(w)) = self.t.get(self.at + 1).cloned() {
                if w == "any" {
                    break;
                }
                self.at += 2;
                path.push(w);
            } else {
                break;
            }
        }
        path
    }
    fn text(&mut self) -> Result<String, String> {
        match self.next() {
            Some(Tok::Text(t)) => Ok(t),
            _ => Err("expected a string literal".into()),
        }
    }
    fn term(&mut self) -> Result<Filter, String> {
        match self.next() {
            Some(Tok::Open) => {
                let inner = self.or()?;
                self.expect(Tok::Close)?;
                Ok(inner)
            }
            Some(Tok::Word(w)) if w == "startswith" => {
                self.expect(Tok::Open)?;
                let Some(Tok::Word(first)) = self.next() else {
                    return Err("expected a property".into());
                };
                let path = self.path(first);
                self.expect(Tok::Comma)?;
                let value = self.text()?;
                self.expect(Tok::Close)?;
                Ok(Filter::StartsWith(path, value))
            }
            Some(Tok::Word(first)) => {
                if self.peek() == Some(&Tok::Slash)
                    && matches!(self.t.get(self.at + 1), Some(Tok::Word(w)) if w == "any")
                {
                    self.at += 2;
                    self.expect(Tok::Open)?;
                    let Some(Tok::Word(var)) = self.next() else {
                        return Err("expected a lambda variable".into());
                    };
                    self.expect(Tok::Colon)?;
                    let inner = self.or()?;
                    self.expect(Tok::Close)?;
                    return Ok(Filter::Any(first, var, Box::new(inner)));
                }
                let path = self.path(first);
                match self.next() {
                    Some(Tok::Word(op)) if op == "eq" => Ok(Filter::Eq(path, self.text()?)),
                    _ => Err("only `eq` comparisons are supported here".into()),
                }
            }
            _ => Err("expected a comparison".into()),
        }
    }
}

impl Filter {
    /// Parse `$filter`.
    pub fn parse(input: &str) -> Result<Filter, String> {
        let mut p = P {
            t: lex(input)?,
            at: 0,
        };
        let f = p.or()?;
        if p.at != p.t.len() {
            return Err("unexpected text after the expression".into());
        }
        Ok(f)
    }

    /// Whether `entity` matches; `var` binds a lambda variable to a collection element.
    pub fn matches(&self, entity: &Value) -> bool {
        self.eval(entity, None)
    }

    fn eval(&self, entity: &Value, var: Option<(&str, &Value)>) -> bool {
        let resolve = |path: &[String]| -> Value {
            let (mut current, rest) = match var {
                Some((name, value)) if path[0] == name => (value.clone(), &path[1..]),
                _ => (entity.clone(), path),
            };
            for part in rest {
                current = current.get(part).cloned().unwrap_or(Value::Null);
            }
            current
        };
        let lower = |v: &Value| v.as_str().map(str::to_lowercase);
        match self {
            Filter::And(a, b) => a.eval(entity, var) && b.eval(entity, var),
            Filter::Or(a, b) => a.eval(entity, var) || b.eval(entity, var),
            Filter::Eq(path, value) => lower(&resolve(path)) == Some(value.to_lowercase()),
            Filter::StartsWith(path, value) => {
                lower(&resolve(path)).is_some_and(|s| s.starts_with(&value.to_lowercase()))
            }
            Filter::Any(collection, name, inner) => entity
                .get(collection)
                .and_then(Value::as_array)
                .is_some_and(|items| {
                    items
                        .iter()
                        .any(|item| inner.eval(entity, Some((name, item))))
                }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn graph_filters() {
        let user = json!({"mail": "A@x.nl", "proxyAddresses": ["SMTP:a@x.nl", "smtp:o'b@x.nl"]});
        let f =
            Filter::parse("mail eq 'q' or proxyAddresses/any(p:p eq 'smtp:O''B@x.nl')").unwrap();
        assert!(f.matches(&user));
        let contact = json!({"emailAddresses": [{"address": "jan@x.nl"}]});
        let f = Filter::parse("emailAddresses/any(a:a/address eq 'JAN@x.nl' or a/address eq 'z')")
            .unwrap();
        assert!(f.matches(&contact));
        assert!(Filter::parse("startswith(mail,'a')")
            .unwrap()
            .matches(&user));
        assert!(!Filter::parse("mail eq 'x'' or ''1''=''1'")
            .unwrap()
            .matches(&user));
        assert!(Filter::parse("mail ne 'x'").is_err());
    }
}
