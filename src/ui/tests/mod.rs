//! The wizards driven by keys and run messages, a snapshot of every step through the whole
//! console view, and the overlay stack deciding keys, body and footer together.

#[path = "fleet_tests.rs"]
mod fleet;
#[path = "overlays_tests.rs"]
mod overlays;
#[path = "wizard_apply_tests.rs"]
mod wizard_apply;
#[path = "wizard_emergency_tests.rs"]
mod wizard_emergency;
#[path = "wizard_queue_tests.rs"]
mod wizard_queue;
