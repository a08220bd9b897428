//! [`FakeControl`] for the SDK's connector test kit.

use dsrhub_connector::fakekit::{CallLog, Faults};
use dsrhub_connector::testkit::FakeControl;
use dsrhub_connector::RecordRef;

use super::FakeAutotask;
use crate::mapping::{CONTACT, TICKET};

impl FakeControl for FakeAutotask {
    fn faults(&self) -> &Faults {
        FakeAutotask::faults(self)
    }

    fn call_log(&self) -> &CallLog {
        self.log()
    }

    fn contains(&self, record: &RecordRef) -> bool {
        let state = self.state();
        let Ok(id) = record.id.parse::<u64>() else {
            return false;
        };
        match record.object.as_str() {
            CONTACT => state.contacts.contains_key(&id),
            TICKET => state.tickets.contains_key(&id),
            _ => false,
        }
    }

    fn state_digest(&self) -> String {
        serde_json::to_string(&self.state()).expect("state serialises")
    }

    fn set_page_size(&self, size: Option<usize>) {
        FakeAutotask::set_page_size(self, size);
    }

    fn rotate_credentials(&self) -> String {
        self.rotate_secret()
    }
}
