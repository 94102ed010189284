//! A streaming standby of a throwaway cluster (pg_basebackup -R), for tests of what sluice
//! does while a replica lags: `recovery_min_apply_delay` holds its replay back by a fixed
//! time, so pg_stat_replication's replay_lag shows that much while the primary writes.

use std::path::PathBuf;

use super::cluster::{
    chown_to_postgres, free_port, is_root, pg_command, run, set_mode, spawn_watchdog, Cluster,
};
use crate::core::error::{Error, Result};

impl Cluster {
    /// A standby streaming from this cluster, its replay delayed by `apply_delay` ("2s").
    pub fn standby(&self, apply_delay: Option<&str>) -> Result<Cluster> {
        let as_postgres = is_root();
        let dir = PathBuf::from(format!("{}-standby", self.dir.display()));
        std::fs::create_dir(&dir)
            .map_err(|e| Error::database(format!("{}: {e}", dir.display())))?;
        set_mode(&dir, 0o700)?;
        if as_postgres {
            chown_to_postgres(&dir)?;
        }
        let (watchdog, pipe) = spawn_watchdog(&self.bin, &dir, as_postgres)?;
        let mut standby = Cluster {
            dir: dir.clone(),
            port: 0,
            bin: self.bin.clone(),
            watchdog_pipe: Some(pipe),
            watchdog: Some(watchdog),
        };
        let data = dir.join("data");
        run(
            pg_command(&self.bin.join("pg_basebackup"), as_postgres, &dir)
                .arg("-D")
                .arg(&data)
                .args(["-R", "-X", "stream", "-c", "fast", "-h"])
                .arg(&self.dir)
                .args(["-p", &self.port.to_string(), "-U", "postgres"]),
            "pg_basebackup",
        )?;
        // The walreceiver's application_name is the cluster's name: pg_stat_replication
        // on the primary shows "replica".
        let conf = data.join("postgresql.auto.conf");
        let mut text = std::fs::read_to_string(&conf).unwrap_or_default();
        text.push_str("cluster_name = 'replica'\n");
        if let Some(delay) = apply_delay {
            text.push_str(&format!("recovery_min_apply_delay = '{delay}'\n"));
        }
        std::fs::write(&conf, text)
            .map_err(|e| Error::database(format!("{}: {e}", conf.display())))?;
        let port = free_port()?;
        let opts = format!(
            "-c port={port} -c listen_addresses='' -c unix_socket_directories='{}' -c hot_standby=on -c max_connections=200",
            dir.display()
        );
        run(
            pg_command(&self.bin.join("pg_ctl"), as_postgres, &dir)
                .arg("-D")
                .arg(&data)
                .arg("-l")
                .arg(dir.join("server.log"))
                .args(["-w", "-t", "30", "-o", &opts, "start"]),
            "pg_ctl start (standby)",
        )
        .map_err(|e| {
            let log = std::fs::read_to_string(dir.join("server.log")).unwrap_or_default();
            let tail: Vec<&str> = log.lines().rev().take(8).collect();
            e.context(format_args!("server log: {}", tail.join(" | ")))
        })?;
        standby.port = port;
        Ok(standby)
    }
}
