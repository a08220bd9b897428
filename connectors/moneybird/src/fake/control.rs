//! [`FakeControl`] for the SDK's connector test kit.

use dsrhub_connector::fakekit::{CallLog, Faults};
use dsrhub_connector::testkit::FakeControl;
use dsrhub_connector::RecordRef;

use super::FakeMoneybird;
use crate::mapping::{CONTACT, CONTACT_PERSON, SALES_INVOICE};

impl FakeControl for FakeMoneybird {
    fn faults(&self) -> &Faults {
        FakeMoneybird::faults(self)
    }

    fn call_log(&self) -> &CallLog {
        self.log()
    }

    fn contains(&self, record: &RecordRef) -> bool {
        let state = self.state();
        match record.object.as_str() {
            CONTACT => state.contacts.contains_key(&record.id),
            CONTACT_PERSON => record
                .scope
                .as_deref()
                .and_then(|c| state.person(c, &record.id))
                .is_some(),
            SALES_INVOICE => state.sales_invoices.contains_key(&record.id),
            _ => false,
        }
    }

    fn state_digest(&self) -> String {
        // The state's JSON is an exact digest, and cheap at fixture sizes.
        serde_json::to_string(&self.state()).expect("state serialises")
    }

    fn separate_records(&self) -> &'static [&'static str] {
        // A company contact's people are persons of their own; notes and custom field
        // values are part of their contact.
        &["contact_people"]
    }

    fn set_page_size(&self, size: Option<usize>) {
        FakeMoneybird::set_page_size(self, size);
    }

    fn rotate_credentials(&self) -> String {
        self.rotate_token()
    }
}
