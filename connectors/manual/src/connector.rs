//! The [`Connector`] implementation: nothing to search, a letter to write.

use std::collections::BTreeMap;

use dsrhub_connector::{
    async_trait, Capability, Connector, ConnectorError, DataLocation, Description, EraseAction,
    EraseOutcome, Exported, Health, Inventory, Letter, LetterRequest, Record, RecordRef, Subject,
};

use crate::config::ManualConfig;
use crate::letter;

/// One processor without an API.
#[derive(Debug)]
pub struct Manual {
    id: String,
    config: ManualConfig,
}

impl Manual {
    /// Build for the processor section `id`.
    pub fn new(id: &str, config: ManualConfig) -> Result<Self, ConnectorError> {
        config.validate(id).map_err(ConnectorError::invalid)?;
        Ok(Manual {
            id: id.to_string(),
            config,
        })
    }

    fn no_api(&self) -> ConnectorError {
        ConnectorError::invalid(format!(
            "{} has no API: it is asked by letter and answers by `dsrhub confirm`",
            self.config.name
        ))
    }
}

#[async_trait]
impl Connector for Manual {
    fn describe(&self) -> Description {
        Description {
            id: self.id.clone(),
            display_name: self.config.name.clone(),
            capabilities: vec![Capability::Access, Capability::Erase],
            categories: self.config.categories.clone(),
            location: DataLocation {
                region: self.config.location.clone(),
                eea: self.config.eea,
            },
        }
    }

    fn by_letter(&self) -> bool {
        true
    }

    async fn check(&self) -> Result<Health, ConnectorError> {
        Ok(Health {
            authenticated: true,
            rate_limit_remaining: None,
            detail: format!(
                "no API: requests go by letter to {} contact(s), answer within {} working days",
                self.config.contacts.len(),
                self.config.answer_working_days
            ),
        })
    }

    /// Nothing can be searched; the letter asks the processor instead.
    async fn discover(&self, _subject: &Subject) -> Result<Vec<Record>, ConnectorError> {
        Ok(Vec::new())
    }

    async fn export(&self, _record: &RecordRef) -> Result<Exported, ConnectorError> {
        Err(self.no_api())
    }

    async fn erase(
        &self,
        _record: &RecordRef,
        _action: &EraseAction,
    ) -> Result<EraseOutcome, ConnectorError> {
        Err(self.no_api())
    }

    async fn inventory(&self) -> Result<Inventory, ConnectorError> {
        Ok(Inventory {
            counts: BTreeMap::new(),
            location: self.describe().location,
        })
    }

    async fn request_letter(
        &self,
        request: &LetterRequest<'_>,
    ) -> Result<Option<Letter>, ConnectorError> {
        letter::render(&self.config, request).map(Some)
    }
}
