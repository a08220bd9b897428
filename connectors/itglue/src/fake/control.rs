//! [`FakeControl`] for the SDK's connector test kit.

use dsrhub_connector::fakekit::{CallLog, Faults};
use dsrhub_connector::testkit::FakeControl;
use dsrhub_connector::RecordRef;

use super::FakeItGlue;

impl FakeControl for FakeItGlue {
    fn faults(&self) -> &Faults {
        FakeItGlue::faults(self)
    }

    fn call_log(&self) -> &CallLog {
        self.log()
    }

    fn contains(&self, record: &RecordRef) -> bool {
        record.object == crate::mapping::CONTACT
            && record
                .id
                .parse::<u64>()
                .is_ok_and(|id| self.state().contacts.contains_key(&id))
    }

    fn state_digest(&self) -> String {
        serde_json::to_string(&self.state()).expect("state serialises")
    }

    fn set_page_size(&self, size: Option<usize>) {
        FakeItGlue::set_page_size(self, size);
    }

    fn rotate_credentials(&self) -> String {
        self.rotate_key()
    }
}
