//! The wizards driven by keys and run messages, and a snapshot of every step through the
//! whole console view.

mod overlays;
mod wizard_apply;
mod wizard_emergency;
