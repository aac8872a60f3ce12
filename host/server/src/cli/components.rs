//! `weft deploy` and `weft components`: the components API from the
//! command line, over HTTP like the other management commands.

use super::remote::{Remote, enc, print};
use clap::{Args, Subcommand};
use serde_json::{Value, json};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Args)]
pub struct DeployArgs {
    /// Component files (.wasm) to deploy, in order.
    #[arg(required = true)]
    files: Vec<PathBuf>,
    /// Deploy nothing: replay every running instance each file would serve
    /// against it and report; exit 2 when any instance would diverge.
    #[arg(long, conflicts_with = "migrate")]
    check: bool,
    /// Deploy, and move the running instances proven compatible onto it.
    #[arg(long)]
    migrate: bool,
    #[command(flatten)]
    remote: Remote,
}

/// Deploys each file; prints one result per file (`created` false when the
/// same bytes were deployed before; with `--check` or `--migrate`, the
/// report). Stops at the first refusal.
pub fn deploy(a: DeployArgs) -> anyhow::Result<ExitCode> {
    let query: Vec<(&str, String)> = if a.check {
        vec![("check", "true".into())]
    } else if a.migrate {
        vec![("migrate", "compatible".into())]
    } else {
        Vec::new()
    };
    let mut results = Vec::new();
    let mut diverging = 0;
    for file in &a.files {
        let bytes = std::fs::read(file)
            .map_err(|e| anyhow::anyhow!("cannot read component file {}: {e}", file.display()))?;
        let req = a
            .remote
            .post_bytes("components", &query, "application/wasm", bytes);
        let (status, mut body, _) = a
            .remote
            .call(req)
            .map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
        diverging += body["diverges"].as_u64().unwrap_or(0);
        if let Some(o) = body.as_object_mut() {
            o.insert("file".into(), json!(file.display().to_string()));
            if !(a.check || a.migrate) {
                o.insert("created".into(), json!(status.as_u16() == 201));
            }
        }
        results.push(body);
    }
    print(&Value::Array(results));
    if a.check && diverging > 0 {
        eprintln!(
            "{diverging} running instance(s) would diverge on the new code; see \"diverges\" above"
        );
        return Ok(ExitCode::from(2));
    }
    Ok(ExitCode::SUCCESS)
}

#[derive(Args)]
pub struct ComponentsArgs {
    #[command(subcommand)]
    action: Option<ComponentsAction>,
    #[command(flatten)]
    remote: Remote,
}

#[derive(Subcommand)]
enum ComponentsAction {
    /// Show one stored component.
    Show {
        /// Its digest (sha256:…).
        digest: String,
        #[command(flatten)]
        remote: Remote,
    },
    /// Remove a stored component that no unfinished instance needs.
    Remove {
        /// Its digest (sha256:…).
        digest: String,
        #[command(flatten)]
        remote: Remote,
    },
}

/// Lists stored components, or shows or removes one.
pub fn components(a: ComponentsArgs) -> anyhow::Result<ExitCode> {
    let (_, body, _) = match &a.action {
        None => a.remote.call(a.remote.get("components", &[]))?,
        Some(ComponentsAction::Show { digest, remote: r }) => {
            r.call(r.get(&format!("components/{}", enc(digest)), &[]))?
        }
        Some(ComponentsAction::Remove { digest, remote: r }) => {
            r.call(r.delete(&format!("components/{}", enc(digest)), &[]))?
        }
    };
    print(&body);
    Ok(ExitCode::SUCCESS)
}
