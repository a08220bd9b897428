//! `[processors.<name>]` with `connector = "manual"`.

use dsrhub_connector::Category;
use serde::Deserialize;

/// The language of the letters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Language {
    /// Dutch.
    Nl,
    /// English.
    En,
}

/// Settings for one processor without an API.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ManualConfig {
    /// The processor's name, as letters and reports show it.
    pub name: String,
    /// Where requests go: the processor's privacy contact(s).
    pub contacts: Vec<String>,
    /// The letters' language.
    #[serde(default = "nl")]
    pub language: Language,
    /// Categories of personal data the processor may hold (the processor register).
    #[serde(default)]
    pub categories: Vec<Category>,
    /// The answer time agreed with the processor, in working days.
    #[serde(default = "ten")]
    pub answer_working_days: u32,
    /// Where the processor keeps the data, e.g. "Netherlands".
    #[serde(default = "unknown")]
    pub location: String,
    /// Whether that is inside the EEA.
    #[serde(default)]
    pub eea: bool,
}

fn nl() -> Language {
    Language::Nl
}

fn ten() -> u32 {
    10
}

fn unknown() -> String {
    "unknown".into()
}

impl ManualConfig {
    /// Check what serde cannot; `id` is the processor's section name, for error messages.
    pub fn validate(&self, id: &str) -> Result<(), String> {
        if self.name.trim().is_empty() {
            return Err(format!("processors.{id}.name must not be empty"));
        }
        if self.contacts.is_empty() {
            return Err(format!(
                "processors.{id}.contacts needs at least one e-mail address"
            ));
        }
        for (i, contact) in self.contacts.iter().enumerate() {
            let ok = contact
                .split_once('@')
                .is_some_and(|(l, d)| !l.is_empty() && d.contains('.'))
                && !contact.chars().any(|c| {
                    c.is_whitespace() || c.is_control() || matches!(c, '<' | '>' | ',' | ';')
                });
            if !ok {
                return Err(format!(
                    "processors.{id}.contacts[{i}] is not an e-mail address"
                ));
            }
        }
        if self.answer_working_days == 0 || self.answer_working_days > 60 {
            return Err(format!(
                "processors.{id}.answer_working_days must be between 1 and 60"
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(contacts: &[&str]) -> ManualConfig {
        ManualConfig {
            name: "Ekco Nederland".into(),
            contacts: contacts.iter().map(|c| c.to_string()).collect(),
            language: Language::En,
            categories: vec![],
            answer_working_days: 10,
            location: "Netherlands".into(),
            eea: true,
        }
    }

    #[test]
    fn malformed_contact_addresses_are_named() {
        assert!(config(&["dpo@ekco.example"]).validate("ekco").is_ok());
        for bad in [
            "dpo",
            "dpo@ekco",
            "a b@ekco.example",
            "x@y.example>, evil@z.example",
        ] {
            let err = config(&["dpo@ekco.example", bad])
                .validate("ekco")
                .unwrap_err();
            assert_eq!(
                err, "processors.ekco.contacts[1] is not an e-mail address",
                "{bad}"
            );
        }
        assert!(config(&[])
            .validate("ekco")
            .unwrap_err()
            .contains("processors.ekco.contacts"));
    }
}
