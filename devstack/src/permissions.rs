//! `infra/permissions.yaml`, compiled in: what each function's code calls on AWS and why. The
//! least-privilege test holds the template, docs/deploy.md and the calls the tests observe to it.

use serde::Deserialize;
use std::collections::{BTreeMap, BTreeSet};

use crate::template::TemplateError;

pub const PERMISSIONS_YAML: &str = include_str!("../../infra/permissions.yaml");

/// One needed permission: `dynamodb:PutItem on table`, `kms:Encrypt on key for pkce-verifier`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Grant {
    pub grant: String,
    pub why: String,
}

impl Grant {
    /// The IAM action (`dynamodb:PutItem`).
    pub fn action(&self) -> &str {
        self.grant
            .split_once(" on ")
            .map_or(&self.grant, |(a, _)| a)
    }
}

/// Function (binary) name → what it needs, in file order.
#[derive(Debug, Clone)]
pub struct Permissions(pub BTreeMap<String, Vec<Grant>>);

impl Permissions {
    pub fn ours() -> Result<Self, TemplateError> {
        serde_norway::from_str(PERMISSIONS_YAML)
            .map(Self)
            .map_err(|e| TemplateError::Shape(format!("infra/permissions.yaml: {e}")))
    }

    /// The grants of `function`, as strings; empty for an unknown function.
    pub fn grants(&self, function: &str) -> BTreeSet<String> {
        self.0
            .get(function)
            .map(|grants| grants.iter().map(|g| g.grant.clone()).collect())
            .unwrap_or_default()
    }

    /// The IAM actions `function` may perform, whatever the resource.
    pub fn actions(&self, function: &str) -> BTreeSet<String> {
        self.0
            .get(function)
            .map(|grants| grants.iter().map(|g| g.action().to_owned()).collect())
            .unwrap_or_default()
    }

    /// The table in docs/deploy.md ("Permissions"): one row per grant, functions alphabetically,
    /// grants as listed.
    pub fn markdown_table(&self) -> String {
        let mut table = String::from("| Function | May call | Why |\n|---|---|---|\n");
        for (function, grants) in &self.0 {
            for g in grants {
                table.push_str(&format!(
                    "| `{function}` | `{}` | {} |\n",
                    g.grant.replace('|', "\\|"),
                    g.why.replace('|', "\\|")
                ));
            }
        }
        table
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_function_has_grants_with_reasons() {
        let permissions = Permissions::ours().expect("permissions");
        let deployed = crate::template::Template::ours()
            .and_then(|t| t.functions())
            .expect("template functions");
        assert_eq!(
            permissions.0.len(),
            deployed.len(),
            "one entry per function"
        );
        for (function, grants) in &permissions.0 {
            // The console serves a static page: it calls nothing, so it is listed with no grant.
            assert_eq!(grants.is_empty(), function == "console", "{function}");
            for g in grants {
                assert!(g.grant.contains(" on "), "{function}: {}", g.grant);
                assert!(
                    !g.why.trim().is_empty(),
                    "{function}: {} has no reason",
                    g.grant
                );
            }
        }
        assert!(
            permissions
                .actions("authorize")
                .contains("dynamodb:PutItem")
        );
    }
}
