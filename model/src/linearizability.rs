//! Placeholder: being written.

/// Parameters of the linearizability model.
#[derive(Clone, Debug, Default)]
pub struct LinearizabilityConfig {}
