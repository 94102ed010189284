//! `sluice demo`: a throwaway cluster, the example project applied in part, then wait.

use std::fmt::Write as _;

use super::{ConsoleRequest, Opening, Outcome};
use crate::core::data::config::Project;
use crate::core::db::cluster::Cluster;
use crate::core::error::{Error, Result};
use crate::core::exec::{self, ApplyOptions};

include!(concat!(env!("OUT_DIR"), "/examples.rs"));

/// Environments of the demo and how far each is migrated.
const DEMO_ENVS: &[(&str, &str, &str)] = &[
    ("dev", "development", "0010"),
    ("staging", "testing", "0008"),
    ("prod", "production", "0006"),
];

pub async fn run(no_wait: bool, interactive: bool) -> Result<Outcome> {
    eprintln!("starting a throwaway PostgreSQL cluster…");
    let cluster = tokio::task::spawn_blocking(Cluster::start)
        .await
        .map_err(|e| Error::database(format!("cluster start: {e}")))??;
    let result = set_up(&cluster).await;
    let project = match result {
        Ok(p) => p,
        Err(e) => {
            cluster.stop();
            return Err(e);
        }
    };
    let root = project.root.display().to_string();
    let exe = std::env::current_exe()
        .map(|p| p.display().to_string())
        .unwrap_or_else(|_| "sluice".into());
    println!();
    println!("The demo project is at {root}; from another terminal try:");
    println!("  {exe} --project {root} status --env dev");
    println!("  {exe} --project {root} apply --env dev");
    println!("  {exe} --project {root} rollback --env dev --steps 1");
    println!("  {exe} --project {root} apply --env prod --confirm prod");
    println!("Connect with psql:");
    for (name, _, _) in DEMO_ENVS {
        println!(
            "  psql -h {} -p {} -U postgres -d shop_{name}",
            cluster.socket_dir().display(),
            cluster.port
        );
    }
    if no_wait {
        cluster.stop();
        return Ok(Outcome::Exit(0));
    }
    if interactive {
        // The console on the demo; the cluster goes when it closes.
        let (opening, cluster) = (Opening::Migrations, Some(cluster));
        return Ok(Outcome::Console(Box::new(ConsoleRequest {
            project,
            env: None,
            opening,
            cluster,
        })));
    }
    println!();
    println!("Press Ctrl-C to stop the cluster and remove it.");
    let _ = tokio::signal::ctrl_c().await;
    stop(cluster).await;
    Ok(Outcome::Exit(0))
}

/// Stops and removes the demo's cluster.
pub async fn stop(cluster: Cluster) {
    eprintln!("stopping the cluster…");
    tokio::task::spawn_blocking(move || cluster.stop()).await.ok();
}

async fn set_up(cluster: &Cluster) -> Result<Project> {
    let root = cluster.dir.join("project");
    let migrations = root.join("migrations");
    std::fs::create_dir_all(&migrations)
        .map_err(|e| Error::database(format!("{}: {e}", migrations.display())))?;
    for (name, text) in EXAMPLE_MIGRATIONS {
        std::fs::write(migrations.join(name), text)
            .map_err(|e| Error::database(format!("{name}: {e}")))?;
    }
    let mut toml = String::from("[project]\nname = \"shop-api\"\nlock_timeout = \"3s\"\n");
    for (name, tier, _) in DEMO_ENVS {
        cluster.psql("postgres", &format!("CREATE DATABASE shop_{name}"))?;
        let _ = write!(
            toml,
            "\n[environments.{name}]\ntier = \"{tier}\"\nurl = \"{}\"\nbackup = {{ dir = \"{}\", keep_count = 5 }}\n",
            cluster.url(&format!("shop_{name}")),
            cluster.dir.join("backups").join(name).display()
        );
    }
    std::fs::write(root.join("sluice.toml"), toml)
        .map_err(|e| Error::database(format!("sluice.toml: {e}")))?;
    let project = Project::load(Some(&root))?;
    for (name, _, to) in DEMO_ENVS {
        let env = project.environment(Some(name))?;
        let opts = ApplyOptions {
            to: Some(to.to_string()),
            confirm: Some(name.to_string()),
            ..Default::default()
        };
        let report = exec::apply(&project, env, &opts, exec::Control::default()).await?;
        if let Some(e) = report.error {
            return Err(Error::database(e.message));
        }
        println!("{name}: applied up to {to}");
    }
    let env = project.environment(Some("dev"))?;
    let status = crate::core::query::status(&project, env).await?;
    super::output::print_status(crate::args::Format::Text, &project, env, &status);
    Ok(project)
}
