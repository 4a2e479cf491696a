//! The gossip model as `gossip-check explore` serves it in stateright's Explorer.
//!
//! stateright 0.30.2's Explorer shows a state as `format!("{:#?}", state)` and a path as
//! [`stateright::Model::as_svg`]. [`ExplorerGossip`] is the gossip model with a state whose
//! `Debug` is the readable per-node rendering the CLI prints ([`Shown`], the text of
//! [`Inspect::describe`]) instead of a dump of every field and the ghost state, and whose
//! `as_svg` draws the path as a message sequence chart ([`crate::chart`]). The states, actions,
//! properties and fingerprints' inputs are the model's own (a [`Shown`] hashes as the state it
//! holds), so the Explorer explores exactly the model.
//!
//! The Explorer shows a `sometimes` property without an example as a warning ("Example not
//! found"); a property that is not reachable in this configuration (expected `not found`: a
//! feature or fault it needs is off) is therefore served as the `always` property "not
//! reachable in this configuration (expected): NAME" with the negated condition, which the
//! Explorer shows as holding, and as a counterexample if the situation is reached after all.

use crate::chart::{self, ChartOptions};
use crate::check::Inspect;
use crate::report::Expected;
use gossip_model::{GossipAction, GossipModel, GossipState};
use stateright::{Model, Path, Property};
use std::fmt;

/// A gossip state whose `Debug` (what the Explorer prints) is the CLI's per-node rendering.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Shown(pub GossipState);

impl fmt::Debug for Shown {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&gossip_model::format::state(&self.0))
    }
}

/// The prefix of a property served negated by [`ExplorerGossip`] (see the module docs).
pub const NOT_REACHABLE_PREFIX: &str = "not reachable in this configuration (expected): ";

/// The gossip model for the Explorer (see the module documentation).
pub struct ExplorerGossip {
    model: GossipModel,
    conditions: Vec<fn(&GossipModel, &GossipState) -> bool>,
    /// Per property: its name as served, and whether it is served negated.
    served: Vec<(&'static str, bool)>,
}

impl ExplorerGossip {
    /// Wraps `model`. The renamed properties' names are leaked (one short string per property,
    /// once per Explorer).
    pub fn new(model: GossipModel) -> Self {
        let properties = model.properties();
        let conditions = properties.iter().map(|p| p.condition).collect();
        let served = properties
            .iter()
            .map(|p| {
                let unreachable = p.expectation == stateright::Expectation::Sometimes
                    && model.expected(p.name) == gossip_model::Expected::NotFound;
                if unreachable {
                    let name: &'static str =
                        Box::leak(format!("{NOT_REACHABLE_PREFIX}{}", p.name).into_boxed_str());
                    (name, true)
                } else {
                    (p.name, false)
                }
            })
            .collect();
        ExplorerGossip {
            model,
            conditions,
            served,
        }
    }

    /// The gossip model.
    pub fn model(&self) -> &GossipModel {
        &self.model
    }
}

impl Model for ExplorerGossip {
    type State = Shown;
    type Action = GossipAction;

    fn init_states(&self) -> Vec<Shown> {
        self.model.init_states().into_iter().map(Shown).collect()
    }
    fn actions(&self, state: &Shown, actions: &mut Vec<GossipAction>) {
        self.model.actions(&state.0, actions)
    }
    fn next_state(&self, last: &Shown, action: GossipAction) -> Option<Shown> {
        self.model.next_state(&last.0, action).map(Shown)
    }
    fn format_action(&self, action: &GossipAction) -> String {
        self.model.format_action(action)
    }
    fn format_step(&self, last: &Shown, action: GossipAction) -> Option<String> {
        self.model.format_step(&last.0, action)
    }
    fn as_svg(&self, path: Path<Shown, GossipAction>) -> Option<String> {
        Some(svg_of_path(&self.model, path, ""))
    }
    fn properties(&self) -> Vec<Property<Self>> {
        self.model
            .properties()
            .iter()
            .enumerate()
            .map(|(i, p)| {
                let (name, negated) = self.served[i];
                Property {
                    expectation: if negated {
                        stateright::Expectation::Always
                    } else {
                        p.expectation.clone()
                    },
                    name,
                    condition: CONDITIONS[i],
                }
            })
            .collect()
    }
}

/// Draws an Explorer path of [`ExplorerGossip`].
pub fn svg_of_path(model: &GossipModel, path: Path<Shown, GossipAction>, title: &str) -> String {
    let mut steps = Vec::new();
    let mut init = None;
    let mut pending_action = None;
    for (state, action) in path.into_vec() {
        match pending_action.take() {
            None => init = Some(state.0),
            Some(a) => steps.push((a, state.0)),
        }
        pending_action = action;
    }
    let init = init.unwrap_or_else(|| model.init_states().remove(0));
    chart::draw(
        model,
        &init,
        &steps,
        &ChartOptions {
            title: title.to_string(),
            cycle_start: None,
        },
    )
}

/// Property `I` of [`ExplorerGossip`] is the model's property `I` on the state it shows
/// (property conditions are plain `fn` pointers, so the index is a const parameter).
fn condition<const I: usize>(m: &ExplorerGossip, s: &Shown) -> bool {
    (m.conditions[I])(&m.model, &s.0) != m.served[I].1
}

type Condition = fn(&ExplorerGossip, &Shown) -> bool;

macro_rules! conditions {
    ($($i:literal)*) => { [$(condition::<$i> as Condition),*] };
}

/// Enough for the model's properties (checked in a test).
const CONDITIONS: [Condition; 48] = conditions!(
    0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22 23
    24 25 26 27 28 29 30 31 32 33 34 35 36 37 38 39 40 41 42 43 44 45 46 47
);

impl Inspect for ExplorerGossip {
    fn expectation(&self, property: &str) -> Expected {
        match property.strip_prefix(NOT_REACHABLE_PREFIX) {
            Some(_) => Expected::Holds,
            None => self.model.expectation(property),
        }
    }
    fn describe(&self, state: &Shown) -> String {
        self.model.describe(&state.0)
    }
    fn action_json(&self, action: &GossipAction) -> serde_json::Value {
        self.model.action_json(action)
    }
    fn describe_action(&self, from: &Shown, action: &GossipAction) -> String {
        self.model.describe_action(&from.0, action)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_explorer_model_has_room_for_every_property() {
        let model = gossip_model::GossipConfig::default().into_model();
        assert!(model.properties().len() <= CONDITIONS.len());
    }

    #[test]
    fn the_explorer_shows_a_state_as_the_cli_describes_it() {
        let model = gossip_model::GossipConfig::default().into_model();
        let wrapped = ExplorerGossip::new(model.clone());
        let init = wrapped.init_states().remove(0);
        let shown = format!("{init:#?}");
        assert_eq!(shown, model.describe(&init.0));
        assert!(shown.starts_with("n0"), "{shown}");
        assert!(!shown.contains("history"), "no ghost fields: {shown}");
    }

    #[test]
    fn the_explorer_model_has_the_same_properties_and_successors() {
        let model = gossip_model::GossipConfig::default().into_model();
        let wrapped = ExplorerGossip::new(model.clone());
        let names: Vec<_> = model.properties().iter().map(|p| p.name).collect();
        let wrapped_names: Vec<_> = wrapped
            .properties()
            .iter()
            .map(|p| p.name.strip_prefix(NOT_REACHABLE_PREFIX).unwrap_or(p.name))
            .collect();
        assert_eq!(names, wrapped_names);
        let s = model.init_states().remove(0);
        let (mut a, mut b) = (Vec::new(), Vec::new());
        model.actions(&s, &mut a);
        wrapped.actions(&Shown(s.clone()), &mut b);
        assert_eq!(a, b);
        for p in wrapped.properties() {
            let inner = model
                .properties()
                .into_iter()
                .find(|q| p.name.strip_prefix(NOT_REACHABLE_PREFIX).unwrap_or(p.name) == q.name)
                .unwrap();
            // A property served as expected-unreachable is served negated.
            let negated = p.name.starts_with(NOT_REACHABLE_PREFIX);
            assert_eq!(
                (p.condition)(&wrapped, &Shown(s.clone())),
                (inner.condition)(&model, &s) != negated
            );
        }
    }

    #[test]
    fn the_explorer_serves_an_unreachable_property_as_an_always_property_that_holds() {
        // Two nodes without forget: "a node is forgotten" cannot be reached.
        let cfg = gossip_model::GossipConfig {
            nodes: 2,
            ..gossip_model::GossipConfig::default()
        };
        let model = cfg.clone().into_model();
        let explorer = ExplorerGossip::new(model.clone());
        let served = explorer.properties();
        let forgotten = format!(
            "{NOT_REACHABLE_PREFIX}{}",
            gossip_model::properties::names::R_FORGOTTEN
        );
        let p = served
            .iter()
            .find(|p| p.name == forgotten)
            .expect("served renamed");
        assert_eq!(p.expectation, stateright::Expectation::Always);
        let init = &explorer.init_states()[0];
        assert!(
            (p.condition)(&explorer, init),
            "holds: nothing is forgotten"
        );
        // A reachable sometimes property keeps its name and kind.
        let joined = gossip_model::properties::names::R_JOINED;
        let p = served.iter().find(|p| p.name == joined).expect("kept");
        assert_eq!(p.expectation, stateright::Expectation::Sometimes);
    }
}
