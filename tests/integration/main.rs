//! Integration tests against a real PostgreSQL (see support.rs for how one is found).

mod adopt;
mod apply;
mod approvals;
mod backup;
mod bad_input;
mod bypass;
mod cli;
mod concurrency;
mod corpus;
mod crash;
mod demo;
mod faults;
mod guarded;
mod layouts;
mod lint;
mod live;
mod monitor;
mod pipeline;
mod properties;
mod recover;
mod rollback;
mod security;
mod status;
mod support;
mod tls;
mod wizard;
