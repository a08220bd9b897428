//! The SDK's connector test kit, run against the Exact Online fake.

mod common;

use common::ExactHarness;

dsrhub_connector::connector_test_kit!(ExactHarness);
