//! Fairness-aware explicit-state checking (placeholder; being written).
