//! Errors of the simulator library.

use thiserror::Error;

/// Why a simulation could not run or finish.
#[derive(Debug, Error)]
pub enum SimError {
    /// The scenario is unusable.
    #[error("invalid scenario: {0}")]
    Invalid(String),
    /// Membership did not converge within the scenario's limit.
    #[error("membership did not converge within {0} s")]
    NoConvergence(f64),
    /// The scenario file could not be parsed.
    #[error("scenario JSON: {0}")]
    Json(#[from] serde_json::Error),
}
