//! The SDK's connector test kit, run against the Autotask fake.

mod common;

use common::AutotaskHarness;

dsrhub_connector::connector_test_kit!(AutotaskHarness);
