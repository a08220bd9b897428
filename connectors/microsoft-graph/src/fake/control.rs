//! [`FakeControl`] for the SDK's connector test kit.

use dsrhub_connector::fakekit::{CallLog, Faults};
use dsrhub_connector::testkit::FakeControl;
use dsrhub_connector::RecordRef;

use super::FakeGraph;
use crate::mapping::{CONTACT, MESSAGE, USER};

impl FakeControl for FakeGraph {
    fn faults(&self) -> &Faults {
        FakeGraph::faults(self)
    }

    fn call_log(&self) -> &CallLog {
        self.log()
    }

    fn contains(&self, record: &RecordRef) -> bool {
        let state = self.state();
        let mailbox = record.scope.as_deref().and_then(|m| state.user_id(m));
        match record.object.as_str() {
            USER => state.users.contains_key(&record.id),
            CONTACT => mailbox
                .and_then(|m| state.contacts.get(&m).map(|c| c.contains_key(&record.id)))
                .unwrap_or(false),
            MESSAGE => mailbox.is_some_and(|m| state.message(&m, &record.id).is_some()),
            _ => false,
        }
    }

    fn state_digest(&self) -> String {
        serde_json::to_string(&self.state()).expect("state serialises")
    }

    fn set_page_size(&self, size: Option<usize>) {
        FakeGraph::set_page_size(self, size);
    }

    fn rotate_credentials(&self) -> String {
        self.rotate_secret()
    }
}
