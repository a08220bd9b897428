//! The slice of OData v2 `$filter` Exact Online clients use: `eq`/`ne` comparisons joined by
//! `and`/`or`, parentheses, and string (`'…'` with `''`), `guid'…'`, number, boolean and
//! `null` literals. Strings compare case-insensitively, like Exact's database collation.
//! Anything else is a syntax error, answered 400 as Exact does.

use serde_json::Value;

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Open,
    Close,
    Word(String),
    Text(String),
    Guid(String),
}

#[derive(Debug, Clone, PartialEq)]
pub enum Literal {
    /// `'…'`.
    Text(String),
    /// `guid'…'`.
    Guid(String),
    /// A number.
    Number(f64),
    /// `true`/`false`.
    Bool(bool),
    /// `null`.
    Null,
}

/// A parsed filter.
#[derive(Debug, Clone, PartialEq)]
pub enum Filter {
    /// `Field eq literal` (`negated`: `ne`).
    Compare {
        /// The property.
        field: String,
        /// `ne`.
        negated: bool,
        /// The literal.
        value: Literal,
    },
    /// Both.
    And(Box<Filter>, Box<Filter>),
    /// Either.
    Or(Box<Filter>, Box<Filter>),
}

fn tokens(input: &str) -> Result<Vec<Token>, String> {
    let chars: Vec<char> = input.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    let quoted = |i: &mut usize| -> Result<String, String> {
        // `chars[*i]` is the opening quote.
        let mut text = String::new();
        *i += 1;
        loop {
            match chars.get(*i) {
                None => return Err("unterminated string literal".into()),
                Some('\'') if chars.get(*i + 1) == Some(&'\'') => {
                    text.push('\'');
                    *i += 2;
                }
                Some('\'') => {
                    *i += 1;
                    return Ok(text);
                }
                Some(c) => {
                    text.push(*c);
                    *i += 1;
                }
            }
        }
    };
    while i < chars.len() {
        match chars[i] {
            c if c.is_whitespace() => i += 1,
            '(' => {
                out.push(Token::Open);
                i += 1;
            }
            ')' => {
                out.push(Token::Close);
                i += 1;
            }
            '\'' => out.push(Token::Text(quoted(&mut i)?)),
            _ => {
                let start = i;
                while i < chars.len()
                    && !chars[i].is_whitespace()
                    && !matches!(chars[i], '(' | ')' | '\'')
                {
                    i += 1;
                }
                let word: String = chars[start..i].iter().collect();
                if word == "guid" && chars.get(i) == Some(&'\'') {
                    out.push(Token::Guid(quoted(&mut i)?.to_ascii_lowercase()));
                } else {
                    out.push(Token::Word(word));
                }
            }
        }
    }
    Ok(out)
}

struct Parser {
    tokens: Vec<Token>,
    at: usize,
}

impl Parser {
    fn next(&mut self) -> Option<Token> {
        let t = self.tokens.get(self.at).cloned();
        self.at += 1;
        t
    }

    fn peek_word(&self, word: &str) -> bool {
        matches!(self.tokens.get(self.at), Some(Token::Word(w)) if w == word)
    }

    fn or(&mut self) -> Result<Filter, String> {
        let mut left = self.and()?;
        while self.peek_word("or") {
            self.at += 1;
            left = Filter::Or(Box::new(left), Box::new(self.and()?));
        }
        Ok(left)
    }

    fn and(&mut self) -> Result<Filter, String> {
        let mut left = self.term()?;
        while self.peek_word("and") {
            self.at += 1;
            left = Filter::And(Box::new(left), Box::new(self.term()?));
        }
        Ok(left)
    }

    fn term(&mut self) -> Result<Filter, String> {
        match self.next() {
            Some(Token::Open) => {
                let inner = self.or()?;
                match self.next() {
                    Some(Token::Close) => Ok(inner),
                    _ => Err("missing `)`".into()),
                }
            }
            Some(Token::Word(field))
                if field.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') =>
            {
                let negated = match self.next() {
                    Some(Token::Word(op)) if op == "eq" => false,
                    Some(Token::Word(op)) if op == "ne" => true,
                    _ => return Err(format!("expected `eq` or `ne` after {field}")),
                };
                let value = match self.next() {
                    Some(Token::Text(t)) => Literal::Text(t),
                    Some(Token::Guid(g)) => Literal::Guid(g),
                    Some(Token::Word(w)) if w == "null" => Literal::Null,
                    Some(Token::Word(w)) if w == "true" => Literal::Bool(true),
                    Some(Token::Word(w)) if w == "false" => Literal::Bool(false),
                    Some(Token::Word(w)) => {
                        Literal::Number(w.parse().map_err(|_| "unrecognised literal".to_string())?)
                    }
                    _ => return Err("expected a literal".into()),
                };
                Ok(Filter::Compare {
                    field,
                    negated,
                    value,
                })
            }
            _ => Err("expected a comparison".into()),
        }
    }
}

impl Filter {
    /// Parse `$filter`.
    pub fn parse(input: &str) -> Result<Filter, String> {
        let mut parser = Parser {
            tokens: tokens(input)?,
            at: 0,
        };
        let filter = parser.or()?;
        if parser.at != parser.tokens.len() {
            return Err("unexpected text after the expression".into());
        }
        Ok(filter)
    }

    /// Every field the filter names.
    pub fn fields(&self) -> Vec<&str> {
        match self {
            Filter::Compare { field, .. } => vec![field.as_str()],
            Filter::And(a, b) | Filter::Or(a, b) => {
                let mut f = a.fields();
                f.extend(b.fields());
                f
            }
        }
    }

    /// Whether `entity` matches.
    pub fn matches(&self, entity: &Value) -> bool {
        match self {
            Filter::And(a, b) => a.matches(entity) && b.matches(entity),
            Filter::Or(a, b) => a.matches(entity) || b.matches(entity),
            Filter::Compare {
                field,
                negated,
                value,
            } => {
                let actual = entity.get(field).unwrap_or(&Value::Null);
                let equal = match (value, actual) {
                    (Literal::Null, v) => v.is_null(),
                    (Literal::Text(t) | Literal::Guid(t), Value::String(s)) => {
                        s.to_lowercase() == t.to_lowercase()
                    }
                    (Literal::Number(n), Value::Number(m)) => m.as_f64() == Some(*n),
                    (Literal::Bool(b), Value::Bool(c)) => b == c,
                    _ => false,
                };
                equal != *negated
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn parses_and_matches_the_clients_syntax() {
        let e = json!({"Email": "O'Brien@example.nl", "Account": "ABC-1", "Blocked": false});
        let f = Filter::parse("Email eq 'o''brien@example.nl' or Email eq 'x'").unwrap();
        assert!(f.matches(&e));
        let f = Filter::parse("(Account eq guid'abc-1') and Blocked eq false").unwrap();
        assert!(f.matches(&e));
        assert!(!Filter::parse("Email eq 'x'' or ''a''=''a'")
            .unwrap()
            .matches(&e));
        assert!(Filter::parse("Email eq 'x' or").is_err());
        assert!(Filter::parse("Email eq 'x").is_err());
        assert!(Filter::parse("substringof('a', Email) eq true").is_err());
    }
}
